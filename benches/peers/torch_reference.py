#!/usr/bin/env python3
"""The `netdx bench` matmul and MLP workloads in PyTorch on CUDA: not a wgpu peer, but what the
same GPU does through its vendor's own libraries (cuBLAS, fp32 with TF32 off), to set beside
netdx's and burn's figures on a GPU.

- square f32 matmul C = A·Bᵀ (as a linear layer's forward), 2n³ FLOP, timed by CUDA events
  over enough back-to-back products to last 20 ms, best of 5;
- MLP 784-256-256-10 (Linear+ReLU, Linear+ReLU, Linear), softmax cross-entropy, plain SGD
  lr 0.01, max(batch, 1024) random rows and labels held on the GPU, batches in order, the loss
  read back to the host every step (`loss.item()`), as `netdx bench` and netdx-peers do.

    python3 benches/peers/torch_reference.py [--quick] > torch.json
"""

import json
import sys
import time

import torch


def matmul_gflops(n, reps):
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


def mlp_steps_per_second(batch, warmup, steps):
    torch.manual_seed(7)
    rows = max(batch, 1024)
    x = torch.rand(rows, 784, device="cuda")
    y = torch.randint(0, 10, (rows,), device="cuda")
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    ).cuda()
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

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        last = step()
    return steps / (time.perf_counter() - t), last


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
    print(
        json.dumps(
            {
                "peer": "pytorch-cuda",
                "torch_version": torch.__version__,
                "adapter": torch.cuda.get_device_name(),
                "tf32": False,
                "matmul": matmul,
                "mlp": mlp,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
