#!/usr/bin/env python3
"""PyTorch's side of the data-parallel W3 benchmark, for examples/w3_speed.rs: the 784-256-128-10
ReLU MLP, softmax cross-entropy, SGD lr 0.01, f32, a global batch of 256 rows per step cut into one
shard per process; each process one thread (torch.set_num_threads(1)) pinned to its own core.
One process trains the plain model; two or more wrap it in DistributedDataParallel on gloo.

    python reference_ddp.py --processes N [--quick]

Process 0 prints `key<TAB>value` lines (samples_per_second, step_ms); any other line is a note.
The timing matches w3_speed: 20 warm-up steps, blocks of about 0.3 s (the step count chosen by
process 0 and sent to all), the median block.
"""
import argparse, os, socket, statistics, sys, time

GLOBAL_BATCH = 256


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, processes, port, quick):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[rank % len(cores)]})
    distributed = processes > 1
    if distributed:
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=processes
        )
    rows = GLOBAL_BATCH // processes + (1 if rank < GLOBAL_BATCH % processes else 0)
    g = torch.Generator().manual_seed(1 + rank)
    x = torch.randn(rows, 784, generator=g)
    y = torch.randint(0, 10, (rows,), generator=g)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    t = time.perf_counter()
    for _ in range(10):
        step()
    block = 0.05 if quick else 0.3
    steps = torch.tensor([max(1, int(block / ((time.perf_counter() - t) / 10)) + 1)])
    if distributed:
        dist.broadcast(steps, 0)
    steps = int(steps.item())
    walls = []
    for _ in range(3 if quick else 7):
        if distributed:
            dist.barrier()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        walls.append((time.perf_counter() - t) / steps)
    if rank == 0:
        s = statistics.median(walls)
        print(f"# torch {torch.__version__}, {processes} process(es), "
              f"{'DDP gloo' if distributed else 'no DDP'}, {steps} steps per block")
        print(f"samples_per_second\t{GLOBAL_BATCH / s}")
        print(f"step_ms\t{s * 1e3}")
        sys.stdout.flush()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    if a.processes == 1:
        worker(0, 1, None, a.quick)
        return
    import torch.multiprocessing as mp
    mp.spawn(worker, args=(a.processes, free_port(), a.quick), nprocs=a.processes)


if __name__ == "__main__":
    main()
