#!/usr/bin/env python3
"""Few-shot user weights by maximum a posteriori on top of the frozen scorer: how much can K pairs tell?

usage (from the repository root):
  python Scripts/probe_user_map.py [--features ideal|scorer] [--select random|informative] [--shots K]
                                   [--scorer DIR] [--data DIR]
  python Scripts/probe_user_map.py --feature-r2     # ridge R² of the taste features from the scorer's features
Needs: pip install torch transformers safetensors pillow numpy

The user model (docs/PERSONALIZATION.md §5) is a hierarchical Bradley–Terry model

    z = α·Δs + ⟨w_u, Δφ⟩,   P(first image preferred) = σ(z)

Δs: score difference of the frozen population scorer (Models/shapes-scorer, PyTorch copy from
probe_user_scorer_features.py) — what everybody agrees on; Δφ: difference of D taste features of the two images;
w_u: the user's weights. `--features ideal` uses §4's four taste features measured from the pixels (what a perfect
encoder would see; an upper bound); `--features scorer` learns φ = A·h, one linear map of the scorer's pooled
image features h (D = 4). α, every training user's w_u (and A) are fitted to the training users' pairs; the
training users' w_u give a Gaussian prior N(μ, Σ). A held-out user's w is then the MAP estimate from K of their
heldout_train pairs (Newton's method), used to predict their heldout_validation pairs (non-ties) and to name their
archetype (nearest training-archetype mean of w_u, Mahalanobis under Σ).

`--select random`: K random non-tie pairs (20 draws per user). `--select informative`: the K pairs a label-free
criterion expects to say most about w — largest p(1 − p)·Δφᵀ Σ Δφ with p = σ(α·Δs + ⟨μ, Δφ⟩) under the prior —
i.e. pairs the shared scorer cannot already explain and whose images differ in taste; this is what asking a new
user to label K chosen pairs would give (one deterministic draw).
"""
import argparse
import collections
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_archetype_identifiability import taste_features  # noqa: E402
from probe_user_scorer_features import load_images, load_scorer, score_pairs  # noqa: E402

SPLITS = ("train", "heldout_train", "heldout_validation")


def featurize(rows, data, scorer):
    """Δs, Δh (scorer pooled features), Δf (ideal taste features) and y of each pair."""
    ds, dh = score_pairs(rows, data, scorer)
    f = np.array([taste_features(f"{data}/{r['jpg_0']}") - taste_features(f"{data}/{r['jpg_1']}") for r in rows])
    y = np.array([0.5 if r["label_0"] == 0.5 else float(r["label_0"] == 1) for r in rows])
    return {"ds": ds.double(), "dh": dh.double(), "df": torch.tensor(f), "y": torch.tensor(y),
            "user": np.array([r["user_id"] for r in rows])}


def fit(train, features, dim):
    """α, per-user weights and (for learned features) the map A, by full-batch L-BFGS on the BT likelihood."""
    torch.manual_seed(0)
    ids = sorted(set(train["user"]))
    index = torch.tensor([ids.index(u) for u in train["user"]])
    weights = torch.zeros(len(ids), dim, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    params = [weights, alpha]
    A = None
    if features == "scorer":
        A = (0.01 * torch.randn(dim, train["dh"].shape[1], dtype=torch.float64)).requires_grad_()
        params.append(A)
        with torch.no_grad():
            weights.normal_(0, 0.1)  # a zero table would leave A without gradient
    y = train["y"]
    optimizer = torch.optim.LBFGS(params, max_iter=1000, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        phi = train["df"] if A is None else train["dh"] @ A.T
        z = alpha * train["ds"] + (weights[index] * phi).sum(1)
        loss = (y * F.softplus(-z) + (1 - y) * F.softplus(z)).sum() + 0.005 * (weights ** 2).sum()
        if A is not None:
            loss = loss + 0.005 * (A ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    project = (lambda d: d["df"].numpy()) if A is None else (lambda d: (d["dh"] @ A.detach().T).numpy())
    return ids, weights.detach().numpy(), alpha.item(), project


def map_estimate(ds, phi, y, alpha, mu, precision):
    w = mu.copy()
    for _ in range(30):
        p = 1 / (1 + np.exp(-(alpha * ds + phi @ w)))
        gradient = phi.T @ (y - p) - precision @ (w - mu)
        hessian = -(phi.T * (p * (1 - p))) @ phi - precision
        w = w - np.linalg.solve(hessian, gradient)
    return w


def feature_r2(data, scorer, n=4000):
    """Ridge R² of each taste feature from the scorer's pooled features and 1×1 / 2×2-pooled stage maps."""
    vision = scorer[0]
    paths = [json.loads(line)["jpg_0"] for line in open(f"{data}/train.jsonl")][:n]
    maps = {}
    with torch.no_grad():
        pooled = {"pooled (what the scorer scores)": vision(load_images(data, paths), maps)}
    pooled.update({f"{k}, {g}x{g} pool": F.adaptive_avg_pool2d(m, g).flatten(1) for k, m in maps.items() for g in (1, 2)})
    f = np.array([taste_features(f"{data}/{p}") for p in paths])
    train, test = slice(0, 3 * n // 4), slice(3 * n // 4, n)
    print(f"ridge R² on {n - 3 * n // 4} held-out images   vivid  light  gradient  scale")
    for name, h in pooled.items():
        h = np.c_[h.numpy().astype(np.float64), np.ones(n)]
        coef = np.linalg.solve(h[train].T @ h[train] + 0.1 * np.eye(h.shape[1]), h[train].T @ f[train])
        r2 = 1 - ((h[test] @ coef - f[test]) ** 2).mean(0) / f[test].var(0)
        print(f"  {name:32s} " + "  ".join(f"{v:5.3f}" for v in r2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--features", choices=("ideal", "scorer"), default="ideal")
    parser.add_argument("--select", choices=("random", "informative"), default="random")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--scorer", default="Models/shapes-scorer")
    parser.add_argument("--data", default="cache/shapes")
    parser.add_argument("--feature-r2", action="store_true",
                        help="only measure how linearly the scorer's features carry the four taste features")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.feature_r2:
        return feature_r2(args.data, load_scorer(args.scorer))
    users = {u["user_id"]: u for u in json.load(open(f"{args.data}/users.json"))["users"]}
    scorer = load_scorer(args.scorer)
    d = {}
    for split in SPLITS:
        rows = [json.loads(line) for line in open(f"{args.data}/{split}.jsonl")]
        d[split] = featurize([r for r in rows if r["user_id"] != 0], args.data, scorer)
    ids, table, alpha, project = fit(d["train"], args.features, 4)
    mu, cov = table.mean(0), np.cov(table.T) + 1e-6 * np.eye(4)
    precision = np.linalg.inv(cov)
    archetypes = sorted({users[u]["archetype"] for u in ids})
    centroids = np.array([table[[i for i, u in enumerate(ids) if users[u]["archetype"] == a]].mean(0) for a in archetypes])
    print(f"features {args.features}, selection {args.select}, K = {args.shots}; α = {alpha:.3f}; archetype means of w_u:")
    for a, c in zip(archetypes, centroids):
        print(f"  {a:16s} {np.round(c, 2)}")

    support, query = d["heldout_train"], d["heldout_validation"]
    s_ds, s_phi, s_y = support["ds"].numpy(), project(support), support["y"].numpy()
    q_ds, q_phi, q_y = query["ds"].numpy(), project(query), query["y"].numpy()
    rng = np.random.default_rng(0)
    print("user  archetype         queries  scorer alone  prior mean  MAP (K pairs)  MAP (all pairs)  archetype named")
    totals = collections.defaultdict(float)
    for u in sorted(set(query["user"])):
        q = (query["user"] == u) & (q_y != 0.5)
        yq = q_y[q] == 1
        accuracy = lambda w: np.mean(((alpha * q_ds[q] + q_phi[q] @ w) > 0) == yq)  # noqa: E731
        mine = np.where(support["user"] == u)[0]
        non_tie = mine[s_y[mine] != 0.5]
        draws = []
        if args.select == "informative":
            p = 1 / (1 + np.exp(-(alpha * s_ds[mine] + s_phi[mine] @ mu)))
            info = p * (1 - p) * np.einsum("ij,jk,ik->i", s_phi[mine], cov, s_phi[mine])
            draws.append(mine[np.argsort(-info)[:args.shots]])
        else:
            draws += [rng.choice(non_tie, args.shots, replace=False) for _ in range(20)]
        accs, named = [], []
        for pick in draws:
            w = map_estimate(s_ds[pick], s_phi[pick], s_y[pick], alpha, mu, precision)
            accs.append(accuracy(w))
            gap = centroids - w
            named.append(archetypes[int(np.argmin(np.einsum("ij,jk,ik->i", gap, precision, gap)))] == users[u]["archetype"])
        everything = map_estimate(s_ds[mine], s_phi[mine], s_y[mine], alpha, mu, precision)
        row = {"n": q.sum(), "scorer": np.mean((q_ds[q] > 0) == yq), "prior": accuracy(mu), "map": np.mean(accs),
               "all": accuracy(everything), "named": np.mean(named)}
        for key in ("scorer", "prior", "map", "all"):
            totals[key] += row["n"] * row[key]
        totals["n"] += row["n"]
        totals["named"] += row["named"]
        totals["users"] += 1
        print(f"{u:4d}  {users[u]['archetype']:16s}  {row['n']:7d}  {row['scorer']:12.1%}  {row['prior']:10.1%}  "
              f"{row['map']:13.1%}  {row['all']:15.1%}  {row['named']:15.0%}")
    n = totals["n"]
    print(f"all   ({totals['users']:.0f} users)       {n:7.0f}  {totals['scorer'] / n:12.1%}  {totals['prior'] / n:10.1%}  "
          f"{totals['map'] / n:13.1%}  {totals['all'] / n:15.1%}  {totals['named'] / totals['users']:15.1%}")


if __name__ == "__main__":
    main()
