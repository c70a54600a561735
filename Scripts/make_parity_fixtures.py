"""Writes the parity fixtures of the Swift text encoder and U-Net (Tests/DiffusionTests/Fixtures/parity_*).

Run from anywhere with the bench venv (torch, diffusers, transformers, safetensors):
    /root/bench-venv/bin/python Scripts/make_parity_fixtures.py

The models are *reduced* versions of the contract configs in ../shared/bench/models.py: the same block types,
layers per block, head count, activation and masks, but narrower (U-Net channels (8, 16, 16), 4 groups,
cross-attention width 32; text encoder width 32, 2 layers) so weights and gradients stay around 1 MB.
Every parameter is seeded-random and the norms' ones/zeros are perturbed, so every path is exercised.

One graph covers both models, as training uses them:
    text   = CLIPTextModel(tokenize(prompts)).last_hidden_state            [2, 80, 32]
    ctx    = cat([text, extra], dim=1)  (3 extra "user" tokens: L = 83)     [2, 83, 32]
    eps    = UNet2DConditionModel(sample, timesteps, ctx).sample            [2, 3, 32, 32]
    loss   = mean(eps ** 2)
and the fixture stores the outputs and d(loss)/d(every parameter, sample, extra).
"""
import json
import os
import sys

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import models  # noqa: E402  (the contract: tokenizer, block types, text config)

OUT = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures")


def reduced_unet():
    contract = models.make_unet("tiny").config
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=contract.down_block_types,
        up_block_types=contract.up_block_types,
        mid_block_type=contract.mid_block_type,
        layers_per_block=contract.layers_per_block,
        attention_head_dim=contract.attention_head_dim,
        block_out_channels=(8, 16, 16),
        norm_num_groups=4,
        cross_attention_dim=32,
    )
    return unet


def reduced_text_encoder():
    contract = models.make_text_encoder("tiny").config
    cfg = CLIPTextConfig(
        vocab_size=contract.vocab_size,
        hidden_size=32,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=contract.num_attention_heads,
        max_position_embeddings=contract.max_position_embeddings,
        projection_dim=32,
        bos_token_id=models.BOS,
        eos_token_id=models.EOS,
        pad_token_id=models.PAD,
    )
    assert cfg.hidden_act == contract.hidden_act == "quick_gelu"
    return CLIPTextModel(cfg)


def perturb(module, gen):
    """Norm weights are ones and biases zeros at init: move them so a swapped or ignored affine shows."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if torch.all(p == 1):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif torch.all(p == 0):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def tokenizer_cases():
    prompts = [
        "a large red circle at the top left on a blue background",
        "",
        "héllo wörld ✓ 🎨",  # multi-byte UTF-8
        "x" * 78,            # exactly the byte budget
        "y" * 79,            # one byte over: truncated
        "z" * 120 + "ünïcode",  # long prompt: only the first 78 bytes survive
        "a" + "é" * 40,      # the cut at 78 bytes splits a 2-byte character (bytes, not characters, are cut)
    ]
    ids = models.tokenize(prompts)
    return {"seq_len": models.SEQ_LEN, "bos": models.BOS, "eos": models.EOS, "pad": models.PAD,
            "prompts": prompts, "ids": ids.tolist(),
            "generated_by": "models.tokenize(prompts) from ../shared/bench/models.py"}


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    unet = reduced_unet()
    text = reduced_text_encoder()
    perturb(unet, gen)
    perturb(text, gen)
    unet.train()
    text.train()  # dropout is 0 everywhere; train() only to mirror training

    prompts = ["a large red circle at the top left on a blue background", ""]
    ids = models.tokenize(prompts)
    sample = torch.randn(2, 3, 32, 32, generator=gen).requires_grad_(True)
    timesteps = torch.tensor([7.0, 817.5])
    extra = torch.randn(2, 3, 32, generator=gen).requires_grad_(True)

    hidden = text(ids).last_hidden_state
    ctx = torch.cat([hidden, extra], dim=1)
    eps = unet(sample, timesteps, encoder_hidden_states=ctx).sample
    loss = (eps ** 2).mean()
    loss.backward()

    io = {
        "ids": ids.float(),
        "sample": sample.detach(),
        "timesteps": timesteps,
        "extra": extra.detach(),
        "text_hidden": hidden.detach(),
        "eps": eps.detach(),
        "loss": loss.detach().reshape(1),
        "grad.sample": sample.grad,
        "grad.extra": extra.grad,
    }
    for name, p in unet.named_parameters():
        io["grad.unet." + name] = p.grad
    for name, p in text.named_parameters():
        io["grad.text.text_model." + name] = p.grad

    os.makedirs(OUT, exist_ok=True)
    contig = lambda d: {k: v.detach().contiguous() for k, v in d.items()}
    save_file(contig(dict(unet.state_dict())), os.path.join(OUT, "parity_unet.safetensors"))
    # transformers 5 saves CLIPTextModel without the `text_model.` prefix; published checkpoints (and this
    # project) use the prefixed names, which every transformers version loads.
    save_file(contig({"text_model." + k: v for k, v in text.state_dict().items()}),
              os.path.join(OUT, "parity_text_encoder.safetensors"))
    save_file(contig(io), os.path.join(OUT, "parity_io.safetensors"),
              metadata={"loss": "mean(eps ** 2)", "prompts": json.dumps(prompts), "torch": torch.__version__})
    with open(os.path.join(OUT, "parity_unet_config.json"), "w") as f:
        config = dict(unet.config)
        config["_use_default_values"] = sorted(config.get("_use_default_values", []))  # a set: fix the order
        json.dump(config, f, indent=2, sort_keys=True)
    text.config.to_json_file(os.path.join(OUT, "parity_text_config.json"))
    with open(os.path.join(OUT, "parity_tokenizer.json"), "w") as f:
        json.dump(tokenizer_cases(), f, ensure_ascii=False)

    names = [n for n in os.listdir(OUT) if n.startswith("parity")]
    for n in names:
        os.chmod(os.path.join(OUT, n), 0o644)  # safetensors creates files owner-only
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in names)
    print(f"unet params {sum(p.numel() for p in unet.parameters())}, "
          f"text params {sum(p.numel() for p in text.parameters())}, loss {loss.item():.6f}, "
          f"fixtures {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
