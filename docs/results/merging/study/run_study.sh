#!/usr/bin/env bash
# Merging study v2 (issue 20): every pre-registered run, one worker, then runs.csv.
#   bash docs/results/merging/study/run_study.sh            (from the repository root)
# Order: the three main configurations for seeds 0-4, then the secondary one (disjoint eighths) for seeds 0-4.
# Run directories go to runs/merge-v2/<config>-s<seed> (git-ignored: weights, checkpoints); their config.yaml,
# results.json and report.md are copied to docs/results/merging/runs/<config>-s<seed>/ and runs.csv is rebuilt
# from those copies with summarise.py --collect after each run. COTERIE / PY may point at another launcher.
set -euo pipefail
export OMP_NUM_THREADS=1
COTERIE=${COTERIE:-.venv/bin/coterie}
PY=${PY:-.venv/bin/python}
HERE=docs/results/merging
SEEDS=(${SEEDS:-0 1 2 3 4})
one() {  # config seed
  local out=runs/merge-v2/$1-s$2
  /usr/bin/time -f "$1-s$2 cpu_user_s=%U cpu_sys_s=%S wall_s=%e maxrss_kb=%M" \
    $COTERIE run $HERE/study/$1.yaml --seed "$2" --out "$out"
  mkdir -p $HERE/runs/$1-s$2
  cp "$out"/config.yaml "$out"/results.json "$out"/report.md $HERE/runs/$1-s$2/
  $PY $HERE/summarise.py --collect $HERE/runs/*/
}
for seed in "${SEEDS[@]}"; do
  for cfg in same disjoint-pair overlapping-hierarchy; do one $cfg "$seed"; done
done
for seed in "${SEEDS[@]}"; do one disjoint-hierarchy "$seed"; done
