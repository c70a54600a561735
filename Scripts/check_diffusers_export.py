#!/usr/bin/env python3
"""Checks a `t2ialign export --diffusers DIR` folder with diffusers itself.

usage: python Scripts/check_diffusers_export.py DIR
Needs: pip install torch diffusers safetensors
Loads DIR with UNet2DConditionModel.from_pretrained, runs it on the input stored in DIR/t2ialign_check.safetensors
and compares with the output t2ialign computed for that input (max-abs difference must be < 1e-4).
"""
import sys

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file


def main(path: str) -> int:
    unet = UNet2DConditionModel.from_pretrained(path).eval()
    check = load_file(f"{path}/t2ialign_check.safetensors")
    with torch.no_grad():
        out = unet(check["sample"], check["timesteps"], encoder_hidden_states=check["encoder_hidden_states"]).sample
    diff = (out - check["output"]).abs().max().item()
    params = sum(p.numel() for p in unet.parameters())
    print(f"loaded {path}: {params:,} parameters; max |diffusers - t2ialign| = {diff:.3e}")
    if diff >= 1e-4:
        print("FAIL: outputs differ", file=sys.stderr)
        return 1
    print("OK: diffusers reproduces t2ialign's output")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
