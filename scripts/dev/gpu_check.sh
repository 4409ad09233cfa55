#!/usr/bin/env bash
# The GPU checks in ONE device call of at most 8 minutes (scripts/dev/gpu_pack.sh prepares .whl/ and
# .gpudata/ first; docs/gpu.md says what each step shows):
#
#   bash scripts/dev/gpu_check.sh                 # on the GPU machine: setup, tests, bench, table
#   DRY=1 bash scripts/dev/gpu_check.sh           # on a CPU, tiny sizes: the script cannot rot (tests/dev)
#
# Each step runs under its own time cap and ends with one line in $OUT/summary.txt; the script
# exits non-zero when a step fails. At most 7 files come back in $OUT: summary.txt, machine.txt,
# pytest.txt, bench.txt, table.txt (make_table's table), table_log.txt, metrics.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-outputs/gpu}
DRY=${DRY:-0}
PY=${PY:-python3}
SWEEP=${SWEEP:-outputs/multirun/table_gpu}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
: > "$OUT/summary.txt"
failed=0

step() {  # step NAME CAP_SECONDS COMMAND...: run it under its cap, one summary line
  local name=$1 cap=$2 start rc
  shift 2
  start=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$cap" bash -c "$*"
  rc=$?
  local took=$(( $(date +%s) - start )) verdict=ok
  [ $rc -eq 124 ] && verdict="stopped at its cap of ${cap} s"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && verdict="failed (exit $rc)"
  [ $rc -ne 0 ] && failed=1
  echo "$name: $verdict in $took s$(summary_of "$name")" | tee -a "$OUT/summary.txt"
}

summary_of() {  # what a step's output says in a few words
  case $1 in
    tests) tail -n 1 "$OUT/pytest.txt" 2>/dev/null | sed 's/^=* */; /; s/ *=*$//' ;;
    table) echo "; $(find "$SWEEP" -name metrics.json 2>/dev/null | wc -l) of $RUNS runs finished" ;;
    *) ;;
  esac
}

setup() {
  if [ "$DRY" = 0 ] && compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      || return 1
  fi
  if [ "$DRY" = 0 ] && [ ! -d data/cifar10-jpeg ] && [ -f .gpudata/cifar10-jpeg.tar.gz ]; then
    mkdir -p data/cifar10-jpeg && tar xzf .gpudata/cifar10-jpeg.tar.gz -C data/cifar10-jpeg || return 1
  fi
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU (dry run)"
    $PY -c "import torch, lightning, hydra, kornia; print('torch', torch.__version__, 'lightning', lightning.__version__, \
'hydra', hydra.__version__, 'kornia', kornia.__version__)"; } > "$OUT/machine.txt" 2>&1
}

tests() {  # the gpu tests and the tests of the device path (not the whole suite), in one process (no xdist there)
  $PY -m pytest -q -rs -p no:cacheprovider -o addopts="" -m "gpu or not slow" tests/test_gpu.py tests/test_device_path.py \
    tests/test_speed.py > "$OUT/pytest.txt" 2>&1
}

bench() {  # plain loop against autoenc, eager against CUDA graph, NCHW against channels_last: 2 archs, 1 repeat
  local device=cuda graph=both images=20000
  [ "$DRY" = 1 ] && device=cpu graph=false images=1000
  $PY scripts/dev/bench.py --device "$device" --archs classic 32-48-64_double --epochs 1 --repeats 1 \
    --images "$images" --steps-per-call 16 --cuda-graph "$graph" --layouts true false --skip hand startup \
    > "$OUT/bench.txt" 2>&1
}

table() {  # the study's 72 runs, 4 processes on the GPU (MPS where it starts), to its cap: how far it got is said
  local data=(dataset=images dataset.root=data/cifar10-jpeg) more=(hydra/launcher=joblib hydra.launcher.n_jobs=4)
  [ "$DRY" = 1 ] && data=(dataset=photos) more=(trainer=debug arch=classic,4-6-8 task=reconstruct,y2uv seed=0)
  [ "$DRY" = 0 ] && command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d 2>/dev/null
  $PY train.py -m experiment=table "${data[@]}" "${more[@]}" "hydra.sweep.dir=$SWEEP" \
    trainer.enable_progress_bar=false trainer.enable_model_summary=false > "$OUT/table_log.txt" 2>&1
}

finish_table() {
  $PY scripts/make_table.py "$SWEEP" > "$OUT/table.txt" 2>&1
  tar czf "$OUT/metrics.tar.gz" -C "$(dirname "$SWEEP")" --exclude='*.ckpt' --exclude='tb' "$(basename "$SWEEP")"
}

RUNS=72
CAPS=(30 120 90 180 30)  # 7.5 minutes in all
if [ "$DRY" = 1 ]; then RUNS=4; CAPS=(60 300 300 300 60); fi
export OUT DRY PY SWEEP
export -f setup tests bench table finish_table
step setup "${CAPS[0]}" setup
[ "$DRY" = 0 ] && [ -d /tmp/site ] && export PYTHONPATH="/tmp/site:$PYTHONPATH"
step tests "${CAPS[1]}" tests
step bench "${CAPS[2]}" bench
step table "${CAPS[3]}" table
step make_table "${CAPS[4]}" finish_table
exit $failed
