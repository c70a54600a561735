"""Writes Tests/ScoringTests/Fixtures/parity_image_encoder.safetensors: the scorer's image tower in PyTorch
(`ImageEncoder` of probe_user_scorer_features.py, the copy the probe scripts score with) against which
ScorerParityTests checks the Swift `ImageEncoder`. Run with the bench venv (torch, safetensors, numpy, pillow,
transformers):
    /root/bench-venv/bin/python Scripts/make_scorer_fixture.py
Config: TinyScorer's vision config of the tests (16×16 images, stem 4, stages [8, 8], 4 groups, coordinate
planes, stem pooling) with a 4-filter detail branch. Weights are seeded, norms get non-trivial affines.
    pooled = ImageEncoder(pixels)             [2, 16]: last stage 8 + stem 4 + detail 4
    loss   = sum(pooled * probe)              (probe: a fixed random tensor, so every feature gets a gradient)
The file holds the weights under the Swift names (`embeddings.conv.weight`, `stages.0.downsample.weight`,
`detail.conv.weight`, `post_layernorm.weight`, …), pixels, probe, pooled, loss and d(loss)/d(pixels, detail
weights, stem weights); the config is in the metadata.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_user_scorer_features import ImageEncoder  # noqa: E402

CONFIG = {"image_size": 16, "num_channels": 3, "stem_channels": 4, "stage_channels": [8, 8], "norm_groups": 4,
          "coordinate_channels": True, "stem_pooling": True, "detail_channels": 4, "layer_norm_eps": 1e-5}
SWIFT_NAMES = {"conv.": "embeddings.conv.", "norm.": "embeddings.norm.", "post.": "post_layernorm."}


def main():
    torch.manual_seed(11)
    encoder = ImageEncoder(CONFIG)
    with torch.no_grad():
        for name, p in encoder.named_parameters():
            if "norm" in name or name.startswith("post"):
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.3 * torch.randn_like(p))
    pixels = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
    pixels.data[1, :, :8] = 0.2  # a flat half: where the detail filters see only zeros
    probe = torch.randn(2, 4 + 8 + 4)
    pooled = encoder(pixels)
    loss = (pooled * probe).sum()
    loss.backward()

    tensors = {}
    for name, p in encoder.state_dict().items():
        swift = name
        for a, b in SWIFT_NAMES.items():
            if name.startswith(a):
                swift = b + name[len(a):]
        tensors[swift] = p.detach().contiguous()
    tensors.update({"io.pixels": pixels.detach(), "io.probe": probe, "io.pooled": pooled.detach(),
                    "io.loss": loss.detach().reshape(1), "io.grad_pixels": pixels.grad,
                    "io.grad_detail": encoder.detail["conv"].weight.grad, "io.grad_stem": encoder.conv.weight.grad})
    out = os.path.join(ROOT, "Tests", "ScoringTests", "Fixtures", "parity_image_encoder.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, out, metadata={"vision_config": json.dumps(CONFIG)})
    print(f"wrote {out}: pooled {tuple(pooled.shape)}, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
