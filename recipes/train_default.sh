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
# VoxAngeles: 5 languages for dev (early stopping, threshold), 5 held out for the accuracy table.
[ -f vox/dataset.json ] || phonebound build "$data/voxangeles" vox -j 2
phonebound split vox --by group --dev-keys aeb,bsq,efi,ell,kri --test-keys ajp,bem,dyo,ema,ozm
for corpus in synth_nl synth_en; do
  [ -f "$corpus/dataset.json" ] || phonebound build "$data/$corpus" "$corpus" -j 2
  phonebound split "$corpus" --by file --seed 0
done
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
[ -f kokoro/dataset.json ] || phonebound build "$data/kokoro" kokoro -j 2 --speaker-regex '^([a-z]+_[a-z]+_[a-z]+)_'
phonebound split kokoro --by speaker --dev-keys en_af_nova,en_am_liam,en_bf_emma,en_bm_george,es_em_alex \
  --test-keys en_af_sky,en_am_onyx,en_bf_lily,en_bm_lewis,it_im_nicola,pt_pm_santa
[ -f flemish/dataset.json ] || {
  phonebound align "$data/flemishguy/audio" -o flemish_aligned --lang nl --transcripts "$data/flemishguy/metadata.csv" \
    --model default -j 2 --link-audio
  phonebound build flemish_aligned flemish -j 2
}
phonebound split flemish --by file --dev 0.2 --test 0 --seed 0
python "$here/bench/phrase_tune.py" --model "round$rounds" --data "$work" --write
phonebound export "round$rounds"
echo "trained: $work/round$rounds — copy model.pt, model.onnx, model.onnx.sha256, config.json, metrics.jsonl, dev_metrics.json into src/phonebound/pretrained/default/"
