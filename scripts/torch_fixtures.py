#!/usr/bin/env python3
"""PyTorch reference fixtures for tests/torch_fixtures.rs ("equal to PyTorch").

Builds the PyTorch equivalents of configs/transformer.yaml and configs/resnet.yaml (each
config's header comment spells its model out) and writes, under tests/fixtures/torch/:

  transformer.weights.safetensors, resnet.weights.safetensors
      the float32 state_dict (without `num_batches_tracked`; batch-norm running statistics as
      initialized, before the step). netdx loads it as `model.weights`; PyTorch loads it with
      `load_state_dict(..., strict=False)`.
  transformer.step.safetensors, resnet.step.safetensors
      one training step computed in float64 from exactly those float32 weights:
        x              float32: token ids [B, T] (transformer), images [B, 1, 16, 16] (resnet)
        y              float32: next tokens [B, T] with -1 where not scored, or labels [B]
        loss           float64 [1]: mean softmax cross-entropy (over scored positions)
        grad.<name>    float64: dloss/d parameter, for every parameter (state_dict names)
        act.<i>        float64: the output of top-level module i of the nn.Sequential, in
                       PyTorch's layout ([B, T, d], [B, C, H, W], [B, n])
        running.<name> float64: batch-norm running_mean / running_var after the training-mode
                       forward (PyTorch updates them during forward)

Run (from any folder; it writes next to itself):  python3 scripts/torch_fixtures.py
Needs the Python packages torch, safetensors and numpy; only this script does: `cargo test`
and .ci/run read the committed files. The output is deterministic: a rerun writes the same
bytes (one CPU thread, seeded generators, no metadata in the files).

Why float32 weights and a float64 reference: netdx computes in f32 on the GPU; judging it
against a reference that itself carries f32 rounding would blur the tolerance. The weights
are rounded to f32 once, and everything after that is exact up to f64 rounding.

Parameters PyTorch initializes to constants (layer-norm and batch-norm affine parameters, the
attention's zero biases) get small seeded noise, so their gradients are not a special case.
"""

import copy
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "torch")


class Position(nn.Module):
    """netdx's `{position: {max_len}}`: a learned position table added to the stream."""

    def __init__(self, max_len, dim, std=0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, dim) * std)

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


class Residual(nn.Sequential):
    """netdx's `{residual: [...]}`: x + f(x), or projection(x) + f(x) with a projection."""

    def __init__(self, *layers, projection=None):
        super().__init__(*layers)
        if projection is not None:
            self.projection = projection

    def forward(self, x):
        # Not super().forward: nn.Sequential would also run `projection`, a registered child.
        f = x
        for name, module in self.named_children():
            if name != "projection":
                f = module(f)
        skip = self.projection(x) if hasattr(self, "projection") else x
        return skip + f


class SelfAttention(nn.MultiheadAttention):
    """netdx's `{attention: {heads, causal}}`: nn.MultiheadAttention called as (x, x, x)."""

    def __init__(self, dim, heads, causal):
        super().__init__(dim, heads, dropout=0.0, batch_first=True)
        self.causal = causal

    def forward(self, x):
        t = x.shape[1]
        mask = None
        if self.causal:
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
        return super().forward(x, x, x, attn_mask=mask, need_weights=False)[0]


def transformer():
    """configs/transformer.yaml."""

    def attention():
        return Residual(nn.LayerNorm(64), SelfAttention(64, 4, causal=True))

    def mlp():
        return Residual(nn.LayerNorm(64), nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64))

    return nn.Sequential(
        nn.Embedding(11, 64),
        Position(64, 64),
        attention(),
        mlp(),
        attention(),
        mlp(),
        nn.LayerNorm(64),
        nn.Linear(64, 11),
    )


def resnet():
    """configs/resnet.yaml."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        Residual(
            nn.Conv2d(8, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.BatchNorm2d(8),
        ),
        nn.ReLU(),
        Residual(
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            projection=nn.Conv2d(8, 16, 1, stride=2),
        ),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def perturb(model, seed):
    """Seeded noise on every parameter PyTorch initializes to a constant."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
                module.weight.add_(0.1 * torch.randn(module.weight.shape, generator=g))
                module.bias.add_(0.1 * torch.randn(module.bias.shape, generator=g))
            if isinstance(module, nn.MultiheadAttention):
                module.in_proj_bias.add_(0.1 * torch.randn(module.in_proj_bias.shape, generator=g))
                b = module.out_proj.bias
                b.add_(0.1 * torch.randn(b.shape, generator=g))


def sort_batch(n, seed, length=8, symbols=10):
    """The built-in `sort` task (src/data/tasks.rs): x = seq[:-1], y = seq[1:], -1 unscored."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n):
        digits = rng.integers(0, symbols, size=length)
        seq = np.concatenate([digits, [symbols], np.sort(digits)])
        x = seq[: 2 * length]
        y = np.where(np.arange(2 * length) >= length, seq[1:], -1)
        xs.append(x)
        ys.append(y)
    return np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32)


def step(model, x, y, inputs, logits_loss):
    """One float64 training-mode forward and backward on a copy of `model`."""
    ref = copy.deepcopy(model).double().train()
    h = inputs
    acts = {}
    for i, module in enumerate(ref):
        h = module(h)
        acts[f"act.{i}"] = h.detach().clone()
    loss = logits_loss(h)
    loss.backward()
    out = {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}
    out["loss"] = loss.detach().reshape(1).clone()
    for name, p in ref.named_parameters():
        out[f"grad.{name}"] = p.grad.detach().clone()
    out.update(acts)
    for name, b in ref.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            out[f"running.{name}"] = b.detach().clone()
    return out


def weights(model):
    """The float32 state_dict without num_batches_tracked, contiguous for safetensors."""
    return {
        k: v.detach().contiguous().clone()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def save(name, model, fixture):
    save_file(weights(model), os.path.join(OUT, f"{name}.weights.safetensors"))
    fixture = {k: v.contiguous() for k, v in fixture.items()}
    save_file(fixture, os.path.join(OUT, f"{name}.step.safetensors"))
    print(f"{name}: loss {fixture['loss'].item():.6f}, {len(fixture)} tensors")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)

    torch.manual_seed(0)
    model = transformer()
    perturb(model, 1)
    x, y = sort_batch(6, seed=2)
    tokens = torch.from_numpy(x).long()
    targets = torch.from_numpy(y).long()

    def next_token_loss(logits):
        flat = logits.reshape(-1, logits.shape[-1])
        return F.cross_entropy(flat, targets.reshape(-1), ignore_index=-1)

    fixture = step(model, x, y, tokens, next_token_loss)
    save("transformer", model, fixture)

    torch.manual_seed(0)
    model = resnet()
    perturb(model, 3)
    g = torch.Generator().manual_seed(4)
    images = torch.rand(6, 1, 16, 16, generator=g)
    labels = torch.randint(0, 10, (6,), generator=g)
    x, y = images.numpy(), labels.numpy().astype(np.float32)
    fixture = step(model, x, y, images.double(), lambda logits: F.cross_entropy(logits, labels))
    save("resnet", model, fixture)


if __name__ == "__main__":
    main()
