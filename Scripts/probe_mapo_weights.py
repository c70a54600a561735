#!/usr/bin/env python3
"""Which pairs drive MaPO's margin gradient, and which drive Diffusion-DPO's, at the start of alignment.

usage (from the repository root): python Scripts/probe_mapo_weights.py [MODEL] [PAIRS] [DATA]
  MODEL  a t2ialign model folder (default Models/shapes-base); PAIRS (default 800) of the population user's
  non-tie training pairs in DATA (default cache/shapes), winner first.
       python Scripts/probe_mapo_weights.py --noise DIR...
  mean and median noise_f of the PNGs in each DIR (e.g. `t2ialign sample --prompts … --out DIR` of two models).
Needs: pip install torch diffusers transformers safetensors pillow numpy

For each pair it draws one timestep and one noise shared by both images (as the trainer does), computes the
per-image denoising losses Lw, Ll of MODEL (diffusers copy: UNet2DConditionModel + CLIPTextModel) and the
weight each objective puts on the pair's direction ∇Lw − ∇Ll (specs objectives.md):
  MaPO    β_mapo·T·s/2·σ(−T·(f(Lw) − f(Ll))) ≈ 25·σ(…), f(L) = sL/(e^{sL} − 1), s = 0.5, T = 1000
  DPO     at θ = reference every pair has the same weight (σ(0) = ½), whatever its losses.
It prints the oracle noise and clutter features (specs/shapes-world.md §4, the reward's −12·noise_f and
−0.4·clutter_f) of winners and losers, plain and weighted by MaPO's pair weight, by timestep band: a
weighted winner noisier than its loser means MaPO teaches the model the noise the reward punishes.
"""
import json
import os
import sys

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import models  # noqa: E402  (the contract's byte-level tokenizer)

S, T = 0.5, 1000.0


def noise_f(img: np.ndarray) -> float:
    """specs/shapes-world.md §4: robust spread of neighbour differences along the left, right and bottom edges."""
    x = img.astype(np.float64)
    d = np.concatenate([np.diff(x[:, 0, :], axis=0).ravel(), np.diff(x[:, -1, :], axis=0).ravel(),
                        np.diff(x[-1, :, :], axis=0).ravel()])
    return min(1.0, max(0.0, 1.4826 * np.median(np.abs(d - np.median(d))) / (255 * np.sqrt(2))))


def f(loss: torch.Tensor) -> torch.Tensor:
    x = S * loss
    return x / torch.expm1(x)


def main(model: str, count: int, data: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_pretrained(f"{model}/unet").eval()
    text_encoder = CLIPTextModel.from_pretrained(f"{model}/text_encoder").eval()
    config = json.load(open(f"{model}/scheduler/scheduler_config.json"))
    scheduler = DDPMScheduler(num_train_timesteps=config["num_train_timesteps"], beta_schedule=config["beta_schedule"],
                              beta_start=config["beta_start"], beta_end=config["beta_end"])
    v_model = config.get("prediction_type", "epsilon") == "v_prediction"

    pairs = []
    for line in open(f"{data}/train.jsonl"):
        r = json.loads(line)
        if r["user_id"] == 0 and r["label_0"] != 0.5:
            w, l = (r["jpg_0"], r["jpg_1"]) if r["label_0"] == 1 else (r["jpg_1"], r["jpg_0"])
            pairs.append((w, l, r["caption"]))
        if len(pairs) == count:
            break

    rows = []  # (t, Lw, Ll, noise_w, noise_l)
    batch = 25
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        images = [[np.asarray(Image.open(f"{data}/{p}").convert("RGB")) for p in pair[:2]] for pair in chunk]
        x0 = torch.tensor(np.array([im for pair in images for im in pair]), dtype=torch.float32)
        x0 = x0.permute(0, 3, 1, 2) / 127.5 - 1
        n = len(chunk)
        t = torch.randint(0, 1000, (n,)).repeat_interleave(2)
        eps = torch.randn(n, 3, 32, 32).repeat_interleave(2, dim=0)
        xt = scheduler.add_noise(x0, eps, t)
        target = scheduler.get_velocity(x0, eps, t) if v_model else eps
        with torch.no_grad():
            text = text_encoder(models.tokenize([c for _, _, c in chunk])).last_hidden_state.repeat_interleave(2, 0)
            pred = unet(xt, t, encoder_hidden_states=text).sample
        losses = ((pred - target) ** 2).mean(dim=(1, 2, 3)).view(n, 2)
        for i in range(n):
            rows.append((int(t[2 * i]), float(losses[i, 0]), float(losses[i, 1]),
                         noise_f(images[i][0]), noise_f(images[i][1])))
        print(f"{min(start + batch, len(pairs))}/{len(pairs)} pairs", file=sys.stderr, end="\r")
    print(file=sys.stderr)

    r = np.array(rows)
    t, lw, ll, nw, nl = r.T
    weight = torch.sigmoid(-T * (f(torch.tensor(lw)) - f(torch.tensor(ll)))).numpy()
    print(f"{len(r)} non-tie population pairs of {data}, model {model}, one timestep and noise per pair")
    print(f"noise_f of winners {nw.mean():.4f}, losers {nl.mean():.4f}; winner noisier in {np.mean(nw > nl):.0%}")
    print("band        pairs  Lw>Ll   MaPO weight  noise_f w − l (DPO: plain mean)   (MaPO: weighted)")
    for lo, hi in ((0, 100), (100, 300), (300, 600), (600, 1000), (0, 1000)):
        m = (t >= lo) & (t < hi)
        if not m.any():
            continue
        wm = weight[m]
        plain = (nw[m] - nl[m]).mean()
        weighted = ((nw[m] - nl[m]) * wm).sum() / max(wm.sum(), 1e-12)
        print(f"t {lo:3d}–{hi:4d}  {m.sum():5d}  {np.mean(lw[m] > ll[m]):5.0%}   {wm.mean():.3f}       "
              f"{plain:+.4f}                         {weighted:+.4f}")


def noise_of_folders(folders) -> None:
    for folder in folders:
        values = [noise_f(np.asarray(Image.open(os.path.join(folder, name)).convert("RGB")))
                  for name in sorted(os.listdir(folder)) if name.endswith(".png") and name != "grid.png"]
        print(f"{folder}: {len(values)} images, noise_f mean {np.mean(values):.4f}, median {np.median(values):.4f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--noise"] and len(args) > 1:
        noise_of_folders(args[1:])
        sys.exit(0)
    if len(args) > 3 or (args and args[0] in ("-h", "--help")):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(args[0] if args else "Models/shapes-base", int(args[1]) if len(args) > 1 else 800,
         args[2] if len(args) > 2 else "cache/shapes")
