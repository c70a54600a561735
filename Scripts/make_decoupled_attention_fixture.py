"""Writes Tests/DiffusionTests/Fixtures/parity_decoupled.safetensors: the parity U-Net of make_parity_fixtures.py
with diffusers' IP-Adapter processor (`IPAdapterAttnProcessor`, num_tokens = 3, scale 1) on every cross-attention
layer, i.e. the decoupled cross-attention that `UNet2DConditionModel.attach` gives the Swift U-Net. Run after
make_parity_fixtures.py, from anywhere, with the bench venv (torch, diffusers, safetensors):
    /root/bench-venv/bin/python Scripts/make_decoupled_attention_fixture.py
Inputs are parity_io's sample, timesteps and context (text_hidden followed by its 3 extra tokens): diffusers'
processor splits the last num_tokens tokens off a plain context exactly as the Swift branch does.
    eps  = UNet2DConditionModel(sample, timesteps, ctx).sample  with the IP-Adapter processors
    loss = mean(eps ** 2)
The file holds each branch's weights under its layer's name (`down_blocks.0.attentions.0.transformer_blocks.0.attn2`
+ `.to_k.weight` / `.to_v.weight`: diffusers' to_k_ip[0] / to_v_ip[0]), eps, loss and d(loss)/d(branch weights,
extra tokens).
"""
import json
import os

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor, IPAdapterAttnProcessor
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures")
TOKENS = 3


def main():
    with open(os.path.join(FIXTURES, "parity_unet_config.json")) as f:
        config = json.load(f)
    unet = UNet2DConditionModel.from_config(config)
    unet.load_state_dict(load_file(os.path.join(FIXTURES, "parity_unet.safetensors")))
    io = load_file(os.path.join(FIXTURES, "parity_io.safetensors"))
    gen = torch.Generator().manual_seed(7)

    processors, branches = {}, {}
    for name, module in unet.attn_processors.items():
        if name.endswith("attn2.processor"):
            attn = unet.get_submodule(name[: -len(".processor")])
            proc = IPAdapterAttnProcessor(hidden_size=attn.to_k.out_features,
                                          cross_attention_dim=attn.to_k.in_features, num_tokens=(TOKENS,), scale=1.0)
            with torch.no_grad():  # random, not copies of the text's K/V, so a swapped branch would show
                for layer in (proc.to_k_ip[0], proc.to_v_ip[0]):
                    layer.weight.copy_(0.3 * torch.randn(layer.weight.shape, generator=gen))
            processors[name] = proc
            branches[name[: -len(".processor")]] = proc
        else:
            processors[name] = AttnProcessor()
    unet.set_attn_processor(processors)

    extra = io["extra"].clone().requires_grad_(True)
    ctx = torch.cat([io["text_hidden"], extra], dim=1)
    eps = unet(io["sample"], io["timesteps"], encoder_hidden_states=ctx).sample
    loss = (eps ** 2).mean()
    loss.backward()

    out = {"eps": eps.detach(), "loss": loss.detach().reshape(1), "grad.extra": extra.grad}
    for path, proc in branches.items():
        for key, layer in (("to_k", proc.to_k_ip[0]), ("to_v", proc.to_v_ip[0])):
            out[f"{path}.{key}.weight"] = layer.weight.detach()
            out[f"grad.{path}.{key}.weight"] = layer.weight.grad
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(FIXTURES, "parity_decoupled.safetensors"),
              metadata={"tokens": str(TOKENS), "layers": str(len(branches))})
    print(f"wrote parity_decoupled.safetensors: {len(branches)} branches, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
