#!/usr/bin/env python3
"""PyTorch eager's side of W6 (see benches/README.md): the digits MLP 64-64-10, ReLU, Adam lr 1e-3,
batch 32, 60 epochs on a seeded 80/20 split of data/digits.csv, pixels / 16.

    python benches/reference_w6.py --threads N [--seeds 5] [--first-seed 0] [--digits data/digits.csv]

Prints `W6_seconds<TAB>median training seconds` and `W6_accuracy<TAB>median test accuracy` over the
seeds; any other line is a note (one per seed). Only the 60 epochs are timed, as in
examples/digits.rs: not loading the file, not the evaluation.
"""
import argparse, os, statistics, sys, time


def train(torch, X, y, seed):
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(X), generator=g)
    n_test = len(X) // 5
    test, train = perm[:n_test], perm[n_test:]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(60):
        idx = train[torch.randperm(len(train), generator=g)]
        for i in range(0, len(idx), 32):
            b = idx[i:i + 32]
            loss = torch.nn.functional.cross_entropy(model(X[b]), y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(X[test]).argmax(1) == y[test]).float().mean().item()
    return elapsed, acc


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--digits", default=os.path.join(here, "..", "data", "digits.csv"))
    args = p.parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"# torch or numpy is not available under {sys.executable} ({e}): shendu's side only")
        return
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {args.threads} thread(s), eager, nn.Linear + optim.Adam")
    data = np.loadtxt(args.digits, delimiter=",", skiprows=1)
    X = torch.tensor(data[:, :64] / 16.0, dtype=torch.float32)
    y = torch.tensor(data[:, 64], dtype=torch.int64)
    times, accs = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        elapsed, acc = train(torch, X, y, seed)
        print(f"# seed {seed}: {elapsed:.3f} s, test accuracy {100 * acc:.2f}%")
        times.append(elapsed)
        accs.append(acc)
    print(f"W6_seconds\t{statistics.median(times)}")
    print(f"W6_accuracy\t{statistics.median(accs)}")


if __name__ == "__main__":
    main()
