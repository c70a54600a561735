#!/usr/bin/env python3
"""A learned taste encoder ψ for the MAP user model of Scripts/probe_user_map.py: does it get close to ideal features?

usage (from the repository root): python Scripts/probe_user_taste_cnn.py [EPOCHS]     (default 4; the docs use 30)
Needs: pip install torch transformers safetensors pillow numpy, and two datasets:
  cache/shapes           the default Shapes data (its 12 held-out users are evaluated, never trained on)
  cache/shapes-users400  many training users: t2ialign data synth --out cache/shapes-users400 --seed 5
                         --population-pairs 200 --users-per-archetype 100 --heldout-per-archetype 1

The model is probe_user_map.py's z = α·Δs + ⟨w_u, ψ(a) − ψ(b)⟩ with Δs from the frozen Models/shapes-scorer, but
ψ is a small CNN of its own (RGB + two coordinate planes, convolutions 16 → 32 → 32 with two stride-2 steps, 2×2
average pools of the first and last maps, MLP 192 → 64 → 4; no normalisation layers), trained jointly with a
per-user weight table w_u and α on the 400 training users' pairs (Adam 3e-3, batch 256, BT likelihood, ties ½).
The training users' w_u then give the Gaussian prior of the MAP estimate for each held-out user of cache/shapes
from K = 4 of their heldout_train pairs (random: 20 draws; informative: the label-free choice of
probe_user_map.py), scored on their non-tie heldout_validation pairs.
"""
import json, os, sys, collections, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image
torch.set_num_threads(1); torch.manual_seed(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_user_scorer_features import load_scorer, models
import probe_user_map as pum
TRAIN, EVAL = "cache/shapes-users400", "cache/shapes"
EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 4; D = 4
scorer = load_scorer("Models/shapes-scorer"); vision, text, vproj, tproj, scale = scorer
def load(data, split, personal=True):
    rows = [r for r in map(json.loads, open(f"{data}/{split}.jsonl")) if (r["user_id"] != 0) == personal]
    paths = sorted({p for r in rows for p in (r["jpg_0"], r["jpg_1"])}); ix = {p: i for i, p in enumerate(paths)}
    imgs = torch.tensor(np.array([np.asarray(Image.open(f"{data}/{p}").convert("RGB")) for p in paths]))
    a = torch.tensor([ix[r["jpg_0"]] for r in rows]); b = torch.tensor([ix[r["jpg_1"]] for r in rows])
    y = torch.tensor([0.5 if r["label_0"] == 0.5 else float(r["label_0"] == 1) for r in rows])
    with torch.no_grad():
        caps = sorted({r["caption"] for r in rows}); cx = {c: i for i, c in enumerate(caps)}
        t = torch.cat([F.normalize(text(models.tokenize(caps[i:i+512])).pooler_output @ tproj.T, dim=1) for i in range(0, len(caps), 512)])
        e = torch.cat([F.normalize(vision(imgs[i:i+512].permute(0,3,1,2).float()/127.5-1) @ vproj.T, dim=1) for i in range(0, len(imgs), 512)])
        c = torch.tensor([cx[r["caption"]] for r in rows])
        ds = scale * ((e[a] * t[c]).sum(1) - (e[b] * t[c]).sum(1))
    return dict(imgs=imgs, a=a, b=b, y=y, ds=ds, user=np.array([r["user_id"] for r in rows]))
t0 = time.time()
tr = load(TRAIN, "train"); print("train pairs", len(tr["y"]), "%.0fs" % (time.time() - t0), file=sys.stderr)
class Psi(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(5, 16, 3, padding=1); s.c2 = nn.Conv2d(16, 32, 3, stride=2, padding=1); s.c3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        s.l1 = nn.Linear(32 * 4 + 16 * 4, 64); s.l2 = nn.Linear(64, D)
    def forward(s, x):
        x = x.permute(0, 3, 1, 2).float() / 127.5 - 1; n, _, S, _ = x.shape
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij")
        x = torch.cat([x, torch.stack([xx, yy]).expand(n, 2, S, S)], 1)
        h1 = F.silu(s.c1(x)); h = F.silu(s.c3(F.silu(s.c2(h1))))
        z = torch.cat([F.adaptive_avg_pool2d(h, 2).flatten(1), F.adaptive_avg_pool2d(h1, 2).flatten(1)], 1)
        return s.l2(F.silu(s.l1(z)))
psi = Psi(); ids = sorted(set(tr["user"])); uix = torch.tensor([ids.index(u) for u in tr["user"]])
W = nn.Parameter(torch.randn(len(ids), D) * 0.5); alpha = nn.Parameter(torch.tensor(1.0))
opt = torch.optim.Adam(list(psi.parameters()) + [W, alpha], lr=3e-3)
N = len(tr["y"]); B = 256
for ep in range(EPOCHS):
    perm = torch.randperm(N); tot = 0
    for i in range(0, N, B):
        j = perm[i:i+B]
        z = alpha * tr["ds"][j] + (W[uix[j]] * (psi(tr["imgs"][tr["a"][j]]) - psi(tr["imgs"][tr["b"][j]]))).sum(1)
        y = tr["y"][j]; l = (y * F.softplus(-z) + (1 - y) * F.softplus(z)).mean() + 1e-4 * (W ** 2).sum(1).mean()
        opt.zero_grad(); l.backward(); opt.step(); tot += l.item() * len(j)
    print("epoch", ep, "loss %.4f" % (tot / N), "%.0fs" % (time.time() - t0), file=sys.stderr)
torch.save({"psi": psi.state_dict(), "W": W.detach(), "alpha": alpha.item(), "ids": ids}, "runs/probe-user-taste-cnn.pt")
# evaluation on the default data's held-out users
users_tr = {u["user_id"]: u for u in json.load(open(f"{TRAIN}/users.json"))["users"]}
users = {u["user_id"]: u for u in json.load(open(f"{EVAL}/users.json"))["users"]}
table = W.detach().numpy().astype(np.float64); al = alpha.item()
mu, cov = table.mean(0), np.cov(table.T) + 1e-6 * np.eye(D); prec = np.linalg.inv(cov)
arch = sorted({users_tr[u]["archetype"] for u in ids})
cent = np.array([table[[i for i, u in enumerate(ids) if users_tr[u]["archetype"] == a]].mean(0) for a in arch])
for a, c in zip(arch, cent): print(a, np.round(c, 2))
def phi(d):
    with torch.no_grad():
        f = torch.cat([psi(d["imgs"][i:i+1024]) for i in range(0, len(d["imgs"]), 1024)])
        return (f[d["a"]] - f[d["b"]]).numpy().astype(np.float64)
sup, qry = load(EVAL, "heldout_train"), load(EVAL, "heldout_validation")
sp, qp = phi(sup), phi(qry); sds, qds = sup["ds"].numpy().astype(np.float64), qry["ds"].numpy().astype(np.float64); sy, qy = sup["y"].numpy(), qry["y"].numpy()
rng = np.random.default_rng(0)
for mode in ("random", "informative"):
    tot = collections.defaultdict(float)
    for u in sorted(set(qry["user"])):
        q = (qry["user"] == u) & (qy != 0.5); yq = qy[q] == 1
        acc = lambda w: np.mean(((al * qds[q] + qp[q] @ w) > 0) == yq)
        mine = np.where(sup["user"] == u)[0]; nt = mine[sy[mine] != 0.5]
        if mode == "informative":
            p = 1 / (1 + np.exp(-(al * sds[mine] + sp[mine] @ mu)))
            draws = [mine[np.argsort(-(p * (1 - p) * np.einsum("ij,jk,ik->i", sp[mine], cov, sp[mine])))[:4]]]
        else:
            draws = [rng.choice(nt, 4, replace=False) for _ in range(20)]
        accs, named = [], []
        for pick in draws:
            w = pum.map_estimate(sds[pick], sp[pick], sy[pick], al, mu, prec); accs.append(acc(w))
            g = cent - w; named.append(arch[int(np.argmin(np.einsum("ij,jk,ik->i", g, prec, g)))] == users[u]["archetype"])
        allw = pum.map_estimate(sds[mine], sp[mine], sy[mine], al, mu, prec)
        n = q.sum(); tot["n"] += n; tot["sc"] += n * np.mean((qds[q] > 0) == yq); tot["map"] += n * np.mean(accs); tot["all"] += n * acc(allw); tot["named"] += np.mean(named); tot["u"] += 1
        print(mode, u, users[u]["archetype"], "map %.3f named %.2f" % (np.mean(accs), np.mean(named)))
    print(mode, "scorer %.3f MAP %.3f all %.3f named %.3f" % (tot["sc"] / tot["n"], tot["map"] / tot["n"], tot["all"] / tot["n"], tot["named"] / tot["u"]))
