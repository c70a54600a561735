#!/usr/bin/env python3
"""Traces how a model's background colour forms during DDIM sampling, with diffusers.

usage: python Scripts/trace_background.py MODEL "PROMPT" [GUIDANCE]
Needs: pip install torch diffusers transformers safetensors

Loads MODEL/unet (UNet2DConditionModel) and MODEL/text_encoder (CLIPTextModel) of a t2ialign model folder,
samples 8 images (torch seed 0) with DDIM 50 steps as t2ialign configures it (steps_offset 1, x̂0 clipped,
use_clipped_model_output for v-prediction), classifier-free guidance with the empty prompt, and prints at
chosen steps the per-channel median (0-255) of x̂0's border pixels — left column, right column, bottom row
twice, as specs/shapes-world.md §4 measures the background — and its HSV saturation (< 0.2 reads as
white/black). Written to find where black backgrounds pick up a tint (Models/shapes-base/README.md).
"""
import json
import os
import sys

import torch
from diffusers import DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import models  # noqa: E402  (the contract's byte-level tokenizer)


def border_median(x0: torch.Tensor) -> torch.Tensor:
    b = torch.cat([x0[:, :, :, 0], x0[:, :, :, -1], x0[:, :, -1, :], x0[:, :, -1, :]], dim=2)
    return (b.median(dim=2).values + 1) * 127.5


def main(model: str, prompt: str, guidance: float) -> None:
    unet = UNet2DConditionModel.from_pretrained(f"{model}/unet").eval()
    text_encoder = CLIPTextModel.from_pretrained(f"{model}/text_encoder").eval()
    config = json.load(open(f"{model}/scheduler/scheduler_config.json"))
    v_model = config.get("prediction_type", "epsilon") == "v_prediction"
    scheduler = DDIMScheduler(num_train_timesteps=config["num_train_timesteps"], beta_schedule=config["beta_schedule"],
                              beta_start=config["beta_start"], beta_end=config["beta_end"],
                              prediction_type=config.get("prediction_type", "epsilon"), clip_sample=True,
                              set_alpha_to_one=False, steps_offset=1)
    scheduler.set_timesteps(50)
    n = 8
    torch.manual_seed(0)
    x = torch.randn(n, 3, 32, 32)
    with torch.no_grad():
        cond = text_encoder(models.tokenize([prompt])).last_hidden_state.repeat(n, 1, 1)
        null = text_encoder(models.tokenize([""])).last_hidden_state.repeat(n, 1, 1)
        for i, t in enumerate(scheduler.timesteps):
            out_null, out_cond = unet(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([null, cond])).sample.chunk(2)
            step = scheduler.step(out_null + guidance * (out_cond - out_null), t, x, use_clipped_model_output=v_model)
            x = step.prev_sample
            if i in (0, 5, 10, 20, 30, 40, 49):
                m = border_median(step.pred_original_sample)
                hi, lo = m.max(1).values, m.min(1).values
                sat = (hi - lo) / hi.clamp(min=1e-6)
                cells = " ".join(f"({r:.0f},{g:.0f},{b:.0f}) {s:.2f}" for (r, g, b), s in zip(m.tolist(), sat.tolist()))
                print(f"step {i:2d} t={int(t):4d}  {cells}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 3.0)
