#!/usr/bin/env bash
# What personalized DPO could reach with a perfect user encoder (docs/PERSONALIZATION.md §5): one plain DPO
# model per archetype, trained on that archetype's training users' pairs only (the identity of the user's
# archetype given for free), each evaluated by the oracle reward of every held-out user of that archetype
# against the population DPO model and against the base — the per-user comparisons of issue 6's done-when.
#
#   Scripts/archetype_upper_bound.sh                           # all four archetypes
#   ARCHETYPES="dark-minimalist" Scripts/archetype_upper_bound.sh
#
# Resumable (finished runs and evaluations are skipped); the table goes to OUT/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/t2ialign}
BASE=${BASE:-Models/shapes-base}
DPO=${DPO:-Models/shapes-dpo}
DATA=${DATA:-cache/shapes}
OUT=${OUT:-runs/arch}
STEPS=${STEPS:-1000}
ARCHETYPES=${ARCHETYPES:-vivid-lover dark-minimalist gradient-fan big-and-bright}

[ -x "$BIN" ] || swift build -c release --product t2ialign
users_of() {  # archetype, held_out (True/False) -> comma-separated user ids
    python3 -c 'import json, sys
users = json.load(open(sys.argv[1] + "/users.json"))["users"]
print(",".join(str(u["user_id"]) for u in users if u.get("archetype") == sys.argv[2] and str(u["held_out"]) == sys.argv[3]))' "$DATA" "$1" "$2"
}
win_rate() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["winRate"]; print("%.1f%% [%.1f, %.1f]" % (100 * r["rate"], 100 * r["lower"], 100 * r["upper"]))' "$1"; }

rows="| archetype | held-out user | archetype DPO vs population DPO | archetype DPO vs base | population DPO vs base |
|---|---|---|---|---|"
for archetype in $ARCHETYPES; do
    model="$OUT/dpo-${archetype%%-*}"
    if [ -z "$(users_of "$archetype" False)" ] || [ -z "$(users_of "$archetype" True)" ]; then
        echo "error: $DATA/users.json has no training or no held-out users of archetype '$archetype' (ARCHETYPES takes vivid-lover, dark-minimalist, gradient-fan, big-and-bright)" >&2
        exit 1
    fi
    if [ ! -f "$model/model/config.json" ]; then
        "$BIN" train --objective dpo --init "$BASE" --data "$DATA" --users "$(users_of "$archetype" False)" \
            --steps "$STEPS" --seed 0 --out "$model" --eval-prompts 0
    fi
    for user in $(users_of "$archetype" True | tr , ' '); do
        cells=""
        for pair in "$model/model:$DPO:vs-dpo" "$model/model:$BASE:vs-base" "$DPO:$BASE:dpo-vs-base"; do
            IFS=: read -r a b name <<<"$pair"
            out="$OUT/eval-${archetype%%-*}-$name-u$user"
            [ -f "$out/report.json" ] || "$BIN" eval --model "$a" --baseline "$b" --oracle --user "$user" --user-data "$DATA" \
                --spread 100 --seeds 1 --steps 25 --out "$out" >/dev/null
            cells="$cells | $(win_rate "$out/report.json")"
        done
        rows="$rows
| $archetype | $user$cells |"
    done
done
printf '%s\n\n%s steps of DPO per archetype model (defaults, seed 0, from %s); evaluation: 100 evenly spread test prompts (as in train'"'"'s closing evaluation), 1 seed, DDIM 25, guidance 3, oracle reward of the held-out user.\n' \
    "$rows" "$STEPS" "$BASE" | tee "$OUT/table.md"
