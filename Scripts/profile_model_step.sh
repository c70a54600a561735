#!/usr/bin/env bash
# Where the CPU time of a `t2ialign bench model` workload goes, by op family (perf + Scripts/perf_by_op.py).
#
#   Scripts/profile_model_step.sh                                   # tiny sft, 1 thread, 1 warm-up + 5 runs
#   Scripts/profile_model_step.sh --out /tmp/prof-dpo -- --variant tiny --bench dpo --threads 2
#
# perf samples the cpu-clock event with DWARF call stacks (through OpenBLAS and inlined Swift frames), so the
# table is CPU time of every thread, which other load on the machine disturbs far less than wall time.
# Needs perf (Debian: apt-get install linux-perf) and root, or kernel.perf_event_paranoid ≤ 1.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary=""
out=""
frequency=499
while [[ $# -gt 0 ]]; do
    case "$1" in
        --t2ialign) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --frequency) frequency="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,9p' "$0"; echo "options: --t2ialign PATH  --out DIR  --frequency HZ  -- <bench model options>"; exit 0 ;;
        *) echo "error: unknown option '$1' (bench model options go after --)" >&2; exit 2 ;;
    esac
done
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--variant tiny --bench sft --threads 1 --warmup 1 --runs 5)

command -v perf > /dev/null || { echo "error: perf is missing (Debian: apt-get install linux-perf)" >&2; exit 2; }
command -v swift > /dev/null || { echo "error: swift (for swift demangle) is not on PATH" >&2; exit 2; }
if [[ -z "$binary" ]]; then
    (cd "$repo" && swift build -c release --product t2ialign >&2)
    binary="$(cd "$repo" && swift build -c release --show-bin-path)/t2ialign"
fi
[[ -x "$binary" ]] || { echo "error: no t2ialign binary at $binary; pass --t2ialign PATH" >&2; exit 2; }
[[ -n "$out" ]] || out="$(mktemp -d /tmp/profile_model_step.XXXXXX)"
mkdir -p "$out"

# 32 KB of stack per sample is enough for the deepest U-Net backward stacks.
perf record -q -F "$frequency" --call-graph dwarf,32768 -o "$out/perf.data" -- \
    "$binary" bench model "${args[@]}" > "$out/bench.json" 2> "$out/bench.err"
perf script -F comm,tid,time,period,ip,sym,dso -i "$out/perf.data" 2> /dev/null \
    | swift demangle --simplified | python3 "$repo/Scripts/perf_by_op.py" | tee "$out/profile.md"
echo "bench model ${args[*]}: $(cat "$out/bench.json")" >> "$out/profile.md"
echo "perf data and the table in $out" >&2
