#!/usr/bin/env bash
# Retrain the bundled default model (src/phonebound/pretrained/default) from ../shared/data.
# Usage: bash recipes/train_default.sh [WORK_DIR]   (about 60 minutes on a 2-core laptop CPU)
#
# Noisy-student training (bench/results/accuracy.md, row 18): a teacher (round 0) trained on the
# aligned corpora labels the unaligned hour of flemishguy (boundaries + broad phone classes); the
# student (round 1) trains on the aligned corpora plus those pseudo-labels, with augmentation.
# ROUNDS=2 makes the student the next teacher (row 19: no better; recipes/train_accurate.sh uses it).
# Then the threshold for long stretches of speech is chosen on the continuous selection sets
# (bench/phrase_tune.py) and the model is exported to ONNX.
# The forced-aligner recipe (the hour aligned to its transcripts; rows 41-44) is recipes/train_aligned.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/default}"
rounds="${ROUNDS:-1}"
recipe="$here/recipes/default.toml"
mkdir -p "$work"
cd "$work"
source "$here/recipes/datasets.sh"
build_corpora  # kokoro is built for the phrase threshold's selection only
aligned=(vox synth_nl synth_en)
phonebound train "${aligned[@]}" round0 --config "$recipe" --resume
for r in $(seq 1 "$rounds"); do
  teacher="round$((r - 1))"
  [ -f "flemish_round$r/dataset.json" ] || {
    phonebound pseudo-label "$data/flemishguy/audio" -o "flemish_labels_round$r" --model "$teacher"
    phonebound build "flemish_labels_round$r" "flemish_round$r" -j 2
  }
  phonebound train "${aligned[@]}" "flemish_round$r" "round$r" --config "$recipe" --resume
done
# Selection sets for the phrase threshold, never trained on: kokoro's 5 dev voices (the TTS's own
# times), and the hour's dev fifth aligned to its transcripts by the bundled default (as when the
# shipped threshold was chosen).
build_aligned_hour default
python "$here/bench/phrase_tune.py" --model "round$rounds" --data "$work" --write
phonebound export "round$rounds"
echo "trained: $work/round$rounds — copy model.pt, model.onnx, model.onnx.sha256, config.json, metrics.jsonl, dev_metrics.json into src/phonebound/pretrained/default/"
