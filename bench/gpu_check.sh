#!/usr/bin/env bash
# The CUDA paths, on a lent GPU (CI never has one): the CUDA-only tests; the default's recipe
# trained with --device cuda and, from the same seed, on the CPU (each scored on the same test
# split); DDP through torchrun's entry point (README's multi-GPU command); the tagger's step speed
# on both devices (bench/train_speed.py). The GPU-trained model is packed into OUT, so that a
# CPU-only machine can load it and segment with it.
#
#   bash bench/gpu_check.sh CORPUS OUT [EPOCHS]     # CORPUS: TextGrid corpus, e.g. ../shared/data/synth_nl
set -euo pipefail
corpus=$1
out=$2
epochs=${3:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
python -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(),
      '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"

python -m pytest -q -rs tests/training -k gpu   # the CUDA-only tests (skipped where there is no GPU)

python -m phonebound build "$corpus" "$work/data" -j 4
python -m phonebound split "$work/data" --by file --dev 0.2 --test 0.2 --seed 0
for device in cuda cpu; do
    start=$SECONDS
    python -m phonebound train "$work/data" "$work/model_$device" --config recipes/default_vtlp15.toml \
        --epochs "$epochs" --device "$device"
    echo "trained on $device in $((SECONDS - start)) s"
    python -m phonebound evaluate "$work/model_$device" "$work/data" --tolerance 0.02
done
tar -czf "$out/model_cuda.tgz" -C "$work" model_cuda

start=$SECONDS
python -m torch.distributed.run --standalone --nproc_per_node 1 -m phonebound train "$work/data" "$work/model_ddp" \
    --config recipes/default_vtlp15.toml --epochs 2 --device cuda
echo "trained by torchrun (1 process, cuda) in $((SECONDS - start)) s"
python -m phonebound evaluate "$work/model_ddp" "$work/data" --tolerance 0.02

python bench/train_speed.py --steps 30 --repeats 3
