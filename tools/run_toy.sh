#!/usr/bin/env bash
# The embedded default job: generate the toy COCO-panoptic dataset (once), train the toy model
# on CPU, then evaluate it (PQ, mask AP, mIoU; also written to work_dirs/toy/metrics.json).
#   bash tools/run_toy.sh [extra tools/train.py arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=configs/toy/omg_toy_coco_panoptic.py
WORK_DIR=${WORK_DIR:-work_dirs/toy}

if [[ ! -f "data/toy_coco/annotations/panoptic_val2017.json" ]]; then
  python tools/make_toy_data.py --out data/toy_coco
fi
python tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
python tools/test.py "$CONFIG" --checkpoint "$CHECKPOINT" --work-dir "$WORK_DIR"
