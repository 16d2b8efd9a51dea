#!/usr/bin/env python3
"""JAX's side of W2, W3 and W4 (see benches/README.md), for examples/bench_tape.rs: the same
networks as reference_torch.py, each training step one `jax.jit`-compiled function (forward, loss,
gradient and SGD update, the parameters donated so that XLA may update them in place), as a JAX
user writes it.

    python benches/reference_jax.py --threads N

Prints one line per figure, `key<TAB>median seconds per call`; any other line is a note. The
timing matches bench_tape: one warm-up call (which also compiles), then 7 repetitions of at least
0.2 s each, every call waited for with block_until_ready.
"""
import argparse, os, sys

# The same timing as the PyTorch side (this script runs from its own folder, so it imports).
from reference_torch import timed as timed_phases


def timed(fn):
    """Median seconds per call of fn over 7 repetitions of at least 0.2 s (fn has no phases)."""

    def call():
        fn()
        return ()

    return timed_phases(call)[-1]


def init(rng, sizes):
    """Weights and biases drawn as torch.nn.Linear draws them: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    import numpy as np
    import jax.numpy as jnp

    params = []
    for a, b in zip(sizes, sizes[1:]):
        bound = 1.0 / np.sqrt(a)
        w = rng.uniform(-bound, bound, (a, b)).astype(np.float32)
        c = rng.uniform(-bound, bound, (b,)).astype(np.float32)
        params.append((jnp.asarray(w), jnp.asarray(c)))
    return params


def forward(jnp, params, x, act):
    for w, b in params[:-1]:
        x = act(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def trainer(jax, params, x, y, loss_fn, act, lr):
    """A closure running one jitted SGD step on the parameters it holds."""
    jnp = jax.numpy

    def loss(params, x, y):
        return loss_fn(forward(jnp, params, x, act), y)

    def step(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), value

    step = jax.jit(step, donate_argnums=0)
    state = {"params": params}

    def run():
        state["params"], value = step(state["params"], x, y)
        value.block_until_ready()

    return run


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.threads == 1:
        # XLA's CPU backend: one thread for its own kernels and for Eigen's. Set before jax loads.
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    try:
        import jax
        import numpy as np
    except ImportError as e:
        print(f"# jax is not available under {sys.executable} ({e}): no JAX column")
        return
    jax.config.update("jax_platforms", "cpu")
    jnp = jax.numpy
    print(f"# jax {jax.__version__}, {args.threads} thread(s), jax.jit of the whole step, parameters donated")
    rng = np.random.default_rng(0)

    def bce(logits, y):
        # Mean binary cross-entropy with logits, in its stable form.
        return jnp.mean(jnp.maximum(logits, 0) - logits * y + jnp.log1p(jnp.exp(-jnp.abs(logits))))

    def cross_entropy(logits, labels):
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    x2 = jnp.asarray(rng.uniform(-6, 6, (10, 2)).astype(np.float32))
    y2 = jnp.asarray((rng.uniform(0, 1, (10, 1)) > 0.5).astype(np.float32))
    w2 = trainer(jax, init(rng, [2, 8, 8, 1]), x2, y2, bce, jnp.tanh, 0.03)
    print(f"W2_step\t{timed(w2)}")

    params = init(rng, [784, 256, 128, 10])
    x3 = jnp.asarray(rng.standard_normal((128, 784)).astype(np.float32))
    labels = jnp.asarray(rng.integers(0, 10, (128,)))
    relu = lambda v: jnp.maximum(v, 0)
    w3 = trainer(jax, params, x3, labels, cross_entropy, relu, 0.01)
    print(f"W3_step\t{timed(w3)}")

    params = init(rng, [784, 256, 128, 10])
    infer = jax.jit(lambda params, x: forward(jnp, params, x, relu))

    def w4():
        infer(params, x3).block_until_ready()

    print(f"W4_forward\t{timed(w4)}")


if __name__ == "__main__":
    main()
