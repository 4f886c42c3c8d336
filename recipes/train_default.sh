#!/usr/bin/env bash
# Retrain the bundled default model (src/phonebound/pretrained/default) from ../shared/data.
# Usage: bash recipes/train_default.sh [WORK_DIR]   (about 30 minutes on a 2-core laptop CPU)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/default}"
mkdir -p "$work"
cd "$work"
# VoxAngeles: 5 languages for dev (early stopping, threshold), 5 held out for the accuracy table.
[ -f vox/dataset.json ] || phonebound build "$data/voxangeles" vox -j 2
phonebound split vox --by group --dev-keys aeb,bsq,efi,ell,kri --test-keys ajp,bem,dyo,ema,ozm
for corpus in synth_nl synth_en; do
  [ -f "$corpus/dataset.json" ] || phonebound build "$data/$corpus" "$corpus" -j 2
  phonebound split "$corpus" --by file --seed 0
done
phonebound train vox synth_nl synth_en model --config "$here/recipes/default.toml" --resume
phonebound export model
echo "trained: $work/model — copy model.pt, model.onnx, config.json, metrics.jsonl, dev_metrics.json into src/phonebound/pretrained/default/"
