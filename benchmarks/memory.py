"""Issue 8 (f): peak memory of a co-learning step for N = 20 MLP members, coterie vs the per-member loop.

Each candidate runs in a fresh process: build the members, optimiser and data, then reset the peak resident set
(``/proc/self/clear_refs``) and run 5 steps; the figure is the peak RSS over those steps minus the RSS before them
(on CUDA: ``torch.cuda.max_memory_allocated``). Target: coterie < 2× the loop.

Run: ``python benchmarks/memory.py [--threads 1]``
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _bench import setup

N, BATCH = 20, 512

CHILD = """
import sys, gc, torch
sys.path.insert(0, {here!r})
from _bench import MLP_KW, colearning_case
torch.set_num_threads({threads})
torch.manual_seed(0)
x, y = torch.randn({batch}, 40), torch.randint(0, 10, ({batch},))
loop, coterie, _ = colearning_case("mlp", {n}, x, y, **MLP_KW)
step = loop if {which!r} == "loop" else coterie
gc.collect()
def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
before = rss_kb("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
for _ in range(5):
    step()
print((rss_kb("VmHWM:") - before) / 1024)
"""


def measure(which: str) -> float:
    code = CHILD.format(here=str(Path(__file__).parent), threads=torch.get_num_threads(), batch=BATCH, n=N, which=which)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    setup(__doc__.splitlines()[0])
    if not Path("/proc/self/clear_refs").exists():
        print("(f) SKIPPED: needs Linux /proc to read the peak resident set")
        return
    runs = {"loop": [], "coterie": []}
    for _ in range(3):  # alternate, keep the median of three fresh processes each
        for k in runs:
            runs[k].append(measure(k))
    med = {k: sorted(v)[1] for k, v in runs.items()}
    print(f"peak memory of 5 co-learning steps, {N} × MLP 40-100-100-10, batch {BATCH} (MiB above the pre-step RSS)")
    print(f"{'case':<44}{'loop MiB':>10}{'coterie MiB':>13}{'coterie/loop':>14}  target")
    ratio = med["coterie"] / med["loop"]
    print(f"{'(f) 20 × MLP step':<44}{med['loop']:>10.1f}{med['coterie']:>13.1f}{ratio:>13.2f}×  < 2×")
    print(f"# all runs (MiB): {runs}")


if __name__ == "__main__":
    main()
