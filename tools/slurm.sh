#!/usr/bin/env bash
# Slurm launch:  tools/slurm.sh train|test|gen_cls CONFIG [ARGS...]
# Environment: PARTITION (required), JOB_NAME (omgseg), GPUS (8), GPUS_PER_NODE (8),
# CPUS_PER_TASK (5), MASTER_PORT (29500), QUOTATYPE (passed as --quotatype when set; some
# clusters need it), SRUN_ARGS (extra srun arguments).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: PARTITION=... $0 train|test|gen_cls CONFIG [ARGS...]" >&2
  exit 2
fi
FILE=$1
CONFIG=$2
shift 2
: "${PARTITION:?set PARTITION to the slurm partition}"
JOB_NAME=${JOB_NAME:-omgseg}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
export MASTER_PORT=${MASTER_PORT:-29500}
SRUN_ARGS=${SRUN_ARGS:-""}
QUOTA_ARGS=()
[[ -n "${QUOTATYPE:-}" ]] && QUOTA_ARGS=(--quotatype="$QUOTATYPE")
HERE=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
if command -v nvcc >/dev/null 2>&1; then
  export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}
fi

# shellcheck disable=SC2086
exec srun -p "$PARTITION" --job-name="$JOB_NAME" "${QUOTA_ARGS[@]}" \
  --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
  python -u "$HERE/$FILE.py" "$CONFIG" --launcher slurm "$@"
