#!/usr/bin/env bash
# Rebuild the bundled `accurate` ensemble (src/phonebound/pretrained/accurate) from ../shared/data.
# Usage: bash recipes/train_accurate.sh [WORK_DIR]   (five trainings of about 27 min each on a 2-core CPU)
#
# Its four members are rows 18, 19, 7 and 6 of bench/results/accuracy.md: noisy-student training,
# the recipe of the default bundled until 2026-12-02. A teacher (round 0) trained on the aligned
# corpora labels the unaligned flemishguy hour (boundaries + broad phone classes, without its
# transcripts); the student (round 1) trains on the aligned corpora plus those pseudo-labels and
# becomes the next teacher (round 2). The fourth member is round 0 without augmentation.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/accurate}"
recipe="$here/recipes/default.toml"
mkdir -p "$work"
cd "$work"
source "$here/recipes/datasets.sh"
build_corpora
aligned=(vox synth_nl synth_en)
phonebound train "${aligned[@]}" round0 --config "$recipe" --resume
for r in 1 2; do
  teacher="round$((r - 1))"
  [ -f "flemish_round$r/dataset.json" ] || {
    phonebound pseudo-label "$data/flemishguy/audio" -o "flemish_labels_round$r" --model "$teacher"
    phonebound build "flemish_labels_round$r" "flemish_round$r" -j 2
  }
  phonebound train "${aligned[@]}" "flemish_round$r" "round$r" --config "$recipe" --resume
done
phonebound train "${aligned[@]}" no_augment --config "$recipe" --augment 0 --epochs 20 --patience 5 --resume
# The ensemble's threshold is tuned on the VoxAngeles dev languages; float16 weights halve the file.
phonebound ensemble accurate -m round1 -m round2 -m round0 -m no_augment --dev vox --half
# Within long stretches of speech (continuous), a lower threshold chosen on the continuous selection sets.
build_frozen_hour
python "$here/bench/phrase_tune.py" --model accurate --data "$work" --write
echo "built: $work/accurate — copy model.pt, config.json and dev_metrics.json into src/phonebound/pretrained/accurate/"
