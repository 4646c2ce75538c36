#!/usr/bin/env bash
# GPU check, for a machine with CUDA: the CUDA-marked tests (model on the GPU, bf16 inference,
# fp16 AMP training step, two-process NCCL when two GPUs exist) and the paper model's inference
# speed and peak memory at 1024x1024 and 800x1333 (random weights, fp32 and bf16).
#   bash tools/gpu_check.sh [CONFIG]        (default: the ConvNeXt-L COCO eval config)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/omg_seg/omg_convl_coco_panoptic_eval.py}
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

python -m pytest -q -m cuda tests/gpu
for size in "1024 1024" "800 1333"; do
    for amp in none bf16; do
        echo "== inference ${size/ /x}, amp ${amp}"
        python tools/benchmark.py "$CONFIG" --device cuda --what inference --size $size \
            --runs 5 --warmup 2 --amp "$amp" \
            --cfg-options model.backbone.pretrained=None model.text_embeddings.generate_if_missing=True
    done
done
