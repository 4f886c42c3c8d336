# The datasets the training recipes share, built once and split deterministically in the current
# directory from "$data" (../shared/data). Sourced by train_default.sh and train_aligned.sh.

# VoxAngeles: 5 languages are dev (early stopping, threshold), 5 are held out and never train
# (recipes/accuracy.toml's vox_holdout); synth_nl and synth_en by file; kokoro by voice: 5 dev
# voices, 6 test voices that never train (bench/align_peer.py scores the English ones).
kokoro_dev=en_af_nova,en_am_liam,en_bf_emma,en_bm_george,es_em_alex
kokoro_test=en_af_sky,en_am_onyx,en_bf_lily,en_bm_lewis,it_im_nicola,pt_pm_santa
kokoro_voice='^([a-z]+_[a-z]+_[a-z]+)_'

build_corpora() {
  [ -f vox/dataset.json ] || phonebound build "$data/voxangeles" vox -j 2
  phonebound split vox --by group --dev-keys aeb,bsq,efi,ell,kri --test-keys ajp,bem,dyo,ema,ozm
  for corpus in synth_nl synth_en; do
    [ -f "$corpus/dataset.json" ] || phonebound build "$data/$corpus" "$corpus" -j 2
    phonebound split "$corpus" --by file --seed 0
  done
  [ -f kokoro/dataset.json ] || phonebound build "$data/kokoro" kokoro -j 2 --speaker-regex "$kokoro_voice"
  phonebound split kokoro --by speaker --dev-keys "$kokoro_dev" --test-keys "$kokoro_test"
}

# Fail at once, not after the first training, when a language the recipe aligns has no lexicon
# (gruut's Spanish, French, Italian and Portuguese come with phonebound[langs]).
require_lexicons() {
  python - "$@" <<'PY'
import sys
from phonebound.alignment.g2p import language_dir
from phonebound.errors import PhoneboundError
try:
    for lang in sys.argv[1:]:
        language_dir(lang)
except PhoneboundError as e:
    sys.exit(f"error: {e.reason}; this recipe aligns kokoro's languages: pip install -e '.[langs]'")
PY
}

# kokoro's recordings in language $1 (en, es, fr, it, pt) by its train voices: neither dev nor test.
kokoro_train_files() {
  local f voice
  for f in "$data/kokoro/$1"_*.flac; do
    [ -e "$f" ] || continue
    voice="$(basename "$f" | cut -d_ -f1-3)"
    [[ ",$kokoro_dev,$kokoro_test," == *",$voice,"* ]] || echo "$f"
  done
}

# The flemishguy hour as the frozen aligner labelled it (bench/data/flemish_frozen_phones.tsv.gz), as
# dataset "flemish"; a fifth of it (by file) is dev: the continuous selection set that the CV
# (bench/cv.py) scores too. Its labels come from no model being trained here, so choosing on them
# cannot reward a model for agreeing with itself.
build_frozen_hour() {
  [ -f flemish/dataset.json ] || {
    python "$here/bench/cv.py" thaw --work . --audio "$data/flemishguy/audio"
    phonebound build flemish_frozen_corpus flemish -j 2
  }
  phonebound split flemish --by file --dev 0.2 --test 0 --seed 0
}

# The flemishguy hour aligned to its transcripts by model $1, as dataset "flemish"; a fifth of it
# (by file) is dev. One pass (--no-adapt), as when the shipped models' phrase threshold was chosen
# and their recipes were compared (the two-pass aligner, row 53, came later).
build_aligned_hour() {
  [ -f flemish/dataset.json ] || {
    phonebound align "$data/flemishguy/audio" -o flemish_aligned --lang nl --transcripts "$data/flemishguy/metadata.csv" \
      --model "$1" -j 2 --link-audio --no-adapt
    phonebound build flemish_aligned flemish -j 2
  }
  phonebound split flemish --by file --dev 0.2 --test 0 --seed 0
}
