"""PyTorch reference rows for `npm run bench`: the guide's MLP and convnet, one process and DDP (gloo,
N processes, one intra-op thread each as torchrun sets), same global batch, synthetic MNIST-shaped data.
Prints one JSON line per row: {"model", "mode", "procs", "samples_per_s"}.

    .venv/bin/python bench/torch_ref.py --model mlp --images 6400 --procs 2 --runs 3
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))


def optimizer(name, params):
    return torch.optim.Adam(params, 1e-3) if name == "mlp" else torch.optim.RMSprop(params, 1e-3)


def epoch(model, opt, x, y, batch, rank=0, procs=1):
    loss_fn = nn.CrossEntropyLoss()
    per = batch // procs
    for start in range(0, x.shape[0], batch):
        xb = x[start + rank * per:start + (rank + 1) * per]
        yb = y[start + rank * per:start + (rank + 1) * per]
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()


def data(images, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(images, 1, 28, 28, generator=g), torch.randint(0, 10, (images,), generator=g)


def single(args):
    torch.manual_seed(0)
    x, y = data(args.images)
    model = make_model(args.model)
    opt = optimizer(args.model, model.parameters())
    epoch(model, opt, x[:640], y[:640], args.batch)
    t0 = time.perf_counter()
    epoch(model, opt, x, y, args.batch)
    return args.images / (time.perf_counter() - t0)


def ddp_worker(rank, args, port, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=args.procs)
    torch.manual_seed(0)
    x, y = data(args.images)
    model = nn.parallel.DistributedDataParallel(make_model(args.model))
    opt = optimizer(args.model, model.parameters())
    epoch(model, opt, x[:640], y[:640], args.batch, rank, args.procs)
    dist.barrier()
    t0 = time.perf_counter()
    epoch(model, opt, x, y, args.batch, rank, args.procs)
    dist.barrier()
    if rank == 0:
        out.put(args.images / (time.perf_counter() - t0))
    dist.destroy_process_group()


def ddp(args, port):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    mp.start_processes(ddp_worker, args=(args, port, out), nprocs=args.procs, start_method="spawn")
    return out.get()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["mlp", "convnet"], default="mlp")
    p.add_argument("--images", type=int, default=6400)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    rows = {"single": [single(args) for _ in range(args.runs)]}
    rows["ddp"] = [ddp(args, 29500 + i + os.getpid() % 1000) for i in range(args.runs)]
    for mode, rates in rows.items():
        procs = 1 if mode == "single" else args.procs
        print(json.dumps({"model": args.model, "mode": mode, "procs": procs, "samples_per_s": statistics.median(rates)}))


if __name__ == "__main__":
    main()
