#!/usr/bin/env bash
# Rebuild the bundled `accurate` ensemble (src/phonebound/pretrained/accurate) from ../shared/data.
# Usage: bash recipes/train_accurate.sh [WORK_DIR]   (four trainings of about 27 min each on a 2-core CPU)
#
# Its four members are rows 18, 19, 7 and 6 of bench/results/accuracy.md: rounds 1, 2 and 0 of
# recipes/train_default.sh (round 1 is the bundled default), and round 0 without augmentation.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$here/work/accurate}"
ROUNDS=2 bash "$here/recipes/train_default.sh" "$work"
cd "$work"
phonebound train vox synth_nl synth_en no_augment --config "$here/recipes/default.toml" \
  --augment 0 --epochs 20 --patience 5 --resume
# The ensemble's threshold is tuned on the VoxAngeles dev languages; float16 weights halve the file.
phonebound ensemble accurate -m round1 -m round2 -m round0 -m no_augment --dev vox --half
# Within long stretches of speech (continuous), a lower threshold chosen on the continuous selection sets.
python "$here/bench/phrase_tune.py" --model accurate --data "$work" --write
echo "built: $work/accurate — copy model.pt, config.json and dev_metrics.json into src/phonebound/pretrained/accurate/"
