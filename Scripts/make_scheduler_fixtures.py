"""Records diffusers' DDPM/DDIM scheduler numbers for the Swift parity tests (Tests/DiffusionTests).

usage: /root/bench-venv/bin/python Scripts/make_scheduler_fixtures.py
writes Tests/DiffusionTests/Fixtures/schedulers.json:
  schedules  betas and alphas_cumprod (all T = 1000 values) of linear, scaled_linear, squaredcos_cap_v2
  add_noise  add_noise(x0, noise, timesteps) with one timestep per row, for every beta schedule
  timesteps  set_timesteps(N) of the DDPM and DDIM configurations for several N
  steps      per-step inputs and outputs of step(model_output, t, sample): DDPM (clip_sample on and off,
             its variance noise drawn from a seeded generator and recorded), DDIM (eta 0, and eta 0.5 with
             variance_noise passed explicitly), for every beta schedule
  v_steps    the same step records with prediction_type "v_prediction" (linear schedule: DDPM clip on, DDIM
             eta 0 and 0.5, and DDIM with clip_sample and use_clipped_model_output, as generation runs it)
  velocity   get_velocity(x0, noise, timesteps) (the v-prediction training target), every beta schedule
  guided_loop the baseline loop of shared/bench/bench.py (DDIM, CFG with uncond rows first) run with an
             analytic denoiser the Swift test re-implements, from recorded initial noise
Scheduler configurations are those of shared/bench/models.py `make_schedulers`.
Values are float32, written as the shortest decimal that round-trips.
"""
import json
import os

import numpy as np
import torch
import diffusers
from diffusers import DDIMScheduler, DDPMScheduler

T = 1000
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DiffusionTests", "Fixtures",
                   "schedulers.json")

# beta_schedule name -> extra constructor arguments (scaled_linear with Stable Diffusion's range, as the Swift default)
SCHEDULES = {
    "linear": dict(beta_start=0.0001, beta_end=0.02),
    "scaled_linear": dict(beta_start=0.00085, beta_end=0.012),
    "squaredcos_cap_v2": dict(),
}


def f32(a):
    """float32 values as the shortest decimal strings' floats (exact when parsed back to float32)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    return [float(np.format_float_positional(v, unique=True, trim="-")) for v in a]


def ddpm(name, clip_sample=True, prediction_type="epsilon"):
    # models.py: DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon"),
    # i.e. diffusers' defaults: clip_sample=True, variance_type="fixed_small", leading spacing, steps_offset=0.
    return DDPMScheduler(num_train_timesteps=T, beta_schedule=name, prediction_type=prediction_type,
                         clip_sample=clip_sample, **SCHEDULES[name])


def ddim(name, prediction_type="epsilon", clip_sample=False):
    # models.py: clip_sample=False, set_alpha_to_one=False, steps_offset=1 (leading spacing by default).
    return DDIMScheduler(num_train_timesteps=T, beta_schedule=name, prediction_type=prediction_type,
                         clip_sample=clip_sample, set_alpha_to_one=False, steps_offset=1, **SCHEDULES[name])


def schedules():
    out = []
    for name, kw in SCHEDULES.items():
        s = ddpm(name)
        assert torch.equal(s.alphas_cumprod, ddim(name).alphas_cumprod)
        out.append(dict(beta_schedule=name, **kw, betas=f32(s.betas), alphas_cumprod=f32(s.alphas_cumprod)))
    return out


def forward_process(seed, key, fn):
    """For every beta schedule: random x0 and noise of shape (4, 2, 2, 2), one timestep per row, and
    fn(scheduler, x0, noise, t) recorded under `key`."""
    out = []
    g = torch.Generator().manual_seed(seed)
    for name in SCHEDULES:
        x0 = torch.rand(4, 2, 2, 2, generator=g) * 2 - 1
        noise = torch.randn(4, 2, 2, 2, generator=g)
        t = torch.tensor([0, 1, 500, 999])
        out.append({"beta_schedule": name, "timesteps": t.tolist(), "x0": f32(x0), "noise": f32(noise),
                    key: f32(fn(ddpm(name), x0, noise, t))})
    return out


def add_noise():
    return forward_process(7, "noisy", lambda s, x0, noise, t: s.add_noise(x0, noise, t))


def timesteps():
    out = []
    for kind, make, counts in [("ddpm", ddpm, [1, 3, 7, 10, 50, 333, 1000]),
                               ("ddim", ddim, [1, 3, 7, 10, 50, 333, 500])]:
        s = make("linear")
        for n in counts:
            s.set_timesteps(n)
            out.append(dict(scheduler=kind, steps_offset=s.config.steps_offset, num_inference_steps=n,
                            timesteps=[int(t) for t in s.timesteps]))
    return out


SHAPE = (2, 2, 2, 2)


def step_records(kind, name, n, record_indices, seed, clip_sample=True, eta=0.0, prediction_type="epsilon",
                 ddim_clip=False, use_clipped=False):
    """Runs n steps of a chain with random model outputs; records the steps at record_indices."""
    s = ddpm(name, clip_sample, prediction_type) if kind == "ddpm" else ddim(name, prediction_type, ddim_clip)
    s.set_timesteps(n)
    g = torch.Generator().manual_seed(seed)
    # 1.5 x unit noise so that clip_sample (range 1) cuts some predicted x0 values at every timestep.
    sample = 1.5 * torch.randn(SHAPE, generator=g)
    recs = []
    for i, t in enumerate(s.timesteps):
        t = int(t)
        eps = torch.randn(SHAPE, generator=g)
        noise = None
        if kind == "ddpm":
            # DDPM draws its variance noise with randn_tensor(shape, generator); a fresh generator with a known
            # seed gives the same draw, recorded here and fed to the Swift side.
            nseed = seed * 10_000 + i
            out = s.step(eps, t, sample, generator=torch.Generator().manual_seed(nseed))
            if t > 0:
                noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(nseed))
                check = s.step(eps, t, sample, generator=torch.Generator().manual_seed(nseed))
                assert torch.equal(check.prev_sample, out.prev_sample)
        else:
            if eta > 0:
                noise = torch.randn(SHAPE, generator=g)
                out = s.step(eps, t, sample, eta=eta, variance_noise=noise)
            else:
                out = s.step(eps, t, sample, eta=eta, use_clipped_model_output=use_clipped)
        if i in record_indices:
            recs.append(dict(index=i, timestep=t, sample=f32(sample), model_output=f32(eps),
                             variance_noise=None if noise is None else f32(noise),
                             prev_sample=f32(out.prev_sample), pred_original_sample=f32(out.pred_original_sample)))
        sample = out.prev_sample
    return dict(scheduler=kind, beta_schedule=name, clip_sample=bool(s.config.clip_sample), eta=eta,
                prediction_type=prediction_type, use_clipped_model_output=use_clipped, num_inference_steps=n,
                shape=list(SHAPE), records=recs)


def steps():
    out = []
    seed = 1
    for name in SCHEDULES:
        for kind, kw in [("ddpm", dict(clip_sample=True)), ("ddpm", dict(clip_sample=False)),
                         ("ddim", dict(eta=0.0)), ("ddim", dict(eta=0.5))]:
            out.append(step_records(kind, name, 10, set(range(10)), seed, **kw))
            seed += 1
        # 1000 steps: the last ones have tiny 1 - alpha_cumprod ratios (cancellation in float32).
        out.append(step_records("ddpm", name, 1000, {0, 1, 500, 997, 998, 999}, seed))
        seed += 1
        out.append(step_records("ddim", name, 500, {0, 250, 498, 499}, seed, eta=1.0))
        seed += 1
    return out


def v_steps():
    out = []
    for seed, (kind, kw) in enumerate([("ddpm", dict(clip_sample=True)), ("ddim", dict(eta=0.0)),
                                       ("ddim", dict(eta=0.5)),
                                       ("ddim", dict(eta=0.0, ddim_clip=True, use_clipped=True))], start=100):
        out.append(step_records(kind, "linear", 10, set(range(10)), seed, prediction_type="v_prediction", **kw))
    return out


def velocity():
    return forward_process(8, "velocity", lambda s, x0, noise, t: s.get_velocity(x0, noise, t))


def analytic_eps(x, t, c):
    """The stand-in network of guided_loop; Sampler tests compute the same function in Swift.
    c: per-row condition value (0 for the unconditional rows)."""
    return 0.9 * torch.sin(x + 0.001 * t) + c.view(-1, 1, 1, 1)


def guided_loop():
    """bench.py's ddim loop with eps from analytic_eps: rows [uncond ×N, cond ×N], eps = eu + g(ec − eu)."""
    n, steps, guidance = 2, 10, 3.0
    s = ddim("linear")
    s.set_timesteps(steps)
    x = torch.randn(n, 3, 4, 4, generator=torch.Generator().manual_seed(1234))
    x_init = x.clone()
    cond = torch.tensor([0.1 * (i + 1) for i in range(n)])
    c = torch.cat([torch.zeros(n), cond])
    for t in s.timesteps:
        inp = torch.cat([x, x])
        eps = analytic_eps(inp, int(t), c)
        eu, ec = eps.chunk(2)
        eps = eu + guidance * (ec - eu)
        x = s.step(eps, t, x).prev_sample
    return dict(scheduler="ddim", beta_schedule="linear", num_inference_steps=steps, guidance_scale=guidance,
                shape=[n, 3, 4, 4], condition=f32(cond), initial_noise=f32(x_init), result=f32(x))


def main():
    fixture = dict(
        generator=f"Scripts/make_scheduler_fixtures.py with diffusers {diffusers.__version__}, torch {torch.__version__}",
        num_train_timesteps=T,
        schedules=schedules(),
        add_noise=add_noise(),
        timesteps=timesteps(),
        steps=steps(),
        v_steps=v_steps(),
        velocity=velocity(),
        guided_loop=guided_loop(),
    )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    os.replace(tmp, OUT)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
