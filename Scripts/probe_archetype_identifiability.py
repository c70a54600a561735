#!/usr/bin/env python3
"""How much do K labelled pairs say about a user's taste, even with ideal taste features?

usage (from the repository root): python Scripts/probe_archetype_identifiability.py [DATA]
  DATA: a Shapes dataset folder (default cache/shapes). Needs: pip install numpy pillow

For every non-tie pair of a personal user it computes Δf = f(winner) − f(loser) of the four taste features
of specs/shapes-world.md §4 (vivid, light, gradient, scale; an approximate re-implementation from the pixels)
— the features a perfect user encoder would see. The K-pair mean of Δf is the prototype embedding of
docs/PERSONALIZATION.md §1 with ideal ψ. Archetype centroids come from the training users (20 random K-pair
draws each); each held-out user (heldout_train, 20 draws) is assigned the nearest centroid (standardised
distance). Chance is 25%.
"""
import collections
import json
import sys

import numpy as np
from PIL import Image


def taste_features(path):
    a = np.asarray(Image.open(path).convert("RGB")).astype(float)
    luma = a @ [0.299, 0.587, 0.114]
    s = a.shape[0]
    light = luma.mean() / 255
    top, bottom = (luma[0, 0] + luma[0, -1]) / 2, (luma[-1, 0] + luma[-1, -1]) / 2
    gradient = np.clip((1 - top / max(bottom, 1e-3)) / 0.45, 0, 1)
    bg = np.median(np.concatenate([a[:, 0], a[:, -1], a[-1], a[-1]]), axis=0)
    mask = np.linalg.norm(a - bg, axis=2) > 60
    vivid = scale = 0.0
    if mask.any():
        med = np.median(a[mask], axis=0)
        vivid = (med.max() - med.min()) / med.max() if med.max() > 0 else 0
        ys, xs = np.nonzero(mask)
        scale = np.clip((max(np.ptp(ys) + 1, np.ptp(xs) + 1) / s - 0.30) / 0.25, 0, 1)
    return np.array([vivid, light, gradient, scale])


def main(data):
    users = {u["user_id"]: u for u in json.load(open(f"{data}/users.json"))["users"]}
    rng = np.random.default_rng(0)

    def pairs(split):
        out = collections.defaultdict(list)
        for line in open(f"{data}/{split}.jsonl"):
            r = json.loads(line)
            if r["user_id"] == 0 or r["label_0"] == 0.5:
                continue
            w, l = (r["jpg_0"], r["jpg_1"]) if r["label_0"] == 1 else (r["jpg_1"], r["jpg_0"])
            out[r["user_id"]].append(taste_features(f"{data}/{w}") - taste_features(f"{data}/{l}"))
        return {u: np.array(v) for u, v in out.items()}

    train, heldout = pairs("train"), pairs("heldout_train")
    for k in (4, 8, 16):
        centroids = collections.defaultdict(list)
        for u, d in train.items():
            for _ in range(20):
                centroids[users[u]["archetype"]].append(d[rng.choice(len(d), k, replace=False)].mean(0))
        names = sorted(centroids)
        c = np.array([np.mean(centroids[a], 0) for a in names])
        spread = np.std(np.concatenate([centroids[a] for a in names]), 0)
        hits = draws = 0
        for u, d in heldout.items():
            if len(d) < k:
                continue
            for _ in range(20):
                m = d[rng.choice(len(d), k, replace=False)].mean(0)
                hits += names[int(np.argmin((((m - c) / spread) ** 2).sum(1)))] == users[u]["archetype"]
                draws += 1
        print(f"K = {k:2d}: archetype of held-out users identified in {hits / draws:.1%} of {draws} draws (chance 25%)")


if __name__ == "__main__":
    if len(sys.argv) > 2 or sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1] if len(sys.argv) == 2 else "cache/shapes")
