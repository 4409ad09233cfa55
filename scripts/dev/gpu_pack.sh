#!/usr/bin/env bash
# What the GPU machine lacks, made here (it reaches no package registry): .whl/ holds Python 3.12
# manylinux wheels of the packages its image does not have (hydra-core, omegaconf and antlr4's runtime,
# built from its sdist, which PyPI serves as no wheel; kornia and kornia_rs; Hydra's joblib launcher), .gpudata/ the CIFAR-10
# JPEG folder as one archive. Both are git-ignored; the device tool's 64 MiB for the tree, the wheels
# and the data together is checked.
#
#   bash scripts/dev/gpu_pack.sh [data/cifar10-jpeg]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-data/cifar10-jpeg}
rm -rf .whl && mkdir -p .whl .gpudata
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl "hydra-core==1.3.2" "omegaconf==2.3.0" "kornia==$(python3 -c 'import kornia; print(kornia.__version__)')" kornia_rs \
  hydra-joblib-launcher
python3 -m pip wheel -q --no-deps --no-binary=:all: -w .whl "antlr4-python3-runtime==4.9.3"  # no wheel on PyPI
if [ -d "$data" ]; then
  tar czf .gpudata/cifar10-jpeg.tar.gz -C "$data" .
fi
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
carried=$(du -cb .whl .gpudata | tail -n 1 | cut -f1)
total=$(( tree + carried ))
ls -l .whl .gpudata
echo "tree $(( tree / 1048576 )) MiB + .whl and .gpudata $(( carried / 1048576 )) MiB = $(( total / 1048576 )) MiB of 64"
[ "$total" -le $(( 64 * 1048576 )) ] || { echo "over the device tool's 64 MiB: carry less" >&2; exit 1; }
