#!/usr/bin/env python3
"""PyTorch eager's side of W2, W3 and W4 (see benches/README.md), for examples/bench_tape.rs.

    python benches/reference_torch.py --threads N

Prints one line per figure, `key<TAB>median seconds per call`; any other line is a note. The
timing matches bench_tape: one warm-up call, then 7 repetitions of at least 0.2 s each.
"""
import argparse, statistics, sys, time


def timed(fn):
    """Median seconds per call of each phase fn returns, and of the whole call (last)."""
    fn()
    t = time.perf_counter()
    fn()
    inner = max(1, int(0.2 / (time.perf_counter() - t)) + 1)
    reps = []
    for _ in range(7):
        sums, t = None, time.perf_counter()
        for _ in range(inner):
            phases = fn()
            sums = list(phases) if sums is None else [s + p for s, p in zip(sums, phases)]
        reps.append([s / inner for s in sums] + [(time.perf_counter() - t) / inner])
    return [statistics.median(r[k] for r in reps) for k in range(len(reps[0]))]


def mlp(torch, sizes, act):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), act()]
    return torch.nn.Sequential(*layers[:-1])


def trainer(torch, model, x, y, loss_fn, lr):
    """One SGD step, timing [forward + loss, backward] as bench_tape does."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        del loss
        t2 = time.perf_counter()
        opt.step()
        return t1 - t0, t2 - t1

    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"# torch is not available under {sys.executable} ({e}): shendu's side only")
        return
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {args.threads} thread(s) (W2: 1), eager, nn.Linear + optim.SGD")

    torch.set_num_threads(1)  # W2 is a one-thread workload
    x = torch.rand(10, 2) * 12 - 6
    y = (torch.rand(10, 1) > 0.5).float()
    step = trainer(torch, mlp(torch, [2, 8, 8, 1], torch.nn.Tanh), x, y,
                   torch.nn.functional.binary_cross_entropy_with_logits, 0.03)
    print(f"W2_step\t{timed(step)[2]}")

    torch.set_num_threads(args.threads)
    model = mlp(torch, [784, 256, 128, 10], torch.nn.ReLU)
    x = torch.randn(128, 784)
    labels = torch.randint(0, 10, (128,))
    fwd, bwd, whole = timed(trainer(torch, model, x, labels, torch.nn.functional.cross_entropy, 0.01))
    print(f"W3_step\t{whole}\nW3_forward\t{fwd}\nW3_backward\t{bwd}")

    def infer():
        with torch.no_grad():
            model(x)
        return ()

    print(f"W4_forward\t{timed(infer)[0]}")


if __name__ == "__main__":
    main()
