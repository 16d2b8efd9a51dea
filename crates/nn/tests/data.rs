//! Data: datasets, batches, the seeded split and loader, standardisation, CSV files and the
//! Playground's generators, checked against what each documents.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{rngs::StdRng, SeedableRng};
use shendu_nn::data::{Batch, DataLoader, Dataset, Target, TensorDataset};
use shendu_tensor::{Indices, Tensor};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The message of a panic of `f`.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// `n` rows whose features are `[i, 10·i]` and whose class is `i`, so a row names itself.
fn numbered(n: usize) -> TensorDataset<f64, Indices> {
    let x = (0..n).flat_map(|i| [i as f64, 10.0 * i as f64]).collect();
    TensorDataset::new(
        Tensor::from_vec(x, [n, 2]),
        Indices::from_vec((0..n).collect(), [n]),
    )
}

/// The row numbers in a batch, checking that its features belong to its labels.
fn rows_of(batch: &Batch<f64, Indices>) -> Vec<usize> {
    let labels = batch.y.to_vec();
    let x = batch.x.to_vec();
    assert_eq!(batch.x.shape(), &[labels.len(), 2]);
    for (k, &label) in labels.iter().enumerate() {
        assert_eq!(
            (x[2 * k], x[2 * k + 1]),
            (label as f64, 10.0 * label as f64)
        );
    }
    labels
}

#[test]
fn select_rows_gathers_features_and_targets_together() {
    let data = numbered(6);
    let batch = data.select_rows(&[4, 0, 4]);
    assert_eq!(rows_of(&batch), vec![4, 0, 4]);
    assert_eq!(batch.len(), 3);
    let values = TensorDataset::new(
        Tensor::<f32>::arange(6).reshape([3, 2]),
        Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2]),
    );
    let batch = values.select_rows(&[2, 1]);
    assert_eq!(batch.x.to_vec(), vec![4.0, 5.0, 2.0, 3.0]);
    assert_eq!(batch.y.to_vec(), vec![5.0, 6.0, 3.0, 4.0]);
}

#[test]
fn targets_count_and_pick_rows() {
    let t = Tensor::<f32>::arange(6).reshape([3, 2]);
    assert_eq!(t.row_count(), 3);
    assert_eq!(Target::select_rows(&t, &[2]).to_vec(), vec![4.0, 5.0]);
    assert_eq!(t.narrow_rows(1, 2).to_vec(), vec![2.0, 3.0, 4.0, 5.0]);
    let labels = Indices::from_vec(vec![5, 6, 7], [3]);
    assert_eq!(labels.row_count(), 3);
    assert_eq!(Target::narrow_rows(&labels, 1, 2).to_vec(), vec![6, 7]);
    let message = panic_message(|| {
        Target::narrow_rows(&labels, 2, 2);
    });
    assert!(
        message.contains("narrow_rows") && message.contains("3 rows"),
        "{message}"
    );
}

#[test]
fn mismatched_rows_panic_naming_both_counts_and_the_caller() {
    let message = panic_message(|| {
        TensorDataset::new(
            Tensor::<f32>::zeros([4, 2]),
            Indices::from_vec(vec![0; 3], [3]),
        );
    });
    assert!(
        message.contains("TensorDataset::new")
            && message.contains("4 rows")
            && message.contains("3")
            && message.contains("tests/data.rs"),
        "{message}"
    );
    let message = panic_message(|| {
        TensorDataset::new(Tensor::<f32>::scalar(1.0), Tensor::<f32>::zeros([1]));
    });
    assert!(message.contains("rank 0"), "{message}");
    let message = panic_message(|| {
        numbered(4).map_x(|x| x.narrow(0, 0, 2));
    });
    assert!(
        message.contains("map_x") && message.contains("2 rows"),
        "{message}"
    );
}

#[test]
fn map_x_and_map_y_replace_one_side() {
    let data = numbered(3).map_x(|x| x * 2.0);
    assert_eq!(data.x().to_vec(), vec![0.0, 0.0, 2.0, 20.0, 4.0, 40.0]);
    let data = data.map_y(|labels| labels.to_tensor::<f64>().reshape([3, 1]));
    assert_eq!(data.y().shape(), &[3, 1]);
    assert_eq!(data.y().to_vec(), vec![0.0, 1.0, 2.0]);
    // A transposed result is stored contiguously, so batches take the fast row copy.
    let data = TensorDataset::new(
        Tensor::<f32>::arange(6).reshape([2, 3]).t(),
        Tensor::<f32>::zeros([3, 1]),
    );
    assert!(data.x().is_contiguous());
    assert_eq!(data.x().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn split_partitions_the_rows_by_the_documented_rule() {
    for (n, fraction, train_rows) in [
        (10, 0.7, 7),
        (1797, 0.8, 1437),
        (100, 0.29, 29),
        (5, 0.5, 2),
    ] {
        let data = numbered(n);
        let (train, test) = data.split(fraction, &mut rng(3));
        assert_eq!(
            (train.len(), test.len()),
            (train_rows, n - train_rows),
            "{n} · {fraction}"
        );
        let mut seen: Vec<usize> = train.y().to_vec();
        seen.extend(test.y().to_vec());
        let unique: BTreeSet<usize> = seen.iter().copied().collect();
        assert_eq!(unique.len(), n, "every row exactly once");
        // Features travel with their labels.
        rows_of(&train.select_rows(&(0..train.len()).collect::<Vec<_>>()));
        rows_of(&test.select_rows(&(0..test.len()).collect::<Vec<_>>()));
        if n >= 10 {
            assert_ne!(seen, (0..n).collect::<Vec<_>>(), "the rows are shuffled");
        }
    }
}

#[test]
fn split_is_deterministic_by_seed() {
    let data = numbered(50);
    let (a, _) = data.split(0.5, &mut rng(1));
    let (b, _) = data.split(0.5, &mut rng(1));
    let (c, _) = data.split(0.5, &mut rng(2));
    assert_eq!(a.y().to_vec(), b.y().to_vec());
    assert_eq!(a.x().to_vec(), b.x().to_vec());
    assert_ne!(a.y().to_vec(), c.y().to_vec());
}

#[test]
fn split_rejects_fractions_outside_the_open_interval() {
    for fraction in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let message = panic_message(|| {
            numbered(4).split(fraction, &mut rng(0));
        });
        assert!(
            message.contains("TensorDataset::split") && message.contains("between 0 and 1"),
            "{message}"
        );
    }
}

#[test]
fn an_epoch_in_order_visits_every_row_once_in_order() {
    let data = numbered(7);
    let loader = DataLoader::new(&data, 3);
    assert_eq!(loader.len(), 3);
    let epoch = loader.epoch();
    assert_eq!(epoch.len(), 3);
    let batches: Vec<Vec<usize>> = epoch.map(|b| rows_of(&b)).collect();
    assert_eq!(batches, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    // In order, features are views of the dataset: no copy.
    let first = loader.epoch().next().unwrap();
    assert!(first.x.shares_storage(data.x()));
    // A loader is an IntoIterator too.
    assert_eq!((&loader).into_iter().count(), 3);
    assert_eq!(loader.into_iter().count(), 3);
}

#[test]
fn drop_last_leaves_out_the_short_batch() {
    let data = numbered(7);
    let loader = DataLoader::new(&data, 3).drop_last(true);
    assert_eq!(loader.len(), 2);
    let sizes: Vec<usize> = loader.shuffle(&mut rng(0)).map(|b| b.len()).collect();
    assert_eq!(sizes, vec![3, 3]);
    assert_eq!(DataLoader::new(&data, 8).drop_last(true).epoch().count(), 0);
    assert_eq!(DataLoader::new(&data, 8).len(), 1);
    assert_eq!(DataLoader::new(&data, 7).drop_last(true).len(), 1);
    assert_eq!(DataLoader::new(&numbered(0), 4).epoch().count(), 0);
}

#[test]
fn shuffled_epochs_are_permutations_new_each_call_and_seeded() {
    let data = numbered(23);
    let loader = DataLoader::new(&data, 5);
    let mut r = rng(9);
    let epoch = |r: &mut StdRng| -> Vec<usize> {
        let batches: Vec<Vec<usize>> = loader.shuffle(r).map(|b| rows_of(&b)).collect();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![5, 5, 5, 5, 3]
        );
        batches.concat()
    };
    let first = epoch(&mut r);
    let second = epoch(&mut r);
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(sorted, (0..23).collect::<Vec<_>>());
    assert_ne!(first, second, "each epoch draws a new order");
    assert_ne!(first, (0..23).collect::<Vec<_>>());
    let mut again = rng(9);
    assert_eq!(epoch(&mut again), first);
    assert_eq!(epoch(&mut again), second);
}

#[test]
fn batch_size_zero_panics_naming_the_caller() {
    let data = numbered(3);
    let message = panic_message(|| {
        DataLoader::new(&data, 0);
    });
    assert!(
        message.contains("DataLoader::new")
            && message.contains("at least 1")
            && message.contains("tests/data.rs"),
        "{message}"
    );
}

#[test]
fn tensor_targets_batch_with_their_rows() {
    let data = TensorDataset::new(
        Tensor::<f32>::arange(8).reshape([4, 2]),
        Tensor::from_vec(vec![10.0f32, 11.0, 12.0, 13.0], [4, 1]),
    );
    for batch in DataLoader::new(&data, 3).shuffle(&mut rng(4)) {
        let (x, y) = (batch.x.to_vec(), batch.y.to_vec());
        assert_eq!(batch.y.shape(), &[batch.len(), 1]);
        for (k, &target) in y.iter().enumerate() {
            let row = (target - 10.0) as usize;
            assert_eq!(
                &x[2 * k..2 * k + 2],
                &[2.0 * row as f32, 2.0 * row as f32 + 1.0]
            );
        }
    }
}

mod standardize {
    use super::*;
    use shendu_nn::data::Standardizer;

    #[test]
    fn fit_takes_population_statistics_per_column() {
        // Column 0: 1, 2, 3, 6 → mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5.
        let x = Tensor::from_vec(vec![1.0f64, -1.0, 2.0, 1.0, 3.0, -1.0, 6.0, 1.0], [4, 2]);
        let scaler = Standardizer::fit(&x);
        assert_eq!(scaler.mean().shape(), &[1, 2]);
        assert_eq!(scaler.mean().to_vec(), vec![3.0, 0.0]);
        assert_eq!(scaler.scale().to_vec(), vec![3.5f64.sqrt(), 1.0]);
        let z = scaler.transform(&x);
        // Standardised columns have mean 0 and population variance 1.
        let again = Standardizer::fit(&z);
        for (m, s) in again
            .mean()
            .to_vec()
            .into_iter()
            .zip(again.scale().to_vec())
        {
            assert!(m.abs() < 1e-15 && (s - 1.0).abs() < 1e-15, "{m} {s}");
        }
        let back = scaler.inverse_transform(&z);
        assert!(back.allclose(&x, 1e-15, 1e-15), "{back}");
    }

    #[test]
    fn constant_columns_are_scaled_by_one_even_after_rounding() {
        // 0.1 has no exact binary form: its mean over 3 rows need not equal it, but the column
        // is still constant and must come out as zeros, not NaN or huge values.
        let x = Tensor::from_vec(vec![0.1f32, 1.0, 0.1, 2.0, 0.1, 4.0], [3, 2]);
        let scaler = Standardizer::fit(&x);
        assert_eq!(scaler.scale().to_vec()[0], 1.0);
        let z = scaler.transform(&x).to_vec();
        assert!(
            z[0].abs() < 1e-6 && z[2].abs() < 1e-6 && z[4].abs() < 1e-6,
            "{z:?}"
        );
        // A single row: every column is constant.
        let one = Standardizer::fit(&Tensor::from_vec(vec![5.0f32, 7.0], [1, 2]));
        assert_eq!(one.scale().to_vec(), vec![1.0, 1.0]);
        assert_eq!(
            one.transform(&Tensor::from_vec(vec![6.0, 7.0], [1, 2]))
                .to_vec(),
            vec![1.0, 0.0]
        );
    }

    #[test]
    fn test_rows_use_the_training_statistics() {
        let train = Tensor::from_vec(vec![0.0f64, 2.0], [2, 1]);
        let scaler = Standardizer::fit(&train);
        let test = Tensor::from_vec(vec![4.0, -1.0], [2, 1]);
        assert_eq!(scaler.transform(&test).to_vec(), vec![3.0, -2.0]);
    }

    #[test]
    fn wrong_shapes_panic_naming_the_shapes() {
        let message = panic_message(|| {
            Standardizer::fit(&Tensor::<f32>::zeros([4]));
        });
        assert!(
            message.contains("Standardizer::fit") && message.contains("[rows, columns]"),
            "{message}"
        );
        let message = panic_message(|| {
            Standardizer::fit(&Tensor::<f32>::zeros([0, 3]));
        });
        assert!(message.contains("no rows"), "{message}");
        let scaler = Standardizer::fit(&Tensor::<f32>::zeros([2, 3]));
        let message = panic_message(|| {
            scaler.transform(&Tensor::zeros([2, 2]));
        });
        assert!(
            message.contains("transform")
                && message.contains("2 columns")
                && message.contains("fitted on 3"),
            "{message}"
        );
    }
}
