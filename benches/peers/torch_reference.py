#!/usr/bin/env python3
"""The `netdx bench` matmul, MLP and transformer workloads in PyTorch: on CUDA not a wgpu peer
but what the same GPU does through its vendor's own libraries (cuBLAS, fp32 with TF32 off), to
set beside netdx's and burn's figures on a GPU; without CUDA on the CPU (all its cores), the
figure to set beside netdx on a software adapter of the same machine.

- square f32 matmul C = A·Bᵀ (as a linear layer's forward), 2n³ FLOP, timed by CUDA events
  over enough back-to-back products to last 20 ms, best of 5;
- MLP 784-256-256-10 (Linear+ReLU, Linear+ReLU, Linear), softmax cross-entropy, plain SGD
  lr 0.01, max(batch, 1024) random rows and labels held on the GPU, batches in order, the loss
  read back to the host every step (`loss.item()`), as `netdx bench` and netdx-peers do;
- the transformer of configs/transformer.yaml as `netdx bench` trains it: token embedding
  (vocabulary 11, d = 64) and learned positions (context 64), two pre-LN residual blocks of
  causal 4-head `nn.MultiheadAttention` and a GELU MLP of 256, a final layer norm and a linear
  head, every next token scored by cross-entropy, AdamW lr 0.001 weight decay 0.01, batch 32 of
  random tokens held on the device, the loss read back every step; tokens/s = batch × context ×
  steps/s.

    python3 benches/peers/torch_reference.py [--quick] > torch.json
"""

import json
import os
import sys
import time

import torch

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(n, reps):
    if DEVICE == "cpu":
        return matmul_gflops_cpu(n, reps)
    g = torch.Generator(device="cuda").manual_seed(n)
    a = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    b = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    for _ in range(3):
        c = a @ b.T
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    c = a @ b.T
    end.record()
    end.synchronize()
    launches = max(1, min(256, int(0.02 / max(start.elapsed_time(end) * 1e-3, 1e-7)) + 1))
    best = float("inf")
    for _ in range(reps):
        start.record()
        for _ in range(launches):
            c = a @ b.T
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) * 1e-3 / launches)
    del c
    return 2.0 * n**3 / best / 1e9


def matmul_gflops_cpu(n, reps):
    g = torch.Generator().manual_seed(n)
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    c = a @ b.T
    t = time.perf_counter()
    c = a @ b.T
    launches = max(1, min(256, int(0.02 / max(time.perf_counter() - t, 1e-7)) + 1))
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(launches):
            c = a @ b.T
        best = min(best, (time.perf_counter() - t) / launches)
    del c
    return 2.0 * n**3 / best / 1e9


def timed(step, warmup, steps):
    """Steps per second of `step` after `warmup` untimed ones, and its last loss."""
    for _ in range(warmup):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        last = step()
    return steps / (time.perf_counter() - t), last


def mlp_steps_per_second(batch, warmup, steps):
    torch.manual_seed(7)
    rows = max(batch, 1024)
    x = torch.rand(rows, 784, device=DEVICE)
    y = torch.randint(0, 10, (rows,), device=DEVICE)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    ).to(DEVICE)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    cursor = 0

    def step():
        nonlocal cursor
        start = 0 if cursor + batch > rows else cursor
        cursor = start + batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[start : start + batch]), y[start : start + batch])
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step, warmup, steps)


class Block(torch.nn.Module):
    """One transformer layer: two pre-LN residual blocks, causal attention and then the MLP."""

    def __init__(self, d, heads, context):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(d)
        self.attention = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d)
        )
        mask = torch.triu(torch.ones(context, context, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attention(h, h, h, attn_mask=self.mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


def transformer_steps_per_second(batch, context, warmup, steps):
    torch.manual_seed(11)
    vocab, d, heads = 11, 64, 4
    model = torch.nn.ModuleDict(
        {
            "embedding": torch.nn.Embedding(vocab, d),
            "blocks": torch.nn.Sequential(Block(d, heads, context), Block(d, heads, context)),
            "ln": torch.nn.LayerNorm(d),
            "head": torch.nn.Linear(d, vocab),
        }
    ).to(DEVICE)
    positions = torch.nn.Parameter(torch.randn(context, d, device=DEVICE) * 0.02)
    params = list(model.parameters()) + [positions]
    opt = torch.optim.AdamW(params, lr=0.001, weight_decay=0.01)
    rows = max(batch, 1024)
    tokens = torch.randint(0, vocab - 1, (rows, context + 1), device=DEVICE)
    cursor = 0

    def step():
        nonlocal cursor
        start = 0 if cursor + batch > rows else cursor
        cursor = start + batch
        x, y = tokens[start : start + batch, :-1], tokens[start : start + batch, 1:]
        opt.zero_grad(set_to_none=True)
        h = model["blocks"](model["embedding"](x) + positions)
        logits = model["head"](model["ln"](h))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step, warmup, steps)


def adapter():
    if DEVICE == "cuda":
        return torch.cuda.get_device_name()
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def main():
    quick = "--quick" in sys.argv[1:]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sizes = [256, 512] if quick else [256, 512, 1024, 2048, 4096]
    matmul = []
    for n in sizes:
        gflops = matmul_gflops(n, 2 if quick else 5)
        print(f"matmul n = {n}: {gflops:.1f} GFLOP/s", file=sys.stderr)
        matmul.append({"n": n, "gflops": gflops})
    mlp = []
    for batch in [128, 1024]:
        rate, loss = mlp_steps_per_second(batch, 20, 50 if quick else 500)
        print(f"MLP batch {batch}: {rate:.1f} steps/s (last loss {loss:.4f})", file=sys.stderr)
        mlp.append({"batch": batch, "steps_per_second": rate})
    batch, context = 32, 64
    rate, loss = transformer_steps_per_second(batch, context, 5, 20 if quick else 200)
    print(
        f"transformer batch {batch} × context {context}: {rate:.2f} steps/s, "
        f"{rate * batch * context:.0f} tokens/s (last loss {loss:.4f})",
        file=sys.stderr,
    )
    transformer = {
        "batch": batch,
        "context": context,
        "steps_per_second": rate,
        "tokens_per_second": rate * batch * context,
    }
    print(
        json.dumps(
            {
                "peer": f"pytorch-{DEVICE}",
                "torch_version": torch.__version__,
                "adapter": adapter(),
                "tf32": False,
                "matmul": matmul,
                "mlp": mlp,
                "transformer": transformer,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
