#!/usr/bin/env bash
# Issue 6's measurement (docs/PERSONALIZATION.md §5): the user model trained on many synthetic users, personalized
# DPO from the population DPO model on them, then every held-out user of the default Shapes data — never seen in
# training, each represented by 4 of their pairs — evaluated by their own oracle reward against the population DPO
# model and against the base, and the control "same model, no user tokens" against the population DPO model (what the
# tokens add); plus the sample grid of one user per archetype.
#
#   Scripts/personalized_table.sh                 # everything (resumable: finished steps are skipped)
#   STEPS=1000 SUPPORT=informative OUT=runs/personalized-1000 Scripts/personalized_table.sh
#
# The table goes to OUT/table.md, the grid (six held-out test prompts) to OUT/user-grid/user-grid.png.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/t2ialign}
BASE=${BASE:-Models/shapes-base}
DPO=${DPO:-Models/shapes-dpo}
DATA=${DATA:-cache/shapes}                 # the held-out users evaluated here
USERS_DATA=${USERS_DATA:-cache/shapes-users400}   # the training users (another seed: none of them is in DATA)
ENCODER=${ENCODER:-runs/user-encoder-u400}
OUT=${OUT:-runs/personalized}
STEPS=${STEPS:-1500}
SUPPORT=${SUPPORT:-all}                    # --user-support of personalized DPO: which other pairs give a pair's u
PROJECTION_LR=${PROJECTION_LR:-1e-3}       # --user-projection-lr
INJECTION=${INJECTION:-decoupled}          # --user-injection: decoupled (own cross-attention K/V) or appended
SEED=${SEED:-0}                            # training seed of the personalized run
EXTRA=${EXTRA:-}                           # more flags for the personalized run, e.g. "--user-taste-pairs 0" (every pair)
GRID_USERS=${GRID_USERS:-41,44,47,50}      # one held-out user per archetype of DATA

[ -x "$BIN" ] || swift build -c release --product t2ialign
[ -d "$DATA" ] || "$BIN" data synth --out "$DATA"
[ -d "$USERS_DATA" ] || "$BIN" data synth --out "$USERS_DATA" --seed 5 --population-pairs 200 \
    --users-per-archetype 100 --heldout-per-archetype 1
[ -f "$ENCODER/model.safetensors" ] || "$BIN" user-encoder train --data "$USERS_DATA" --eval-data "$DATA" --out "$ENCODER"
[ -f "$OUT/dpo/model/user_projection/config.json" ] || "$BIN" train --objective dpo --personalized --init "$DPO" \
    --data "$USERS_DATA" --user-encoder "$ENCODER" --user-support "$SUPPORT" --user-projection-lr "$PROJECTION_LR" --user-injection "$INJECTION" \
    --steps "$STEPS" --seed "$SEED" $EXTRA --out "$OUT/dpo"
model="$OUT/dpo/model"

heldout=$(python3 -c 'import json, sys
print(" ".join(str(u["user_id"]) + ":" + u.get("archetype", "-") for u in json.load(open(sys.argv[1] + "/users.json"))["users"] if u["held_out"]))' "$DATA")
[ -n "$heldout" ] || { echo "error: $DATA/users.json lists no held-out user" >&2; exit 1; }
win_rate() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["winRate"]; print("%.1f" % (100 * r["rate"]), "%.1f%% [%.1f, %.1f]" % (100 * r["rate"], 100 * r["lower"], 100 * r["upper"]))' "$1"; }

rows="| archetype | held-out user | personalized vs population DPO | personalized vs base | control: no user tokens vs population DPO |
|---|---|---|---|---|"
summary=""
for entry in $heldout; do
    user=${entry%%:*}; archetype=${entry#*:}
    cells=""
    for pair in "$DPO:vs-dpo:" "$BASE:vs-base:" "$DPO:no-user:--no-user-tokens"; do
        IFS=: read -r baseline name control <<<"$pair"
        dir="$OUT/eval-$name-u$user"
        [ -f "$dir/report.json" ] || "$BIN" eval --model "$model" --baseline "$baseline" --oracle --user "$user" --user-data "$DATA" \
            --spread 100 --seeds 1 --steps 25 $control --out "$dir" >/dev/null
        read -r rate shown <<<"$(win_rate "$dir/report.json")"
        cells="$cells | $shown"
        summary="$summary$archetype $name $rate
"
    done
    rows="$rows
| $archetype | $user$cells |"
done
means=$(printf '%s' "$summary" | python3 -c 'import sys, collections
by = collections.defaultdict(list)
for line in sys.stdin:
    a, name, r = line.split(); by[(a, name)].append(float(r)); by[("all", name)].append(float(r))
for a in sorted({a for a, _ in by}, key=lambda a: (a == "all", a)):
    d, b, c = by[(a, "vs-dpo")], by[(a, "vs-base")], by[(a, "no-user")]
    print("| %s | mean over %d users | %.1f%% | %.1f%% | %.1f%% |" % (a, len(d), sum(d) / len(d), sum(b) / len(b), sum(c) / len(c)))')
printf '%s\n%s\n\nPersonalized DPO: %s steps from %s on the training users of %s (user model %s, --user-support %s,\n--user-projection-lr %s, --user-injection %s, seed %s%s); each held-out user of %s is\nrepresented by the 4 most informative of their heldout_train pairs; evaluation: 100 evenly spread test prompts, 1 seed,\nDDIM 25, guidance 3, oracle reward of that user.\n' \
    "$rows" "$means" "$STEPS" "$DPO" "$USERS_DATA" "$ENCODER" "$SUPPORT" "$PROJECTION_LR" "$INJECTION" "$SEED" "${EXTRA:+, $EXTRA}" "$DATA" | tee "$OUT/table.md"

printf '%s\n' "a large red circle in the center on a orange background" "a orange circle on a white background" \
    "a yellow square on a blue background" "a large yellow square on a black background" \
    "a small green square in the center on a red background" "a yellow square on a purple background" >"$OUT/grid-prompts.txt"
[ -f "$OUT/user-grid/user-grid.png" ] || "$BIN" sample --model "$model" --grid-users "$GRID_USERS" --user-data "$DATA" \
    --prompts "$OUT/grid-prompts.txt" --steps 25 --seed 0 --out "$OUT/user-grid"
