#!/usr/bin/env bash
# t2ialign vs the PyTorch/diffusers baseline (shared/bench/bench.py) on the same workloads, one per process.
#
# Each workload runs in its own process under /usr/bin/time -v (peak RSS of the whole process), first with
# PyTorch, then with `t2ialign bench model`, same variant, batch, warm-up, runs and threads. Prints a table of
# median seconds per iteration, the ratio PyTorch / t2ialign (> 1: t2ialign is faster) and peak RSS, and
# writes every JSON line and log under --out.
#
#   Scripts/bench_vs_pytorch.sh                               # tiny and small, sft dpo ddim fwd, 2 threads
#   Scripts/bench_vs_pytorch.sh --runs 2 --warmup 1           # a quick end-to-end check
#   Scripts/bench_vs_pytorch.sh --variants tiny --benches "dpo sft" --shared /path/to/shared
#
# Timings are only comparable when both sides run in one sitting on an otherwise idle machine.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${T2I_SHARED:-$repo/../shared}"
python="${T2I_BENCH_PYTHON:-$HOME/bench-venv/bin/python}"
variants="tiny small"
benches="sft dpo ddim fwd"
threads=2
batch=16
warmup=3
runs=10
out=""
binary=""
sides="pytorch t2ialign"
checkpointing=0

usage() {
    cat <<EOF
usage: $0 [options]
  --shared DIR      the shared/ folder holding bench/bench.py (default: \$T2I_SHARED or $repo/../shared)
  --python PATH     Python with torch, diffusers, transformers (default: \$T2I_BENCH_PYTHON or ~/bench-venv/bin/python)
  --t2ialign PATH   the t2ialign binary (default: build it with swift build -c release)
  --variants LIST   model sizes, quoted and space-separated (default: "$variants")
  --benches LIST    workloads among fwd text sft dpo ddim (default: "$benches")
  --threads N       threads for both sides (default: $threads)
  --batch N         batch (default: $batch; dpo uses N/2 pairs, ddim N/2 images)
  --warmup N        untimed iterations (default: $warmup)
  --runs N          timed iterations (default: $runs)
  --only SIDE       run only pytorch or only t2ialign
  --checkpointing   also run t2ialign's sft and dpo with --gradient-checkpointing (extra columns)
  --out DIR         where JSON lines and logs go (default: a new folder under /tmp)
EOF
}

die() { echo "error: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
positive() { [[ "$2" =~ ^[0-9]+$ && "$2" -ge "$3" ]] || die "$1 must be an integer ≥ $3, got '$2'"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --shared) need_value "$@"; shared="$2"; shift 2 ;;
        --python) need_value "$@"; python="$2"; shift 2 ;;
        --t2ialign) need_value "$@"; binary="$2"; shift 2 ;;
        --variants) need_value "$@"; variants="$2"; shift 2 ;;
        --benches) need_value "$@"; benches="$2"; shift 2 ;;
        --threads) need_value "$@"; positive "$1" "$2" 1; threads="$2"; shift 2 ;;
        --batch) need_value "$@"; positive "$1" "$2" 2; batch="$2"; shift 2 ;;
        --warmup) need_value "$@"; positive "$1" "$2" 0; warmup="$2"; shift 2 ;;
        --runs) need_value "$@"; positive "$1" "$2" 1; runs="$2"; shift 2 ;;
        --only) need_value "$@"; [[ "$2" == pytorch || "$2" == t2ialign ]] || die "--only takes pytorch or t2ialign"
                sides="$2"; shift 2 ;;
        --out) need_value "$@"; out="$2"; shift 2 ;;
        --checkpointing) checkpointing=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

for v in $variants; do
    [[ "$v" =~ ^(tiny|small|medium)$ ]] || die "--variants: '$v' is not tiny, small or medium"
done
for b in $benches; do
    [[ "$b" =~ ^(fwd|text|sft|dpo|ddim)$ ]] || die "--benches: '$b' is not one of fwd text sft dpo ddim"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian: apt-get install time); it measures peak RSS"
parser="$(command -v python3 || true)"
[[ -n "$parser" ]] || parser="$python"

if [[ " $sides " == *" pytorch "* ]]; then
    bench_py="$shared/bench/bench.py"
    [[ -f "$bench_py" ]] || die "no $bench_py; point --shared (or T2I_SHARED) at the folder holding bench/bench.py"
    [[ -x "$python" ]] || die "no Python at $python; create the venv as $shared/bench/README.md says, or pass --python"
    "$python" -c "import torch, diffusers, transformers" 2>/dev/null \
        || die "$python cannot import torch, diffusers and transformers; see $shared/bench/README.md"
fi
if [[ " $sides " == *" t2ialign "* && -z "$binary" ]]; then
    echo "building t2ialign (release)…" >&2
    (cd "$repo" && swift build -c release --product t2ialign >&2)
    binary="$(cd "$repo" && swift build -c release --show-bin-path)/t2ialign"
fi
if [[ " $sides " == *" t2ialign "* ]]; then
    [[ -x "$binary" ]] || die "no t2ialign binary at $binary; pass --t2ialign PATH"
fi

[[ -n "$out" ]] || out="$(mktemp -d /tmp/bench_vs_pytorch.XXXXXX)"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
echo "results in $out" >&2

# One workload in one process: appends {"side", "variant", "bench", "ok", "record", "time_v"} to results.jsonl.
run_one() {
    local side="$1" variant="$2" bench="$3"
    local stem="$out/$side-$variant-$bench"
    local cmd
    if [[ "$side" == pytorch ]]; then
        cmd=("$python" "$bench_py" --variant "$variant" --bench "$bench" --threads "$threads" --batch "$batch"
             --warmup "$warmup" --runs "$runs")
    else
        cmd=("$binary" bench model --variant "$variant" --bench "$bench" --threads "$threads" --batch "$batch"
             --warmup "$warmup" --runs "$runs")
        [[ "$side" == t2ialign-gc ]] && cmd+=(--gradient-checkpointing)
    fi
    echo "[$side] $variant $bench …" >&2
    local status=0
    # OMP_NUM_THREADS caps torch's and OpenBLAS's pools alike; T2I_THREADS is set by --threads.
    OMP_NUM_THREADS="$threads" /usr/bin/time -v -o "$stem.time" "${cmd[@]}" > "$stem.out" 2> "$stem.err" || status=$?
    if [[ $status -ne 0 ]]; then
        echo "[$side] $variant $bench failed (exit $status); last lines of $stem.err:" >&2
        tail -n 5 "$stem.err" >&2 || true
    fi
    "$parser" - "$side" "$variant" "$bench" "$stem" "$status" >> "$results" <<'PY'
import json, re, sys
side, variant, bench, stem, status = sys.argv[1:6]
record = None
try:
    for line in open(stem + ".out"):
        if line.startswith("{"):
            record = json.loads(line)
except (OSError, ValueError):
    pass
time_v = {}
try:
    text = open(stem + ".time").read()
    for key, pattern in [("max_rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
                         ("user_s", r"User time \(seconds\): ([\d.]+)"),
                         ("system_s", r"System time \(seconds\): ([\d.]+)")]:
        m = re.search(pattern, text)
        if m:
            time_v[key] = float(m.group(1))
except OSError:
    pass
print(json.dumps(dict(side=side, variant=variant, bench=bench, ok=status == "0" and record is not None,
                      record=record, time_v=time_v)))
PY
}

for variant in $variants; do
    # bench.py's "idle" (imports and model construction only): subtracted from PyTorch's process CPU time to
    # estimate its CPU seconds per iteration, which bench.py does not report.
    [[ " $sides " == *" pytorch "* ]] && run_one pytorch "$variant" idle
    for bench in $benches; do
        for side in $sides; do
            run_one "$side" "$variant" "$bench"
        done
        if [[ $checkpointing == 1 && " $sides " == *" t2ialign "* && ( $bench == sft || $bench == dpo ) ]]; then
            run_one t2ialign-gc "$variant" "$bench"
        fi
    done
done

"$parser" - "$results" "$threads" "$batch" "$warmup" "$runs" <<'PY' | tee "$out/summary.md"
import json, sys
path, threads, batch, warmup, runs = sys.argv[1:6]
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {(r["variant"], r["bench"], r["side"]): r for r in rows}
keys = []
for r in rows:
    if r["bench"] != "idle" and (r["variant"], r["bench"]) not in keys:
        keys.append((r["variant"], r["bench"]))
torch_version = next((r["record"].get("torch") for r in rows if r["ok"] and r["side"] == "pytorch"), None)

def median(side, v, b):
    r = by.get((v, b, side))
    return r["record"]["median_s"] if r and r["ok"] else None

def rss(side, v, b):
    r = by.get((v, b, side))
    return r["time_v"].get("max_rss_kb", 0) / 1024 if r and r["time_v"].get("max_rss_kb") else None

def cpu(side, v, b):
    r = by.get((v, b, side))
    if not r or not r["time_v"]:
        return None
    return r["time_v"].get("user_s", 0) + r["time_v"].get("system_s", 0)

def cpu_per_iter(side, v, b):
    r = by.get((v, b, side))
    if not r or not r["ok"]:
        return None
    if side.startswith("t2ialign"):
        return r["record"].get("cpu_median_s")
    total, idle = cpu(side, v, b), cpu(side, v, "idle")
    n = len(r["record"]["warmup_s"]) + len(r["record"]["times_s"])
    return (total - idle) / n if total is not None and idle is not None and n else None

def fmt(x, spec):
    return "—" if x is None else format(x, spec)

print(f"# t2ialign vs PyTorch ({torch_version or 'not run'}): {threads} threads, batch {batch}, "
      f"{warmup} warm-up + {runs} timed runs, medians of wall seconds per iteration")
print()
print("| variant | workload | PyTorch s | t2ialign s | ratio PyTorch/t2ialign | PyTorch peak RSS MB | t2ialign peak RSS MB "
      "| PyTorch CPU s/iter (≈) | t2ialign CPU s/iter | CPU ratio |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for v, b in keys:
    p, s = median("pytorch", v, b), median("t2ialign", v, b)
    ratio = p / s if p is not None and s else None
    pc, sc = cpu_per_iter("pytorch", v, b), cpu_per_iter("t2ialign", v, b)
    cpu_ratio = pc / sc if pc is not None and sc else None
    print(f"| {v} | {b} | {fmt(p, '.3f')} | {fmt(s, '.3f')} | {fmt(ratio, '.2f')} | {fmt(rss('pytorch', v, b), '.0f')} "
          f"| {fmt(rss('t2ialign', v, b), '.0f')} | {fmt(pc, '.3f')} | {fmt(sc, '.3f')} | {fmt(cpu_ratio, '.2f')} |")
print()
print("Seconds: medians of wall time per iteration. Peak RSS: /usr/bin/time -v, whole process. CPU s/iter: all "
      "threads, user + system; t2ialign's is the median it measures per iteration, PyTorch's is estimated as "
      "(process CPU − CPU of bench.py --bench idle) / (warm-up + runs). Wall ratios need an idle machine; CPU "
      "ratios are less disturbed by other load.")
gc = [(v, b) for v, b in keys if by.get((v, b, "t2ialign-gc"))]
if gc:
    print()
    print("With gradient checkpointing (t2ialign bench model --gradient-checkpointing; PyTorch as above, without):")
    print()
    print("| variant | workload | t2ialign s | ratio PyTorch/t2ialign | t2ialign peak RSS MB | RSS ratio t2ialign/PyTorch |")
    print("|---|---|---:|---:|---:|---:|")
    for v, b in gc:
        p, s = median("pytorch", v, b), median("t2ialign-gc", v, b)
        pr, sr = rss("pytorch", v, b), rss("t2ialign-gc", v, b)
        print(f"| {v} | {b} | {fmt(s, '.3f')} | {fmt(p / s if p is not None and s else None, '.2f')} "
              f"| {fmt(sr, '.0f')} | {fmt(sr / pr if sr is not None and pr else None, '.2f')} |")
failed = [f"{r['side']} {r['variant']} {r['bench']}" for r in rows if not r["ok"]]
if failed:
    print("FAILED: " + ", ".join(failed))
PY

if grep -q '"ok": false' "$results"; then
    echo "some runs failed; see the .err files in $out" >&2
    exit 1
fi
