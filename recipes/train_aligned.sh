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
work="${1:-$here/work/aligned}"
recipe="${RECIPE:-$here/recipes/default.toml}"
mkdir -p "$work"
cd "$work"
source "$here/recipes/datasets.sh"
build_corpora
aligned=(vox synth_nl synth_en kokoro)
aligner="${ALIGNER:-round0}"
[ "$aligner" != round0 ] || phonebound train "${aligned[@]}" round0 --config "$recipe" --resume
build_aligned_hour "$aligner"
phonebound train "${aligned[@]}" flemish round1 --config "$recipe" --resume
mkdir -p tune && ln -sfn "$work/vox" tune/voxangeles && ln -sfn "$work/kokoro" tune/kokoro
python "$here/bench/align_tune.py" --model round1 --work tune --rounds 2 --write
# Isolated words keep the dev threshold; long stretches of speech get their own, chosen on the
# continuous selection sets (kokoro dev voices, the hour's dev fifth), vox dev no worse.
python "$here/bench/phrase_tune.py" --model round1 --data "$work" --write
phonebound export round1
echo "trained: $work/round1 (compare it with the bundled default: bench/compare.py, bench/cv.py)"
