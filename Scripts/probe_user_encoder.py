#!/usr/bin/env python3
"""A throwaway PyTorch copy of the few-shot user encoder, for trying designs quickly (docs/PERSONALIZATION.md §5).

usage (from the repository root): python Scripts/probe_user_encoder.py VARIANT [STEPS] [DATA]
  VARIANT  population       z = <p, d> + s<u, d>: a learned population direction p plus the user's prototype u
           population-text  the same, ψ also reading the prompt (the frozen text encoder of Models/shapes-base)
           reward-text      no users: a population reward <p, ψ(x, c)> fitted to user 0's pairs only
  STEPS    episodes (default 1500); DATA: a Shapes dataset folder (default cache/shapes)
Needs: pip install torch transformers pillow numpy

ψ has the layer sizes of Sources/Preference/Personalization/UserEncoder.swift (conv 16 → 32 → 32 with coordinate
planes, 2×2 pool, MLP 64 → 32); the episode loss is FewShotPreferenceLoss's Bradley–Terry NLL (K = 4 support,
Q = 8 queries, U = 8 users per episode; AdamW lr 1e-3, weight decay 1e-4, gradient norm 1). At the end it prints
the held-out users' few-shot accuracy (support from heldout_train, 5 draws; non-tie heldout_validation queries)
and the accuracy of the population direction p alone, as `t2ialign user-encoder eval` reports them.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import models  # noqa: E402  (the contract's byte-level tokenizer)

K, Q, U, DIM = 4, 8, 8, 32


def load_pairs(data, split, population_max):
    """user → [(winner-or-first image, other image, P(first preferred), caption)]."""
    by_user = {}
    for line in open(f"{data}/{split}.jsonl"):
        r = json.loads(line)
        y = 0.5 if r["label_0"] == 0.5 else float(r["label_0"] == 1)
        by_user.setdefault(r["user_id"], []).append((r["jpg_0"], r["jpg_1"], y, r["caption"]))
    if 0 in by_user:
        by_user[0] = by_user[0][:population_max]
    return by_user


def winner_first(pairs):
    return [(a, b, y, c) if y == 1 else (b, a, 1 - y, c) for a, b, y, c in pairs]


class Psi(nn.Module):
    def __init__(self, reads_prompt):
        super().__init__()
        self.reads_prompt = reads_prompt
        self.conv_in = nn.Conv2d(5, 16, 3, padding=1)
        self.down = nn.ModuleList([nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.Conv2d(32, 32, 3, stride=2, padding=1)])
        self.text = nn.Linear(128, 64)
        self.hidden = nn.Linear(128 + (64 if reads_prompt else 0), 64)
        self.out = nn.Linear(64, DIM)
        self.population = nn.Parameter(torch.zeros(DIM))
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(10.0))))

    def forward(self, x, text):
        n = x.shape[0]
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
        h = F.silu(self.conv_in(torch.cat([x, torch.stack([xx, yy]).expand(n, 2, 32, 32)], 1)))
        for conv in self.down:
            h = F.silu(conv(h))
        h = F.adaptive_avg_pool2d(h, 2).reshape(n, -1)
        if self.reads_prompt:
            h = torch.cat([h, self.text(text)], 1)
        return self.out(F.silu(self.hidden(h)))


def main(variant, steps, data):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    random.seed(0)
    reads_prompt = variant.endswith("-text")
    population_only = variant == "reward-text"
    train = load_pairs(data, "train", 20000 if population_only else 1000)
    support_split, query_split = load_pairs(data, "heldout_train", 0), load_pairs(data, "heldout_validation", 0)
    images, prompts = {}, {}

    def image(path):
        if path not in images:
            pixels = np.asarray(Image.open(f"{data}/{path}").convert("RGB"), dtype=np.float32)
            images[path] = torch.from_numpy(pixels).permute(2, 0, 1) / 127.5 - 1
        return images[path]

    text_encoder = None
    if reads_prompt:
        from transformers import CLIPTextModel
        text_encoder = CLIPTextModel.from_pretrained("Models/shapes-base/text_encoder").eval()

    def prompt(caption):
        if text_encoder is None:
            return torch.zeros(128)
        if caption not in prompts:
            with torch.no_grad():
                prompts[caption] = text_encoder(models.tokenize([caption])).pooler_output[0]
        return prompts[caption]

    psi = Psi(reads_prompt)
    optimizer = torch.optim.AdamW(psi.parameters(), lr=1e-3, weight_decay=1e-4)

    def differences(pairs):
        first = torch.stack([image(p[0]) for p in pairs])
        second = torch.stack([image(p[1]) for p in pairs])
        text = torch.stack([prompt(p[3]) for p in pairs])
        f = psi(torch.cat([first, second]), torch.cat([text, text]))
        return f[: len(pairs)] - f[len(pairs):]

    users = [u for u, v in train.items() if sum(p[2] != 0.5 for p in v) >= K and len(v) >= K + Q]
    for step in range(steps):
        chosen = [0] * U if population_only else random.sample(users, U)
        support, queries = [], []
        for user in chosen:
            s = winner_first(random.sample([p for p in train[user] if p[2] != 0.5], K))
            rest = [p for p in train[user] if p not in s and (p[1], p[0], 1 - p[2], p[3]) not in s]
            support += s
            queries += random.sample(rest, Q)
        ds, dq = differences(support).reshape(U, K, DIM), differences(queries).reshape(U, Q, DIM)
        z = (psi.population * dq).sum(2)
        if not population_only:
            u = F.normalize(ds.mean(1), dim=1)
            z = z + psi.log_scale.exp() * (u[:, None, :] * dq).sum(2)
        y = torch.tensor([p[2] for p in queries]).reshape(U, Q)
        loss = (y * F.softplus(-z) + (1 - y) * F.softplus(z)).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(psi.parameters(), 1.0)
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps}  loss {loss.item():.4f}", flush=True)

    few = population = total = 0.0
    with torch.no_grad():
        for user, queries in sorted(query_split.items()):
            queries = [p for p in queries if p[2] != 0.5]
            if not queries or user not in support_split:
                continue
            dq = differences(queries)
            sign = torch.tensor([1.0 if p[2] == 1 else -1.0 for p in queries])
            pool = winner_first([p for p in support_split[user] if p[2] != 0.5])
            for draw in range(5):
                u = F.normalize(differences(random.Random(draw).sample(pool, K)).mean(0), dim=0)
                z = dq @ psi.population + (0 if population_only else psi.log_scale.exp() * (dq @ u))
                few += ((z * sign) > 0).float().sum().item() / 5
            population += ((dq @ psi.population * sign) > 0).float().sum().item()
            total += len(queries)
    print(f"{variant}: held-out few-shot {100 * few / total:.1f}%, population direction alone "
          f"{100 * population / total:.1f}% on {int(total)} query pairs")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("population", "population-text", "reward-text"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1500, sys.argv[3] if len(sys.argv) > 3 else "cache/shapes")
