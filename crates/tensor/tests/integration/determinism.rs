//! The same inputs give the same bits whatever the size of the rayon pool: parallel work is cut
//! into chunks by length, never by thread count. Inputs are large enough (2^20 elements, a
//! 512 × 512 product) that the parallel paths run; each result is compared bit for bit across
//! pools of 1, 2 and 3 threads and the global pool.

use crate::common;

use std::error::Error;

use common::rng;
use shendu_tensor::{Correction, Element, Tensor};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// The results of `f` run in pools of 1, 2 and 3 threads and on the global pool.
fn on_pools<R: Send>(f: impl Fn() -> R + Send + Sync) -> Result<Vec<R>> {
    let mut out = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        out.push(pool.install(&f));
    }
    out.push(f());
    Ok(out)
}

/// Asserts every run produced the same bits as the first.
#[track_caller]
fn assert_same_bits<T: Element>(what: &str, runs: &[Tensor<T>]) {
    let first = runs[0].to_vec();
    for (r, run) in runs.iter().enumerate().skip(1) {
        assert_eq!(run.shape(), runs[0].shape(), "{what}: shapes differ");
        let v = run.to_vec();
        let differ = first
            .iter()
            .zip(&v)
            .filter(|(a, b)| a.to_f64_exact().to_bits() != b.to_f64_exact().to_bits())
            .count();
        assert_eq!(
            differ, 0,
            "{what}: run {r} differs from the 1-thread run in {differ} elements"
        );
    }
}

fn big_f32() -> Tensor<f32> {
    Tensor::rand_normal([1024, 1024], 0.5, 2.0, &mut rng(11))
}

#[test]
fn whole_tensor_reductions_do_not_depend_on_the_thread_count() -> Result {
    let x = big_f32();
    assert_same_bits("sum_all", &on_pools(|| x.sum_all())?);
    assert_same_bits("mean_all", &on_pools(|| x.mean_all())?);
    assert_same_bits("var_all", &on_pools(|| x.var_all(Correction(1)))?);
    assert_same_bits("max_all", &on_pools(|| x.max_all())?);
    let x64: Tensor<f64> = Tensor::rand_normal([1 << 21], 0.0, 1.0, &mut rng(12));
    assert_same_bits("sum_all f64", &on_pools(|| x64.sum_all())?);
    // A sum over a transposed view, whose fold is strided.
    let xt = x.t();
    assert_same_bits("sum_all of a transpose", &on_pools(|| xt.sum_all())?);
    // The sum is a sum: sanity check against f64 to catch a kernel that is deterministically wrong.
    let exact: f64 = x.to_vec().iter().map(|&v| v as f64).sum();
    let got = x.sum_all().item() as f64;
    assert!(
        (got - exact).abs() < 1e-4 * x.abs().sum_all().item() as f64,
        "sum_all {got} vs {exact}"
    );
    Ok(())
}

#[test]
fn axis_reductions_do_not_depend_on_the_thread_count() -> Result {
    let x = big_f32();
    assert_same_bits("sum(0)", &on_pools(|| x.sum(0, false))?);
    assert_same_bits("sum(-1)", &on_pools(|| x.sum(-1, false))?);
    assert_same_bits("mean(0)", &on_pools(|| x.mean(0, true))?);
    assert_same_bits("var(-1)", &on_pools(|| x.var(-1, Correction(1), false))?);
    assert_same_bits("max(0)", &on_pools(|| x.max(0, false))?);
    assert_same_bits("log_sum_exp(-1)", &on_pools(|| x.log_sum_exp(-1, false))?);
    // Few long rows (each output folds 2^18 elements) and a transposed layout.
    let long = x.reshape([4, 1 << 18]);
    assert_same_bits("sum of long rows", &on_pools(|| long.sum(1, false))?);
    let xt = x.t();
    assert_same_bits("sum(0) of a transpose", &on_pools(|| xt.sum(0, false))?);
    assert_same_bits("sum(-1) of a transpose", &on_pools(|| xt.sum(-1, false))?);
    // A rank-3 view with the middle axis folded.
    let cube = x.reshape([64, 128, 128]);
    assert_same_bits(
        "sum over the middle axis",
        &on_pools(|| cube.sum(1, false))?,
    );
    Ok(())
}

#[test]
fn softmax_does_not_depend_on_the_thread_count() -> Result {
    let x = big_f32();
    assert_same_bits("softmax(-1)", &on_pools(|| x.softmax(-1))?);
    assert_same_bits("softmax(0)", &on_pools(|| x.softmax(0))?);
    assert_same_bits("log_softmax(-1)", &on_pools(|| x.log_softmax(-1))?);
    // One very long row.
    let row = x.reshape([1, 1 << 20]);
    assert_same_bits("softmax of one long row", &on_pools(|| row.softmax(-1))?);
    Ok(())
}

#[test]
fn elementwise_and_in_place_ops_do_not_depend_on_the_thread_count() -> Result {
    let x = big_f32();
    let y = Tensor::rand_uniform([1024], -1.0f32, 1.0, &mut rng(13));
    assert_same_bits("add with broadcast", &on_pools(|| x.add(&y))?);
    assert_same_bits("sigmoid of a transpose", &on_pools(|| x.t().sigmoid())?);
    assert_same_bits(
        "scaled_add_",
        &on_pools(|| {
            let mut w = x.clone();
            w.scaled_add_(&y, 0.1);
            w
        })?,
    );
    Ok(())
}

#[test]
fn matmul_does_not_depend_on_the_thread_count() -> Result {
    let n = 512;
    let a = Tensor::rand_normal([n, n], 0.0f32, 1.0, &mut rng(14));
    let b = Tensor::rand_normal([n, n], 0.0f32, 1.0, &mut rng(15));
    assert_same_bits("matmul 512", &on_pools(|| a.matmul(&b))?);
    assert_same_bits(
        "matmul 512 with a transposed operand",
        &on_pools(|| a.matmul(&b.t()))?,
    );
    // An odd size, and a batch of small products spread over the pool matrix by matrix.
    let c = Tensor::rand_normal([300, 517], 0.0f64, 1.0, &mut rng(16));
    let d = Tensor::rand_normal([517, 301], 0.0f64, 1.0, &mut rng(17));
    assert_same_bits("matmul 300x517x301 f64", &on_pools(|| c.matmul(&d))?);
    // A layer's x·Wᵀ (a transposed weight, divided into column blocks), and a tall product of
    // one column block, which the kernel divides by rows.
    let x = Tensor::rand_normal([128, 784], 0.0f32, 1.0, &mut rng(19));
    let w = Tensor::rand_normal([256, 784], 0.0f32, 1.0, &mut rng(20));
    assert_same_bits("x·wᵀ 128x784x256", &on_pools(|| x.matmul(&w.t()))?);
    // A transposed left operand, which the kernel packs, in a product left whole to its own
    // division: a square one, and a weight's gradient gᵀ·x.
    assert_same_bits(
        "matmul 512 with a transposed left operand",
        &on_pools(|| a.t().matmul(&b))?,
    );
    let g = Tensor::rand_normal([128, 256], 0.0f32, 1.0, &mut rng(23));
    assert_same_bits("gᵀ·x 256x128x784", &on_pools(|| g.t().matmul(&x))?);
    // The smallest product a CPU without AVX-512 divides among threads: two column blocks.
    let small = Tensor::rand_normal([128, 128], 0.0f32, 1.0, &mut rng(24));
    assert_same_bits("matmul 128", &on_pools(|| small.matmul(&small.t()))?);
    let tall = Tensor::rand_normal([4096, 64], 0.0f32, 1.0, &mut rng(21));
    let square = Tensor::rand_normal([64, 64], 0.0f32, 1.0, &mut rng(22));
    assert_same_bits("matmul 4096x64x64", &on_pools(|| tall.matmul(&square))?);
    let batch = Tensor::rand_normal([256, 16, 16], 0.0f32, 1.0, &mut rng(18));
    assert_same_bits("batched 16x16", &on_pools(|| batch.matmul(&batch.t()))?);
    // And it is a product: one entry checked in f64.
    let p = a.matmul(&b);
    let (av, bv) = (a.to_vec(), b.to_vec());
    let (i, j) = (137, 401);
    let exact: f64 = (0..n)
        .map(|k| av[i * n + k] as f64 * bv[k * n + j] as f64)
        .sum();
    assert!(
        (p.get(&[i, j]) as f64 - exact).abs() < 1e-3,
        "{} vs {exact}",
        p.get(&[i, j])
    );
    Ok(())
}

/// The large ops of a layer's step on `x`: parallel products of the dot kernel and of the
/// crate (a transposed left operand), an elementwise op and a reduction.
fn layer_ops(x: &Tensor<f32>, w: &Tensor<f32>) -> Vec<Tensor<f32>> {
    let h = x.matmul(&w.t()).relu();
    vec![h.sum(0, false), h.t().matmul(x), h.matmul(w)]
}

#[test]
fn ops_called_from_many_threads_at_once_keep_their_bits() -> Result {
    // Each caller starts the pool's other threads spinning and divides its ops among them, while
    // the others do the same: the threads run each other's parts and spinners inside their own
    // waits. Every result must still be the one-thread result, and the whole must end.
    let w = Tensor::rand_normal([256, 784], 0.0f32, 0.05, &mut rng(25));
    let inputs: Vec<Tensor<f32>> = (0..8)
        .map(|i| Tensor::rand_normal([128, 784], 0.0f32, 1.0, &mut rng(30 + i)))
        .collect();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let expected: Vec<Vec<Tensor<f32>>> =
        one.install(|| inputs.iter().map(|x| layer_ops(x, &w)).collect());
    let check = |runs: Vec<Vec<Tensor<f32>>>, how: &str| {
        for (i, (run, want)) in runs.iter().zip(&expected).enumerate() {
            for (k, (a, b)) in run.iter().zip(want).enumerate() {
                assert_same_bits(
                    &format!("{how}: input {i}, result {k}"),
                    &[b.clone(), a.clone()],
                );
            }
        }
    };
    // Inside a pool: its threads each call ops, in rayon's own parallel loop.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build()?;
    let runs = pool.install(|| {
        use rayon::prelude::*;
        inputs.par_iter().map(|x| layer_ops(x, &w)).collect()
    });
    check(runs, "callers in one pool");
    // From outside every pool: several threads of the program at once, on the global pool.
    let runs = std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|x| scope.spawn(|| layer_ops(x, &w)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    check(runs, "callers outside every pool");
    Ok(())
}

#[test]
fn random_tensors_depend_only_on_the_seed() -> Result {
    let runs = on_pools(|| Tensor::<f32>::rand_normal([1 << 16], 0.0, 1.0, &mut rng(99)))?;
    assert_same_bits("rand_normal", &runs);
    let runs = on_pools(|| Tensor::<f64>::rand_uniform([1 << 16], 0.0, 1.0, &mut rng(98)))?;
    assert_same_bits("rand_uniform", &runs);
    Ok(())
}
