#!/usr/bin/env python3
"""NumPy's side of W1 and W5, run by examples/bench_table.rs (or by hand).

    python3 benches/reference.py --threads 1 --only W1,W5

Prints one line per case, `label<TAB>median<TAB>min<TAB>max` in seconds per call; the label is
the key bench_table.rs looks up, so keep the two in step. Timed like bench_table.rs: a warm-up
call, then 7 repetitions of enough calls to last >= 0.2 s each.
Lines starting with '#' are notes. If NumPy cannot be imported, it says so in one note and exits 0.
"""
import argparse, math, os, statistics, sys, time


def timed(fn, reps=7, min_rep=0.2):
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    inner = max(1, math.ceil(min_rep / (time.perf_counter() - t0)))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples), min(samples), max(samples)


def emit(label, stats):
    print(label, *(f"{s:.6e}" for s in stats), sep="\t", flush=True)


def w1(np, rng):
    for name, dtype, sizes in (("f32", np.float32, (64, 128, 256, 512, 1024, 2048)),
                               ("f64", np.float64, (1024,))):
        for n in sizes:
            a, b = rng.random((n, n), dtype=dtype), rng.random((n, n), dtype=dtype)
            emit(f"W1 matmul {name} n={n}", timed(lambda: a @ b))
    a, b = rng.random((512, 512), dtype=np.float32), rng.random((512, 512), dtype=np.float32)
    emit("W1 matmul f32 n=512, A transposed", timed(lambda: a.T @ b))
    # A Linear layer's forward, x @ w.T with w stored [out, in]: W3's three layers, and the
    # first at the batch sizes of online inference.
    for m, k, n in ((1, 784, 256), (8, 784, 256), (32, 784, 256), (128, 784, 256),
                    (128, 256, 128), (128, 128, 10)):
        x, w = rng.random((m, k), dtype=np.float32), rng.random((n, k), dtype=np.float32)
        emit(f"W1 x·Wᵀ f32 {m}x{k}x{n}", timed(lambda: x @ w.T))


def w5(np, rng):
    n = 1 << 24
    a = rng.uniform(-1, 1, n).astype(np.float32)
    b = rng.uniform(-1, 1, n).astype(np.float32)
    out = np.empty_like(a)
    emit("W5 add 2^24 vs np.add(out=)", timed(lambda: np.add(a, b, out=out)))
    emit("W5 add 2^24 vs a + b (new)", timed(lambda: a + b))
    emit("W5 relu 2^24 vs np.maximum(out=)", timed(lambda: np.maximum(a, 0, out=out)))
    emit("W5 tanh 2^24 vs np.tanh(out=)", timed(lambda: np.tanh(a, out=out)))
    emit("W5 exp 2^24 vs np.exp(out=)", timed(lambda: np.exp(a, out=out)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--only", default="W1,W5")
    # OpenBLAS's kernel by its core name, e.g. Haswell (AVX2): beside a shendu built without its
    # avx512 feature, the two sides' AVX2 kernels compare on an AVX-512 CPU. By default
    # OpenBLAS picks the kernel for the CPU.
    p.add_argument("--blas-kernel")
    args = p.parse_args()
    # Set before NumPy loads OpenBLAS, which reads them once.
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
    if args.blas_kernel:
        os.environ["OPENBLAS_CORETYPE"] = args.blas_kernel
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
    try:
        import numpy as np
    except ImportError as e:
        print(f"# reference: {sys.executable} cannot import numpy ({e}); shendu's side alone")
        return
    blas = ""
    try:  # which BLAS kernel runs (optional: threadpoolctl may be absent)
        from threadpoolctl import threadpool_info
        blas = "".join(f", {i['internal_api']} {i.get('version')} {i.get('architecture', '')}"
                       for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    print(f"# reference: numpy {np.__version__}{blas}, python {sys.version.split()[0]}, "
          f"threads {args.threads}")
    rng = np.random.default_rng(0)
    only = set(args.only.upper().split(","))
    if "W1" in only:
        w1(np, rng)
    if "W5" in only:
        w5(np, rng)


if __name__ == "__main__":
    main()
