#!/usr/bin/env bash
# Reproduces the committed study: the three default ldnn recipes, one after another, single-threaded
# (small networks on a shared 2-core CPU run far faster with one thread than with two).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
for r in mnist1d vanderpol henonheiles; do
  .venv/bin/coterie run "configs/ldnn-$r.yaml" --out "docs/results/learned-diversity/ldnn-$r"
done
