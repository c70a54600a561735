#!/usr/bin/env python3
"""Few-shot user model on the frozen preference scorer's image features: does it beat the population-only scorer?

usage (from the repository root): python Scripts/probe_user_scorer_features.py [SCORER] [EPISODES] [DATA]
  SCORER  a scorer folder (default Models/shapes-scorer); EPISODES (default 3000); DATA (default cache/shapes).
Needs: pip install torch transformers safetensors pillow numpy

A PyTorch copy of the scorer (Sources/Scoring/Scorer: ImageEncoder, CLIP text tower, projections, logit_scale)
gives every image its pooled feature h (post-LayerNorm) and every pair its population score difference
Δs = s(a, c) − s(b, c). The user model (docs/PERSONALIZATION.md §5, the design to test) is

    z = Δs + ⟨u, W·(h(a) − h(b))⟩,   u = mean over the user's K support pairs of W·(h(w) − h(l))

with one learned matrix W (hidden → 32): the scorer explains what everybody agrees on, u only the user's
deviation. W is trained on episodes of the training users (U = 8 users, K = 4 support, Q = 8 queries, AdamW
1e-3, Bradley–Terry NLL, ties ½), never on held-out users. Evaluation as `t2ialign user-encoder eval`: for each
of the held-out users, K pairs from heldout_train (5 random draws), non-tie heldout_validation queries; the
baseline is the scorer alone (sign of Δs).
"""
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import models  # noqa: E402  (the contract's byte-level tokenizer)

K, Q, U, DIM = 4, 8, 8, 32


class ImageEncoder(nn.Module):
    """Sources/Scoring/Scorer/ImageEncoder.swift."""

    def __init__(self, cfg):
        super().__init__()
        g = cfg["norm_groups"]
        self.coords = cfg["coordinate_channels"]
        self.stem_pooling = cfg["stem_pooling"]
        stem = cfg["stem_channels"]
        self.conv = nn.Conv2d(cfg["num_channels"] + (2 if self.coords else 0), stem, 3, padding=1)
        self.norm = nn.GroupNorm(g, stem)
        self.stages = nn.ModuleList()
        c = stem
        for out in cfg["stage_channels"]:
            self.stages.append(nn.ModuleDict({"downsample": nn.Conv2d(c, out, 3, stride=2, padding=1),
                                              "downsample_norm": nn.GroupNorm(g, out),
                                              "conv": nn.Conv2d(out, out, 3, padding=1), "norm": nn.GroupNorm(g, out)}))
            c = out
        detail = cfg.get("detail_channels", 0)
        self.detail = nn.ModuleDict({"conv": nn.Conv2d(cfg["num_channels"], detail, 3, bias=False)}) if detail else None
        self.post = nn.LayerNorm(c + (stem if self.stem_pooling else 0) + detail, eps=cfg["layer_norm_eps"])

    def forward(self, x, maps=None):
        """Pooled features; `maps`, a dict, also receives the stem's (post-SiLU) and every stage's feature map."""
        pixels = x
        n, _, s, _ = x.shape
        if self.coords:
            yy, xx = torch.meshgrid(torch.linspace(-1, 1, s), torch.linspace(-1, 1, s), indexing="ij")
            x = torch.cat([x, torch.stack([xx, yy]).expand(n, 2, s, s)], 1)
        stem = self.conv(x)
        if maps is not None:
            maps["stem"] = F.silu(stem)
        h = F.silu(self.norm(stem))
        for i, st in enumerate(self.stages):
            h = F.silu(st["downsample_norm"](st["downsample"](h)))
            h = h + F.silu(st["norm"](st["conv"](h)))
            if maps is not None:
                maps[f"stage {i}"] = h
        pooled = h.mean(dim=(2, 3))
        if self.stem_pooling:
            pooled = torch.cat([pooled, F.silu(stem).mean(dim=(2, 3))], 1)
        if self.detail is not None:  # mean log energy of the high-pass filters (ImageEncoder.detailEnergyEps)
            pooled = torch.cat([pooled, torch.log1p(self.detail["conv"](pixels) ** 2 / 1e-3).mean(dim=(2, 3))], 1)
        return self.post(pooled)


def load_images(data, paths):
    """[N, 3, S, S] float32 in [−1, 1], as the Swift scorer reads PNGs."""
    return torch.tensor(np.array([np.asarray(Image.open(f"{data}/{p}").convert("RGB")) for p in paths]),
                        dtype=torch.float32).permute(0, 3, 1, 2) / 127.5 - 1


def score_pairs(rows, data, scorer, batch=512):
    """(Δs, Δh) of dataset rows: the score difference s(image 0, caption) − s(image 1, caption) and the
    difference of the two images' pooled features, in row order."""
    vision, text, vproj, tproj, scale = scorer
    ds, dh = [], []
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            rs = rows[start:start + batch]
            t = F.normalize(text(models.tokenize([r["caption"] for r in rs])).pooler_output @ tproj.T, dim=1)
            s, h = [], []
            for key in ("jpg_0", "jpg_1"):
                hidden = vision(load_images(data, [r[key] for r in rs]))
                h.append(hidden)
                s.append(scale * (F.normalize(hidden @ vproj.T, dim=1) * t).sum(1))
            ds.append(s[0] - s[1])
            dh.append(h[0] - h[1])
    return torch.cat(ds), torch.cat(dh)


def load_scorer(folder):
    cfg = json.load(open(f"{folder}/config.json"))
    sd = load_file(f"{folder}/model.safetensors")
    vision = ImageEncoder(cfg["vision_config"])
    remap = {"embeddings.conv": "conv", "embeddings.norm": "norm", "post_layernorm": "post"}
    vs = {}
    for k, v in sd.items():
        if k.startswith("vision_model."):
            name = k[len("vision_model."):]
            for a, b in remap.items():
                if name.startswith(a):
                    name = b + name[len(a):]
            vs[name] = v
    vision.load_state_dict(vs)
    tc = {k: v for k, v in cfg["text_config"].items() if k not in ("architectures", "model_type")}
    text = CLIPTextModel(CLIPTextConfig(**tc))
    state = {k[len("text_model."):]: v for k, v in sd.items() if k.startswith("text_model.")}
    missing, unexpected = text.load_state_dict(state, strict=False)
    if [k for k in missing if "position_ids" not in k] or unexpected:  # transformers versions differ in the prefix
        text.text_model.load_state_dict(state)
    return vision.eval(), text.eval(), sd["visual_projection.weight"], sd["text_projection.weight"], float(sd["logit_scale"].exp())


def main(scorer, episodes, data):
    torch.manual_seed(0)
    random.seed(0)
    vision, text, vproj, tproj, scale = load_scorer(scorer)
    users = {u["user_id"]: u for u in json.load(open(f"{data}/users.json"))["users"]}

    rows = {}
    for split in ("train", "heldout_train", "heldout_validation"):
        for line in open(f"{data}/{split}.jsonl"):
            r = json.loads(line)
            if r["user_id"] != 0:
                rows.setdefault(split, []).append(r)
    paths = sorted({p for rs in rows.values() for r in rs for p in (r["jpg_0"], r["jpg_1"])})
    captions = sorted({r["caption"] for rs in rows.values() for r in rs})
    index = {p: i for i, p in enumerate(paths)}
    cindex = {c: i for i, c in enumerate(captions)}
    with torch.no_grad():
        feats, embeds = [], []
        for start in range(0, len(paths), 256):
            h = vision(load_images(data, paths[start:start + 256]))
            feats.append(h)
            embeds.append(F.normalize(h @ vproj.T, dim=1))
        h_all, e_all = torch.cat(feats), torch.cat(embeds)
        t_all = []
        for start in range(0, len(captions), 256):
            out = text(models.tokenize(captions[start:start + 256]))
            t_all.append(F.normalize(out.pooler_output @ tproj.T, dim=1))
        t_all = torch.cat(t_all)
    print(f"{len(paths)} images, {len(captions)} captions featurized (hidden {h_all.shape[1]})", file=sys.stderr)

    def pairs(split):
        """user → (ia, ib, caption index, y = P(a preferred))"""
        out = {}
        for r in rows[split]:
            y = 0.5 if r["label_0"] == 0.5 else float(r["label_0"] == 1)
            out.setdefault(r["user_id"], []).append((index[r["jpg_0"]], index[r["jpg_1"]], cindex[r["caption"]], y))
        return {u: np.array(v, dtype=np.float64) for u, v in out.items()}

    train = pairs("train")
    train = {u: v for u, v in train.items() if len(v) >= K + Q}
    support_h, query_h = pairs("heldout_train"), pairs("heldout_validation")

    def delta_s(p):
        a, b, c = (torch.tensor(p[:, i], dtype=torch.long) for i in range(3))
        return scale * ((e_all[a] * t_all[c]).sum(1) - (e_all[b] * t_all[c]).sum(1))

    def delta_h(p):
        a, b = torch.tensor(p[:, 0], dtype=torch.long), torch.tensor(p[:, 1], dtype=torch.long)
        return h_all[a] - h_all[b]

    def winner_first(p):
        p = p.copy()
        swap = p[:, 3] < 0.5
        p[swap, 0], p[swap, 1] = p[swap, 1].copy(), p[swap, 0].copy()
        p[swap, 3] = 1 - p[swap, 3]
        return p

    W = nn.Linear(h_all.shape[1], DIM, bias=False)
    nn.init.normal_(W.weight, std=0.01)
    alpha = nn.Parameter(torch.tensor(1.0))  # scale of the population score difference
    opt = torch.optim.AdamW(list(W.parameters()) + [alpha], lr=1e-3, weight_decay=1e-4)
    ids = list(train)
    for step in range(episodes):
        loss = 0.0
        for u in random.sample(ids, U):
            p = train[u]
            non_tie = np.where(p[:, 3] != 0.5)[0]
            sup = np.random.choice(non_tie, K, replace=False)
            rest = np.setdiff1d(np.arange(len(p)), sup)
            qry = p[np.random.choice(rest, Q, replace=False)]
            s = winner_first(p[sup])
            user = W(delta_h(s)).mean(0)
            z = alpha * delta_s(qry) + W(delta_h(qry)) @ user
            y = torch.tensor(qry[:, 3], dtype=torch.float32)
            loss = loss + (y * F.softplus(-z) + (1 - y) * F.softplus(z)).mean()
        opt.zero_grad()
        (loss / U).backward()
        opt.step()
        if step % 500 == 0 or step == episodes - 1:
            print(f"episode {step}: loss {loss.item() / U:.4f}, alpha {alpha.item():.3f}", file=sys.stderr)

    rng = np.random.default_rng(0)
    print(f"held-out users (K = {K} pairs from heldout_train, 5 draws; non-tie heldout_validation queries)")
    print("user  archetype          queries  scorer alone  scorer + user")
    by_arch = {}
    with torch.no_grad():
        for u in sorted(query_h):
            q = query_h[u]
            q = q[q[:, 3] != 0.5]
            if u not in support_h or len(q) == 0:
                continue
            y = q[:, 3] == 1
            base = float(np.mean((delta_s(q).numpy() > 0) == y))
            sp = support_h[u]
            sp = sp[sp[:, 3] != 0.5]
            accs = []
            for _ in range(5):
                s = winner_first(sp[rng.choice(len(sp), K, replace=False)])
                user = W(delta_h(s)).mean(0)
                z = alpha * delta_s(q) + W(delta_h(q)) @ user
                accs.append(np.mean((z.numpy() > 0) == y))
            arch = users[u].get("archetype", "?")
            by_arch.setdefault(arch, []).append((len(q), base, float(np.mean(accs))))
            print(f"{u:4d}  {arch:17s}  {len(q):7d}  {base:11.1%}  {np.mean(accs):12.1%}")
    total = sum(n for v in by_arch.values() for n, _, _ in v)
    for arch, v in sorted(by_arch.items()):
        n = sum(x[0] for x in v)
        print(f"{arch:17s} {n:4d} queries: scorer {sum(x[0] * x[1] for x in v) / n:.1%}, scorer + user {sum(x[0] * x[2] for x in v) / n:.1%}")
    print(f"all {total} queries: scorer {sum(n * b for v in by_arch.values() for n, b, _ in v) / total:.1%}, "
          f"scorer + user {sum(n * a for v in by_arch.values() for n, _, a in v) / total:.1%}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) > 3 or (args and args[0] in ("-h", "--help")):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(args[0] if args else "Models/shapes-scorer", int(args[1]) if len(args) > 1 else 3000,
         args[2] if len(args) > 2 else "cache/shapes")
