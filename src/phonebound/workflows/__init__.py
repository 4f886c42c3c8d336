"""Jobs that chain the stages: the bundled demo (``demo``: segment, score, draw) and pseudo-labelling
recordings without alignments into a corpus to train on (``pseudolabel``)."""
