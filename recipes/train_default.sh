#!/usr/bin/env bash
# Retrain the bundled default model (src/phonebound/pretrained/default) from ../shared/data.
# Usage: bash recipes/train_default.sh [WORK_DIR]   (about 27 min on a 2-core CPU once the datasets are built)
#
# Aligned-student training (bench/results/accuracy.md, rows 62, 70 and 71; recipes/selection.toml's
# honest_aligned_kokoro_vtlp15): a teacher (round 0, recipes/default.toml) trained on the aligned
# corpora (VoxAngeles, synth) aligns real and synthetic continuous speech to its text with
# `phonebound align`: the flemishguy hour to its transcripts (its dev fifth never trains), and
# kokoro's 26 train voices to theirs, one language at a time. The student (round 1,
# recipes/default_vtlp15.toml) trains on the aligned corpora plus those alignments, with
# augmentation that includes vocal tract length perturbation. Then the threshold for long
# stretches of speech is chosen on the continuous selection sets (bench/phrase_tune.py) and the
# model is exported to ONNX.
# The former noisy-student recipe (the hour pseudo-labelled without its transcripts) builds the
# `accurate` ensemble's members: recipes/train_accurate.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${DATA:-$here/../shared/data}"
work="${1:-$here/work/default}"
teacher_recipe="$here/recipes/default.toml"
student_recipe="$here/recipes/default_vtlp15.toml"
mkdir -p "$work"
cd "$work"
source "$here/recipes/datasets.sh"
require_lexicons nl en es fr it pt
build_corpora
aligned=(vox synth_nl synth_en)
phonebound train "${aligned[@]}" round0 --config "$teacher_recipe" --resume
[ -f hour_round0/dataset.json ] || {
  phonebound align "$data/flemishguy/audio" -o hour_labels_round0 --lang nl --transcripts "$data/flemishguy/metadata.csv" \
    --model round0 -j 2 --link-audio
  phonebound build hour_labels_round0 hour_round0 -j 2
}
# the same fifth that build_aligned_hour makes dev (the seeded draw fills test first): it never trains
phonebound split hour_round0 --by file --dev 0 --test 0.2 --seed 0
[ -f kokoro_round0/dataset.json ] || {
  for lang in en es fr it pt; do
    mapfile -t files < <(kokoro_train_files "$lang")
    phonebound align "${files[@]}" -o "kokoro_labels_round0/$lang" --lang "$lang" --model round0 \
      --speaker-regex "$kokoro_voice" -j 2 --link-audio
  done
  phonebound build kokoro_labels_round0 kokoro_round0 -j 2
}
phonebound train "${aligned[@]}" hour_round0 kokoro_round0 round1 --config "$student_recipe" --resume
# Selection sets for the phrase threshold, never trained on: kokoro's 5 dev voices (the TTS's own
# times), and the hour's dev fifth as the frozen aligner labelled it.
build_frozen_hour
python "$here/bench/phrase_tune.py" --model round1 --data "$work" --write
phonebound export round1
echo "trained: $work/round1 — copy model.pt, model.onnx, model.onnx.sha256, config.json, metrics.jsonl, dev_metrics.json into src/phonebound/pretrained/default/"
