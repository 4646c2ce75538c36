#!/usr/bin/env bash
# Distributed launch on one or more nodes:  tools/dist.sh train|test|gen_cls CONFIG GPUS [ARGS...]
# Environment: NNODES (1), NODE_RANK (0), PORT (28500 + random), MASTER_ADDR (127.0.0.1).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 train|test|gen_cls CONFIG GPUS [ARGS...]" >&2
  exit 2
fi
FILE=$1
CONFIG=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-$((28500 + RANDOM % 2000))}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
HERE=$(cd "$(dirname "$0")" && pwd)

export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

exec torchrun \
  --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$GPUS" \
  --master_addr="$MASTER_ADDR" --master_port="$PORT" \
  "$HERE/$FILE.py" "$CONFIG" --launcher pytorch "$@"
