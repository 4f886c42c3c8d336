"""What phonebound knows about phone labels, shared by every stage and importing none of them:
broad phone classes (``classes``), any label as IPA (``ipa``) and phonological features of IPA
segments (``features``)."""
