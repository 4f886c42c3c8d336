#!/usr/bin/env bash
# A candidate recipe, not the bundled default (that is recipes/train_default.sh): forced-aligner
# training, as in rows 41-44 of bench/results/accuracy.md.
# Usage: bash recipes/train_aligned.sh [WORK_DIR]   (about 90 minutes on a 2-core laptop CPU)
#        ALIGNER=default bash recipes/train_aligned.sh [WORK_DIR]   (skip round 0: the bundled model
#        aligns the hour; about 45 minutes)
#
# Round 0 learns from the aligned corpora (VoxAngeles, synth, kokoro); it aligns the flemishguy
# hour to its transcripts (real continuous speech); round 1 learns from all of them. A fifth of
# the hour (by file) is dev: it never trains. Then the aligner's weights are chosen on the
# selection sets (bench/align_tune.py), then the threshold for long stretches of speech
# (bench/phrase_tune.py), and the model is exported to ONNX.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/default}"
recipe="${RECIPE:-$here/recipes/default.toml}"
mkdir -p "$work"
cd "$work"
# VoxAngeles: 5 languages are dev (early stopping, threshold), 5 are held out and never train
# (recipes/accuracy.toml's vox_holdout, the same as the previous default's: the two compare there).
[ -f vox/dataset.json ] || phonebound build "$data/voxangeles" vox -j 2
phonebound split vox --by group --dev-keys aeb,bsq,efi,ell,kri --test-keys ajp,bem,dyo,ema,ozm
for corpus in synth_nl synth_en; do
  [ -f "$corpus/dataset.json" ] || phonebound build "$data/$corpus" "$corpus" -j 2
  phonebound split "$corpus" --by file --seed 0
done
# kokoro by voice: 5 dev voices; 6 test voices never train (bench/align_peer.py scores the English ones)
[ -f kokoro/dataset.json ] || phonebound build "$data/kokoro" kokoro -j 2 --speaker-regex '^([a-z]+_[a-z]+_[a-z]+)_'
phonebound split kokoro --by speaker --dev-keys en_af_nova,en_am_liam,en_bf_emma,en_bm_george,es_em_alex \
  --test-keys en_af_sky,en_am_onyx,en_bf_lily,en_bm_lewis,it_im_nicola,pt_pm_santa
aligned=(vox synth_nl synth_en kokoro)
aligner="${ALIGNER:-round0}"
[ "$aligner" != round0 ] || phonebound train "${aligned[@]}" round0 --config "$recipe" --resume
[ -f flemish/dataset.json ] || {
  phonebound align "$data/flemishguy/audio" -o flemish_aligned --lang nl --transcripts "$data/flemishguy/metadata.csv" \
    --model "$aligner" -j 2 --link-audio
  phonebound build flemish_aligned flemish -j 2
}
phonebound split flemish --by file --dev 0.2 --test 0 --seed 0
phonebound train "${aligned[@]}" flemish round1 --config "$recipe" --resume
mkdir -p tune && ln -sfn "$work/vox" tune/voxangeles && ln -sfn "$work/kokoro" tune/kokoro
python "$here/bench/align_tune.py" --model round1 --work tune --rounds 2 --write
# Isolated words keep the dev threshold; long stretches of speech get their own, chosen on the
# continuous selection sets (kokoro dev voices, the hour's dev fifth), vox dev no worse.
python "$here/bench/phrase_tune.py" --model round1 --data "$work" --write
phonebound export round1
echo "trained: $work/round1 (compare it with the bundled default: bench/compare.py, bench/cv.py)"
