#!/usr/bin/env python3
"""Where does the learned scorer disagree with the oracle? Validation pairs grouped by what differs between the images.

usage (from the repository root, after `swift build -c release`):
  python Scripts/probe_scorer_errors.py [SCORER] [DATA]      (defaults Models/shapes-scorer, cache/shapes)
Needs: pip install torch transformers safetensors pillow numpy

For every non-tie validation pair of the population user (user 0), the oracle's attributes and features of both
images come from `t2ialign score --oracle` (one call per pair) and the scorer's score difference from the PyTorch
copy in probe_user_scorer_features.py. Pairs are grouped by which of the five attributes differ between the two
images (or, when none does, whether the number of clutter dots differs, else "continuous-only": only the noise
and taste terms differ); each group gets the share of pairs where the scorer and the oracle prefer different images.
"""
import collections
import json
import os
import re
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_user_scorer_features import load_scorer, score_pairs  # noqa: E402

ATTRIBUTES = ("shape", "colour", "background", "size", "position")


def oracle(data, row):
    text = subprocess.run([".build/release/t2ialign", "score", "--oracle", "--prompt", row["caption"],
                           f"{data}/{row['jpg_0']}", f"{data}/{row['jpg_1']}"], capture_output=True, text=True, check=True).stdout
    images = []
    for block in text.split(f"{data}/images/")[1:]:
        ok = {k: "[WRONG]" not in v for k, v in re.findall(r"(shape|colour|background|size|position) ([^,\n]*)", block)}
        features = {k: float(v) for k, v in re.findall(r"(vivid|light|gradient|scale|clutter|noise) ([0-9.]+)", block)}
        images.append({"ok": ok, "f": features, "reward": float(re.search(r"reward (-?[0-9.]+)", block).group(1))})
    return images


def main(scorer_dir="Models/shapes-scorer", data="cache/shapes"):
    torch.set_num_threads(1)
    rows = [r for r in map(json.loads, open(f"{data}/validation.jsonl")) if r["user_id"] == 0 and r["label_0"] != 0.5]
    orc = [oracle(data, r) for r in rows]
    ds = score_pairs(rows, data, load_scorer(scorer_dir))[0].numpy()
    y = np.array([r["label_0"] == 1 for r in rows])
    dr = np.array([a["reward"] - b["reward"] for a, b in orc])
    print(f"{len(y)} non-tie pairs: scorer agrees with {np.mean((ds > 0) == y):.1%} of labels, oracle {np.mean((dr > 0) == y):.1%}")
    disagree = (ds > 0) != (dr > 0)
    print(f"scorer and oracle prefer different images in {disagree.sum()} pairs ({disagree.mean():.1%})")
    total, wrong = collections.Counter(), collections.Counter()
    for i, (a, b) in enumerate(orc):
        differ = [k for k in ATTRIBUTES if a["ok"].get(k) != b["ok"].get(k)]
        key = ",".join(differ) if differ else ("clutter" if a["f"]["clutter"] != b["f"]["clutter"] else "continuous-only")
        total[key] += 1
        wrong[key] += disagree[i]
    print("what differs                   pairs  disagreements")
    for key, n in total.most_common():
        print(f"{key:30s} {n:5d}  {wrong[key]:5d} ({wrong[key] / n:.1%})")


if __name__ == "__main__":
    if len(sys.argv) > 3 or sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
