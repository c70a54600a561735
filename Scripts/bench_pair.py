#!/usr/bin/env python3
"""Paired timing of two t2ialign binaries on one `bench model` workload, for before/after comparisons of a change.

usage: Scripts/bench_pair.py BIN_A BIN_B PAIRS [--min] -- <bench model options>
  e.g. Scripts/bench_pair.py runs/bin/before runs/bin/after 5 --min -- --variant tiny --bench sft --threads 2 --warmup 1 --runs 5

The two binaries alternate (A B, B A, A B, …) so drifting load on a shared machine hits both alike. Each run
prints bench model's JSON line; the figure per run is its median iteration (or, with --min, its fastest, which
other load disturbs least). Printed: every run's figure, their medians, the median over pairs of A/B (above 1:
B is faster) and the median CPU seconds per iteration of each side.
"""
import json
import statistics
import subprocess
import sys


def main():
    if "--" not in sys.argv or len(sys.argv) < 5:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    head, bench_args = sys.argv[1:split], sys.argv[split + 1:]
    use_min = "--min" in head
    head = [h for h in head if h != "--min"]
    if len(head) != 3 or not head[2].isdigit() or int(head[2]) < 1:
        sys.exit("error: give BIN_A BIN_B and a positive number of PAIRS before --\n" + __doc__)
    a, b, pairs = head[0], head[1], int(head[2])
    wall = {a: [], b: []}
    cpu = {a: [], b: []}
    for i in range(pairs):
        for binary in ((a, b) if i % 2 == 0 else (b, a)):
            run = subprocess.run([binary, "bench", "model"] + bench_args, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"error: {binary} bench model {' '.join(bench_args)} failed:\n{run.stderr.strip()}")
            d = json.loads(run.stdout.strip().splitlines()[-1])
            wall[binary].append(d["min_s"] if use_min else d["median_s"])
            cpu[binary].append(d["cpu_median_s"])
    ratios = [x / y for x, y in zip(wall[a], wall[b])]
    print(" ".join(bench_args), "| A", [round(x, 3) for x in wall[a]], "| B", [round(x, 3) for x in wall[b]])
    print(f"  median A {statistics.median(wall[a]):.4f} s, B {statistics.median(wall[b]):.4f} s; "
          f"A/B per-pair median {statistics.median(ratios):.3f}; "
          f"CPU s/iter A {statistics.median(cpu[a]):.3f}, B {statistics.median(cpu[b]):.3f}")


if __name__ == "__main__":
    main()
