#!/usr/bin/env bash
# Reproduces the alignment table of docs/ALIGNMENT.md: DPO, MaPO, DCPO and SFT-on-preferred, each from the
# same base model with the same budget and default settings, several seeds, every model evaluated against
# the base by train's closing evaluation (oracle reward of the population user, held-out test prompts).
#
#   Scripts/alignment_table.sh                      # defaults below
#   STEPS=300 SEEDS="0 1" Scripts/alignment_table.sh
#
# Runs are resumable: a finished run is skipped, an interrupted one resumes. The base model's images are
# generated once and reused from the sample cache. The table goes to OUT/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/t2ialign}
BASE=${BASE:-Models/shapes-base}
DATA=${DATA:-cache/shapes}
OUT=${OUT:-runs/alignment}
STEPS=${STEPS:-500}
SEEDS=${SEEDS:-0 1 2 3}
OBJECTIVES=${OBJECTIVES:-dpo mapo dcpo sft}
EVAL_PROMPTS=${EVAL_PROMPTS:-100}
TRAIN_ARGS=${TRAIN_ARGS:-}

[ -x "$BIN" ] || swift build -c release --product t2ialign
for objective in $OBJECTIVES; do
    for seed in $SEEDS; do
        run="$OUT/$objective-s$seed"
        if [ ! -f "$run/eval/report.json" ]; then  # train resumes a finished run straight to its evaluation
            # shellcheck disable=SC2086
            "$BIN" train --objective "$objective" --init "$BASE" --data "$DATA" --steps "$STEPS" --seed "$seed" \
                --out "$run" --eval-prompts "$EVAL_PROMPTS" $TRAIN_ARGS
        fi
    done
done

python3 - "$OUT" "$STEPS" $OBJECTIVES <<'EOF'
import json, os, statistics, sys
out, steps, objectives = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = ["| objective | win rate vs base, per seed (95% CI) | mean | reward median (model / base) |",
        "|---|---|---|---|"]
for objective in objectives:
    runs = sorted(d for d in os.listdir(out) if d.startswith(objective + "-s"))
    reports = [json.load(open(os.path.join(out, d, "eval", "report.json"))) for d in runs
               if os.path.exists(os.path.join(out, d, "eval", "report.json"))]
    if not reports:
        continue
    cells = ["%.1f%% [%.1f, %.1f]" % (100 * r["winRate"]["rate"], 100 * r["winRate"]["lower"], 100 * r["winRate"]["upper"])
             for r in reports]
    mean = statistics.mean(r["winRate"]["rate"] for r in reports)
    medians = "%.3f / %.3f" % (statistics.mean(r["medianScoreA"] for r in reports), statistics.mean(r["medianScoreB"] for r in reports))
    rows.append("| %s | %s | **%.1f%%** | %s |" % (objective, "; ".join(cells), 100 * mean, medians))
prompts = reports[0]["prompts"] if reports else 0
r0 = reports[0]["settings"] if reports else {}
table = "\n".join(rows) + "\n\n%s steps per run; evaluation (train's closing evaluation): %d evenly spread held-out test prompts × %s seed(s), %s %s steps, guidance %s, oracle reward of user 0.\n" % (
    steps, prompts, r0.get("seeds"), r0.get("generation", {}).get("sampler"), r0.get("generation", {}).get("steps"), r0.get("generation", {}).get("guidance"))
open(os.path.join(out, "table.md"), "w").write(table)
print(table)
EOF
