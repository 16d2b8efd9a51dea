#!/usr/bin/env python3
"""PyTorch eager's side of W3's peak-RSS rows (see benches/README.md), for examples/bench_nn.rs:
200 W3 steps (784-256-128-10, ReLU, cross-entropy, batch 128) with torch.optim.Adam, lr 1e-3.

    python benches/reference_rss_torch.py --threads N

Prints `W3_rss_kib<TAB>peak RSS of the process` (VmHWM) and `W3_rss_base_kib<TAB>RSS after
importing torch, before building anything` (VmRSS), both in KiB from /proc/self/status, so Linux
only; any other line is a note. Run it in a fresh process: the peak is the whole process's.
"""
import argparse, sys

# The same W3 network as the timing rows (this script runs from its own folder, so it imports).
from reference_torch import mlp


def status_kib(field):
    """A kB field of /proc/self/status (VmRSS, VmHWM) as an int, or None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name == field:
                    return int(value.split()[0])
    except OSError:
        pass
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"# torch is not available under {sys.executable} ({e}): shendu's side only")
        return
    # Read here, so that the growth counts the model, the batch, Adam's state and the threads
    # but not the libraries torch loads on import.
    base = status_kib("VmRSS")
    if base is None:
        print("# reference: no VmRSS in /proc/self/status (not Linux?), so no torch RSS")
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {args.threads} thread(s), eager, nn.Linear + optim.Adam")
    model = mlp(torch, [784, 256, 128, 10], torch.nn.ReLU)
    x = torch.randn(128, 784)
    labels = torch.randint(0, 10, (128,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(200):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
    peak = status_kib("VmHWM")
    if peak is None:
        print("# reference: no VmHWM in /proc/self/status, so no torch RSS")
        return
    print(f"W3_rss_kib\t{peak}\nW3_rss_base_kib\t{base}")


if __name__ == "__main__":
    main()
