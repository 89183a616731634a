#!/usr/bin/env bash
# v1 (superseded; see README.md): runs the three default ldnn recipes, one after another, single-threaded
# into $OUT (default /tmp/ldnn-v1), never over the committed results
# (small networks on a shared 2-core CPU run far faster with one thread than with two).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export OMP_NUM_THREADS=1
for r in mnist1d vanderpol henonheiles; do
  .venv/bin/coterie run "configs/ldnn-$r.yaml" --out "${OUT:-/tmp/ldnn-v1}/ldnn-$r"  # not over the committed v1 results
done
