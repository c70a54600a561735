#!/usr/bin/env python3
"""CPU time of a `t2ialign bench model` run by op family, from `perf script` output (demangled).

usage: perf script -F comm,tid,time,period,ip,sym,dso -i perf.data | swift demangle --simplified \
           | Scripts/perf_by_op.py [--top N]

perf samples on cpu-clock, i.e. CPU time of every thread. Only samples inside the benchmark's iterations are
counted: from the first to the last sample whose stack is in a workload's step() (other threads included, so
Swift worker threads and OpenBLAS threads count too). Each sample goes to the op family of the innermost
frame that names one (a kernel namespace, an autograd op or its backward closure, the optimizer, …), to a
phase (forward / forward without graph / backward / optimizer) and to what the leaf is (OpenBLAS sgemm,
Swift code, memset/memcpy, allocation, the kernel's page faults).
"""
import argparse
import re
import sys
from collections import Counter, defaultdict

# (family, substrings of a demangled frame); the innermost matching frame decides.
FAMILIES = [
    ("AdamW", ["AdamW."]),
    ("clip_grad_norm", ["gradNorm(", "clipGradNorm(", "sumOfSquares(", "scaleInPlace("]),
    ("conv2d", ["ConvolutionKernels.", "conv2d(", "Conv2d."]),
    ("attention", ["AttentionKernels.", "scaledDotProductAttention("]),
    ("softmax", ["SoftmaxKernels.", "softmax("]),
    ("linear / matmul", ["MatrixMultiplyKernels.", "linear(", "matmul("]),
    ("group / layer norm", ["NormalizationKernels.", "groupNorm(", "layerNorm("]),
    ("activations", ["ActivationKernels.", "silu(", "gelu(", "geglu(", "sigmoid("]),
    ("gradient accumulation", ["Tensor.accumulate("]),
    ("elementwise", ["ElementwiseKernels.", " infix(", "neg(", "square("]),
    ("layout (concat/split/permute)", ["LayoutKernels.", "concat(", "split(", "permuted(", "chunk("]),
    ("upsample", ["ResampleKernels.", "upsampleNearest2x("]),
    ("embedding", ["EmbeddingKernels.", "embedding("]),
    ("losses / reductions", ["ReductionKernels.", "mseLossPerSample(", "DiffusionDPOLoss.", "mean(", "sum("]),
    ("RNG", ["RNG."]),
    ("timestep features", ["sinusoidalTimestepFeatures("]),
    ("add_noise", ["addNoise("]),
    ("autograd bookkeeping", ["Tensor.backward(", "Tensor.record("]),
]
# Shared helpers that many families call: the frame above them decides.
PASSTHROUGH = ["MatrixMultiplyKernels.gemm(", "BLAS.sgemm(", "FastMath.", "Threading."]
BACKWARD = re.compile(r"[bB]ackward|Derivative")
STEP = re.compile(r"(SFT|DPO|DDIM|Forward|Text)Workload\.step\(\)")
HEADER = re.compile(r"^\S.*?\s+(\d+)\s+(\d+\.\d+):\s+(\d+)\s")


def leaf_kind(sym, dso):
    if "openblas" in dso:
        return "sgemm" if "sgemm" in sym else "OpenBLAS other"
    if "kernel.kallsyms" in dso:
        return "kernel (page faults…)"
    if re.search(r"mem(set|move|cpy)", sym):
        return "memset/memcpy"
    if re.search(r"malloc|free|swift_(allocObject|release|retain|slowAlloc|dealloc)|_int_", sym):
        return "alloc/refcount"
    if "t2ialign" in dso:
        return "Swift code"
    return "other"


def family(frames):
    for sym, _ in frames:
        if any(p in sym for p in PASSTHROUGH):
            continue
        for name, needles in FAMILIES:
            if any(n in sym for n in needles):
                return name
    # A GEMM split across worker threads (or OpenBLAS's own threads) has lost its caller.
    if any(p in sym for sym, _ in frames for p in PASSTHROUGH[:2] + ["blas_thread_server"]):
        return "GEMM on a worker thread (caller unknown)"
    return "other"


def phase(frames):
    syms = [s for s, _ in frames]
    # Worker threads do not see Tensor.backward, but run closures of the kernels' backward functions.
    if any(BACKWARD.search(s) for s in syms):
        return "backward"
    if any("AdamW." in s or "clipGradNorm(" in s or "gradNorm(" in s for s in syms):
        return "optimizer"
    if any("withoutGrad" in s for s in syms):
        return "fwd no-graph"
    return "forward"


def samples(lines):
    """Yields (tid, time, period, frames) with frames leaf first as (symbol, dso)."""
    head, frames = None, []
    for line in lines:
        if not line.strip():
            if head:
                yield head + (frames,)
            head, frames = None, []
            continue
        if not line[0].isspace():
            m = HEADER.match(line)
            head = (int(m.group(1)), float(m.group(2)), int(m.group(3))) if m else None
            frames = []
            continue
        parts = line.strip().split(" ", 1)
        if len(parts) == 2:
            rest = parts[1]
            dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
            sym = rest[:rest.rfind(" (")] if " (" in rest else rest
            frames.append((re.sub(r"\+0x[0-9a-f]+$", "", sym), dso))
    if head:
        yield head + (frames,)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=15, help="leaf symbols to list")
    a = ap.parse_args()
    all_samples = list(samples(sys.stdin))
    in_step = [s[1] for s in all_samples if any(STEP.search(f[0]) for f in s[3])]
    if not in_step:
        sys.exit("no sample inside a workload's step(); was the binary built with symbols and perf run with --call-graph dwarf?")
    lo, hi = min(in_step), max(in_step)
    chosen = [s for s in all_samples if lo <= s[1] <= hi]
    total = sum(s[2] for s in chosen)
    threads = Counter(s[0] for s in chosen)

    by_family = defaultdict(Counter)
    leaves = Counter()
    family_leaves = defaultdict(Counter)
    for tid, _, period, frames in chosen:
        if not frames:
            continue
        f = family(frames)
        by_family[f]["total"] += period
        by_family[f]["phase:" + phase(frames)] += period
        # An inlined leaf's object file is that of the first real frame above it.
        dso = next((d for _, d in frames if d and d != "inlined"), "")
        by_family[f]["leaf:" + leaf_kind(frames[0][0], dso)] += period
        leaves[frames[0][0][:90]] += period
        family_leaves[f][frames[0][0][:90]] += period

    pct = lambda x: f"{100 * x / total:5.1f}" if total else "  —"
    phases = ["forward", "fwd no-graph", "backward", "optimizer"]
    kinds = ["sgemm", "Swift code", "memset/memcpy", "alloc/refcount", "kernel (page faults…)", "OpenBLAS other", "other"]
    print(f"{len(chosen)} samples, {total / 1e9:.2f} s CPU over {hi - lo:.2f} s wall, {len(threads)} thread(s) "
          f"(% of CPU time in the measured iterations)")
    print()
    print("| op family | total | " + " | ".join(phases) + " | " + " | ".join(kinds) + " |")
    print("|---|---:|" + "---:|" * (len(phases) + len(kinds)))
    for name, c in sorted(by_family.items(), key=lambda kv: -kv[1]["total"]):
        cells = [pct(c["phase:" + p]) for p in phases] + [pct(c["leaf:" + k]) for k in kinds]
        print(f"| {name} | {pct(c['total'])} | " + " | ".join(cells) + " |")
    every = Counter()
    for c in by_family.values():
        every.update(c)
    cells = [pct(every["phase:" + p]) for p in phases] + [pct(every["leaf:" + k]) for k in kinds]
    print(f"| **all** | {pct(every['total'])} | " + " | ".join(cells) + " |")
    print()
    print("Top leaf functions of the largest families:")
    for name, c in sorted(by_family.items(), key=lambda kv: -kv[1]["total"])[:6]:
        print(f"  {name}:")
        for sym, period in family_leaves[name].most_common(4):
            print(f"    {pct(period)}%  {sym}")
    print()
    print(f"Top {a.top} leaf functions:")
    for sym, period in leaves.most_common(a.top):
        print(f"  {pct(period)}%  {sym}")


if __name__ == "__main__":
    main()
