#!/bin/bash
# The GPU checks in one go, on a machine with a CUDA GPU (README "Speed"):
#
#   bash scripts/dev/gpu_check.sh tests bench table      # any of: tests, bench, table
#
#   tests: pytest -m gpu (the CUDA-only tests), then the whole suite with CUDA visible
#   bench: scripts/dev/bench.py --device cuda, with and without speed.cuda_graph, NCHW and channels_last
#   table: the study's table on the CIFAR-10 content, 72 runs (JOBS runs at a time on the one GPU,
#          GRAPH=false/true/auto for speed.cuda_graph), then make_table; a stopped sweep continues
#
# Setup it does first, when needed: wheels in .whl/ (packages the machine lacks) installed into
# /tmp/site; data/cifar10-jpeg extracted from .gpudata/cifar10-jpeg.tar.gz. Logs, the table and
# each run's metrics.json go into $OUT (default outputs/gpu) as results.tar.gz plus *.txt.
set -uo pipefail
OUT=${OUT:-outputs/gpu}
JOBS=${JOBS:-4}
GRAPH=${GRAPH:-false}
SWEEP=${SWEEP:-outputs/multirun/table_gpu}
PY=python3
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"

if compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
if [ ! -d data/cifar10-jpeg ] && [ -f .gpudata/cifar10-jpeg.tar.gz ]; then
  mkdir -p data/cifar10-jpeg && tar xzf .gpudata/cifar10-jpeg.tar.gz -C data/cifar10-jpeg || exit 1
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"; } \
  | tee "$OUT/machine.txt"

for step in "$@"; do
  start=$(date +%s)
  case $step in
    tests)
      $PY -m pytest -m gpu -q -rs -p no:cacheprovider 2>&1 | tee "$OUT/pytest_gpu.txt"
      $PY -m pytest -q -p no:cacheprovider 2>&1 | tail -30 | tee "$OUT/pytest_all.txt" ;;
    bench)
      $PY scripts/dev/bench.py --device cuda --epochs 2 --repeats 3 --cuda-graph both --layouts true false 2>&1 | tee "$OUT/bench.txt" ;;
    table)
      launcher=()
      [ "$JOBS" -gt 1 ] && launcher=(hydra/launcher=joblib "hydra.launcher.n_jobs=$JOBS")
      $PY train.py -m experiment=table dataset=images dataset.root=data/cifar10-jpeg "hydra.sweep.dir=$SWEEP" \
        trainer.enable_progress_bar=false trainer.enable_model_summary=false "speed.cuda_graph=$GRAPH" \
        "${launcher[@]}" > "$OUT/table_log.txt" 2>&1
      echo "sweep exit $? after $(( $(date +%s) - start )) s" | tee -a "$OUT/table_log.txt"
      $PY scripts/make_table.py "$SWEEP" > "$OUT/table.txt" 2>&1
      tar czf "$OUT/results.tar.gz" --exclude='*.ckpt' --exclude='tb' -C "$(dirname "$SWEEP")" "$(basename "$SWEEP")" ;;
    *) echo "unknown step $step: tests, bench or table" >&2; exit 2 ;;
  esac
  echo "$step: $(( $(date +%s) - start )) s" | tee -a "$OUT/steps.txt"
done
