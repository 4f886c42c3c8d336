#!/usr/bin/env bash
# Retrain the bundled default model (src/phonebound/pretrained/default) from ../shared/data.
# Usage: bash recipes/train_default.sh [WORK_DIR]   (about 45 minutes on a 2-core laptop CPU)
#
# Noisy-student training: a teacher trained on the aligned corpora labels the unaligned hour of
# flemishguy (boundaries + broad phone classes); a student trains on the aligned corpora plus those
# pseudo-labels, with augmentation; the student becomes the next round's teacher.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/default}"
rounds="${ROUNDS:-1}"  # a second round did not help (bench/results/accuracy.md, row 19)
mkdir -p "$work"
cd "$work"
# VoxAngeles: 5 languages for dev (early stopping, threshold), 5 held out for the accuracy table.
[ -f vox/dataset.json ] || phonebound build "$data/voxangeles" vox -j 2
phonebound split vox --by group --dev-keys aeb,bsq,efi,ell,kri --test-keys ajp,bem,dyo,ema,ozm
for corpus in synth_nl synth_en; do
  [ -f "$corpus/dataset.json" ] || phonebound build "$data/$corpus" "$corpus" -j 2
  phonebound split "$corpus" --by file --seed 0
done
aligned=(vox synth_nl synth_en)
phonebound train "${aligned[@]}" round0 --config "$here/recipes/default.toml" --resume
for r in $(seq 1 "$rounds"); do
  teacher="round$((r - 1))"
  [ -f "flemish_round$r/dataset.json" ] || {
    phonebound pseudo-label "$data/flemishguy/audio" -o "flemish_labels_round$r" --model "$teacher"
    phonebound build "flemish_labels_round$r" "flemish_round$r"
  }
  phonebound train "${aligned[@]}" "flemish_round$r" "round$r" --config "$here/recipes/default.toml" --resume
done
phonebound export "round$rounds"
echo "trained: $work/round$rounds — copy model.pt, model.onnx, config.json, metrics.jsonl, dev_metrics.json into src/phonebound/pretrained/default/"
