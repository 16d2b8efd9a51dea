//! Data: datasets, batches, the seeded split and loader, standardisation, CSV files and the
//! Playground's generators, checked against what each documents.

use crate::common;

use common::panic_message;
use std::collections::BTreeSet;

use rand::{rngs::StdRng, SeedableRng};
use shendu_nn::data::{Batch, DataLoader, Dataset, Target, TensorDataset};
use shendu_tensor::{Indices, Tensor};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
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
            && message.contains("tests/integration/data.rs"),
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
            && message.contains("tests/integration/data.rs"),
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

mod csv {
    use super::*;
    use proptest::prelude::*;
    use shendu_nn::data::{digits, Csv, CsvError};

    fn digits_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/digits.csv")
    }

    fn classes_error(csv: Csv, text: &str) -> CsvError {
        csv.parse_classes::<f32>(text)
            .expect_err("expected an error")
    }

    #[test]
    fn the_real_digits_file_loads_whole() {
        let data = digits::<f32>(digits_path()).expect("data/digits.csv loads");
        assert_eq!(data.x().shape(), &[1797, 64]);
        assert_eq!(data.y().shape(), &[1797]);
        let pixels = data.x().to_vec();
        assert!(pixels
            .iter()
            .all(|&p| (0.0..=16.0).contains(&p) && p.fract() == 0.0));
        assert_eq!(pixels.iter().cloned().fold(0.0, f32::max), 16.0);
        let labels: BTreeSet<usize> = data.y().to_vec().into_iter().collect();
        assert_eq!(labels, (0..10).collect::<BTreeSet<_>>());
        // The first image is a 0, as in scikit-learn's load_digits; its first row of pixels.
        assert_eq!(data.y().to_vec()[0], 0);
        assert_eq!(&pixels[..8], &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
        let (train, test) = data.split(0.8, &mut rng(0));
        assert_eq!((train.len(), test.len()), (1437, 360));
        assert_eq!(DataLoader::new(&train, 32).len(), 45);
    }

    #[test]
    fn options_delimiter_label_column_quotes_and_line_ends() {
        let text = "\u{feff}\"label\";\"a\";\"b\"\r\n\r\n  2 ; 1.5 ;-3e-1\r\n\"0\";\"4\";  5 \r\n";
        let data = Csv::new()
            .header(true)
            .delimiter(';')
            .label_column(0)
            .parse_classes::<f64>(text)
            .unwrap();
        assert_eq!(data.x().to_vec(), vec![1.5, -0.3, 4.0, 5.0]);
        assert_eq!(data.y().to_vec(), vec![2, 0]);
        let data = Csv::new()
            .delimiter('\t')
            .parse_values::<f32>("1\t2\t0.5\n3\t4\t-1\n")
            .unwrap();
        assert_eq!(data.x().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(data.y().shape(), &[2, 1]);
        assert_eq!(data.y().to_vec(), vec![0.5, -1.0]);
        // A label alone: no features.
        let data = Csv::new().parse_classes::<f32>("1\n2\n").unwrap();
        assert_eq!(data.x().shape(), &[2, 0]);
    }

    #[test]
    fn a_non_number_names_line_column_field_header_and_text() {
        let text = "a,b,label\n1,2,0\n\n3, 4x ,1\n";
        let err = classes_error(Csv::new().header(true), text);
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(4), Some(4), Some(2))
        );
        assert_eq!(err.text(), Some("4x"));
        assert_eq!(
            err.to_string(),
            r#"line 4, column 4: field 2 ("b"): "4x" is not a number"#
        );
    }

    #[test]
    fn missing_and_extra_columns_are_errors_at_their_place() {
        let err = classes_error(Csv::new(), "1,2,0\n3,4\n");
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(2), Some(4), Some(3))
        );
        assert_eq!(
            err.to_string(),
            "line 2, column 4: field 3: this line has 2 fields where the first had 3"
        );
        let err = classes_error(Csv::new(), "1,2,0\n3,4,1,9\n");
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(2), Some(7), Some(4))
        );
        assert!(
            err.to_string().contains("4 fields where the first had 3"),
            "{err}"
        );
        let err = classes_error(Csv::new().label_column(3), "1,2,0\n");
        assert_eq!(err.line(), Some(1));
        assert!(
            err.to_string()
                .contains("label column 4 (counting from 1) is not among the 3 columns"),
            "{err}"
        );
    }

    #[test]
    fn empty_fields_non_finite_values_and_bad_classes_are_errors() {
        let err = classes_error(Csv::new(), "1,,0\n");
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(1), Some(3), Some(2))
        );
        assert!(err.to_string().contains("empty"), "{err}");
        for bad in ["NaN", "inf", "-infinity", "1e39"] {
            let err = classes_error(Csv::new(), &format!("1,{bad},0\n"));
            assert_eq!(err.field(), Some(2), "{bad}");
            assert!(err.to_string().contains("is not a finite f32"), "{err}");
        }
        // 1e39 fits an f64.
        assert!(Csv::new().parse_classes::<f64>("1,1e39,0\n").is_ok());
        for bad in ["1.5", "-1", "x", "1e2", "99999999999999999999999"] {
            let err = classes_error(Csv::new(), &format!("1,2,{bad}\n"));
            assert_eq!((err.field(), err.text()), (Some(3), Some(bad)));
            assert!(err.to_string().contains("not a class label"), "{err}");
        }
        assert_eq!(
            Csv::new()
                .parse_values::<f32>("1,2,-1.5\n")
                .unwrap()
                .y()
                .to_vec(),
            vec![-1.5]
        );
    }

    #[test]
    fn a_header_read_as_data_suggests_the_header_option() {
        let err = classes_error(Csv::new(), "p0,p1,label\n1,2,0\n");
        assert_eq!((err.line(), err.field()), (Some(1), Some(1)));
        assert!(
            err.to_string()
                .ends_with("(if this line is a header, read with Csv::header(true))"),
            "{err}"
        );
        let err = classes_error(Csv::new(), "1,2,0\n1,x,0\n");
        assert!(!err.to_string().contains("header"), "{err}");
    }

    #[test]
    fn quotes_bytes_and_empty_input() {
        let err = classes_error(Csv::new(), "1,\"2,0\n");
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(1), Some(3), Some(2))
        );
        assert!(err.to_string().contains("not closed"), "{err}");
        assert_eq!(
            Csv::new()
                .parse_classes::<f32>("\"1\"\"\",2\n")
                .unwrap_err()
                .text(),
            Some("1\"")
        );
        let err = Csv::new()
            .parse_classes::<f32>(b"1,2\n3,\xff4\n".as_slice())
            .unwrap_err();
        assert_eq!(
            (err.line(), err.column(), err.field()),
            (Some(2), Some(3), None)
        );
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        for empty in ["", "\n\n", "a,b\n"] {
            let err = classes_error(Csv::new().header(true), empty);
            assert_eq!(err.to_string(), "no data lines");
        }
    }

    #[test]
    fn files_errors_name_the_path() {
        let missing = digits_path().with_file_name("no-such-file.csv");
        let err = digits::<f32>(&missing).unwrap_err();
        assert_eq!(err.path(), Some(missing.as_path()));
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", missing.display())),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());

        let dir = std::env::temp_dir().join(format!("shendu-csv-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.csv");
        std::fs::write(&path, "x,y\n1,2\n3,oops\n").unwrap();
        let err = Csv::new()
            .header(true)
            .read_values::<f64>(&path)
            .unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                r#"{}:3:3: field 2 ("y"): "oops" is not a number"#,
                path.display()
            )
        );
        assert_eq!(err.path(), Some(path.as_path()));
    }

    #[test]
    fn a_quote_or_line_end_cannot_be_the_delimiter() {
        for bad in ['"', '\n', '\r'] {
            let message = panic_message(|| {
                Csv::new().delimiter(bad);
            });
            assert!(
                message.contains("Csv::delimiter") && message.contains("cannot separate"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_wide_row_parses_in_linear_time() {
        // 200,000 fields on one line: a column count redone per field would take minutes.
        let mut line = "1.5,".repeat(200_000);
        line.push_str("3\n");
        let data = Csv::new().parse_classes::<f32>(&line).unwrap();
        assert_eq!(data.x().shape(), &[1, 200_000]);
        assert_eq!(data.y().to_vec(), vec![3]);
        let err = classes_error(Csv::new(), &format!("{}x,3\n", "1,".repeat(100_000)));
        assert_eq!((err.column(), err.field()), (Some(200_001), Some(100_001)));
    }

    #[test]
    fn long_bad_text_is_shortened_in_the_message() {
        let long = "z".repeat(10_000);
        let err = classes_error(Csv::new(), &format!("{long},0\n"));
        assert_eq!(err.text().map(str::len), Some(10_000));
        assert!(err.to_string().len() < 200, "{err}");
    }

    fn any_csv() -> impl Strategy<Value = Csv> {
        (
            any::<bool>(),
            prop::sample::select(vec![',', ';', '\t', ' ', 'é']),
            prop::option::of(0usize..4),
        )
            .prop_map(|(header, delimiter, label)| {
                let csv = Csv::new().header(header).delimiter(delimiter);
                match label {
                    Some(column) => csv.label_column(column),
                    None => csv,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(csv in any_csv(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = csv.parse_classes::<f32>(&bytes);
            let _ = csv.parse_values::<f64>(&bytes);
        }

        #[test]
        fn csv_like_text_never_panics_and_errors_point_inside_the_text(
            csv in any_csv(),
            text in "([0-9 .e+\\-,;\"\tx\r\n]|NaN|inf|é){0,80}",
        ) {
            for result in [csv.parse_classes::<f32>(&text).map(|_| ()), csv.parse_values::<f32>(&text).map(|_| ())] {
                if let Err(err) = result {
                    let message = err.to_string();
                    prop_assert!(!message.is_empty());
                    if let (Some(line), Some(column)) = (err.line(), err.column()) {
                        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split('\n').collect();
                        prop_assert!(line >= 1 && line <= lines.len(), "{message}");
                        prop_assert!(column >= 1 && column <= lines[line - 1].chars().count() + 1, "{message}");
                    }
                }
            }
        }

        #[test]
        fn written_numbers_read_back_exactly(
            rows in prop::collection::vec((prop::collection::vec(-1e6f64..1e6, 3), 0usize..10), 1..20),
        ) {
            let text: String = rows
                .iter()
                .map(|(x, label)| format!("{},{},{},{label}\n", x[0], x[1], x[2]))
                .collect();
            let data = Csv::new().parse_classes::<f64>(&text).unwrap();
            let x: Vec<f64> = rows.iter().flat_map(|(x, _)| x.clone()).collect();
            prop_assert_eq!(data.x().to_vec(), x);
            prop_assert_eq!(data.y().to_vec(), rows.iter().map(|r| r.1).collect::<Vec<_>>());
        }
    }
}

mod playground {
    use super::*;
    use shendu_nn::data::playground::{self, features, Feature};
    use std::f64::consts::PI;

    type Generator = fn(usize, f64, &mut StdRng) -> TensorDataset<f64, Tensor<f64>>;

    const ALL: [(&str, Generator); 6] = [
        ("circle", playground::circle::<f64>),
        ("xor", playground::xor::<f64>),
        ("gauss", playground::gauss::<f64>),
        ("spiral", playground::spiral::<f64>),
        ("plane", playground::plane::<f64>),
        ("multi_gaussian", playground::multi_gaussian::<f64>),
    ];

    /// Points as (x, y, target).
    fn rows(data: &TensorDataset<f64, Tensor<f64>>) -> Vec<(f64, f64, f64)> {
        let (x, y) = (data.x().to_vec(), data.y().to_vec());
        x.chunks(2).zip(y).map(|(p, t)| (p[0], p[1], t)).collect()
    }

    fn count(points: &[(f64, f64, f64)], label: f64) -> usize {
        points.iter().filter(|p| p.2 == label).count()
    }

    #[test]
    fn every_generator_makes_n_points_in_the_square_deterministically() {
        for (name, generate) in ALL {
            for n in [0, 1, 7, 500, 1200] {
                let data = generate(n, 0.3, &mut rng(5));
                assert_eq!(
                    (data.x().shape(), data.y().shape()),
                    (&[n, 2][..], &[n, 1][..]),
                    "{name}"
                );
                if name != "gauss" {
                    // Gaussian blobs have unbounded tails; every other set lies in [-6, 6]².
                    assert!(data.x().to_vec().iter().all(|v| v.abs() <= 6.0), "{name}");
                }
                let again = generate(n, 0.3, &mut rng(5));
                assert_eq!(
                    data.x().to_vec(),
                    again.x().to_vec(),
                    "{name}: same seed, same bits"
                );
                assert_eq!(data.y().to_vec(), again.y().to_vec(), "{name}");
            }
            let other = generate(50, 0.3, &mut rng(6));
            assert_ne!(
                generate(50, 0.3, &mut rng(5)).x().to_vec(),
                other.x().to_vec(),
                "{name}"
            );
        }
        assert_eq!(playground::CLASSIFICATION_POINTS, 500);
        assert_eq!(playground::REGRESSION_POINTS, 1200);
    }

    #[test]
    fn the_f32_sets_are_the_f64_sets_rounded() {
        let wide = playground::spiral::<f64>(100, 0.2, &mut rng(1));
        let narrow = playground::spiral::<f32>(100, 0.2, &mut rng(1));
        let rounded: Vec<f32> = wide.x().to_vec().iter().map(|&v| v as f32).collect();
        assert_eq!(narrow.x().to_vec(), rounded);
    }

    #[test]
    fn classification_labels_are_balanced_plus_and_minus_one() {
        for (name, generate) in &ALL[..4] {
            let points = rows(&generate(500, 0.0, &mut rng(2)));
            assert_eq!(
                count(&points, 1.0) + count(&points, -1.0),
                500,
                "{name}: labels are ±1"
            );
            let plus = count(&points, 1.0);
            if *name == "xor" {
                // Quadrants are drawn at random: about half.
                assert!((200..=300).contains(&plus), "{name}: {plus}");
            } else {
                assert_eq!(plus, 250, "{name}");
                // The first half is the positive class.
                assert!(points[..250].iter().all(|p| p.2 == 1.0), "{name}");
            }
        }
        // An odd count: the first class gets the extra point.
        let points = rows(&playground::spiral(7, 0.0, &mut rng(0)));
        assert_eq!((count(&points, 1.0), count(&points, -1.0)), (4, 3));
    }

    #[test]
    fn circle_labels_by_radius_and_noise_only_flips_points_near_the_boundary() {
        let points = rows(&playground::circle(2000, 0.0, &mut rng(3)));
        for (i, &(x, y, label)) in points.iter().enumerate() {
            let r = (x * x + y * y).sqrt();
            let expected = if i < 1000 { 0.0..2.5 } else { 3.5..5.0 };
            assert!(
                expected.contains(&r) || (r - expected.end).abs() < 1e-12,
                "{i}: r = {r}"
            );
            assert_eq!(label, if r < 2.5 { 1.0 } else { -1.0 }, "{i}: r = {r}");
        }
        let noise = 0.2;
        let points = rows(&playground::circle(2000, noise, &mut rng(3)));
        let mut flipped = 0;
        for &(x, y, label) in &points {
            let r = (x * x + y * y).sqrt();
            if label != if r < 2.5 { 1.0 } else { -1.0 } {
                flipped += 1;
                // A shift of at most 5·noise in each coordinate.
                assert!((r - 2.5).abs() <= 5.0 * noise * 2f64.sqrt(), "r = {r}");
            }
        }
        assert!(flipped > 0, "noise 0.2 flips some labels");
    }

    #[test]
    fn xor_labels_by_quadrant_with_the_padding() {
        let points = rows(&playground::xor(2000, 0.0, &mut rng(4)));
        for &(x, y, label) in &points {
            assert!(x.abs() >= 0.3 && y.abs() >= 0.3 && x.abs() <= 5.3 && y.abs() <= 5.3);
            assert_eq!(label, if x * y >= 0.0 { 1.0 } else { -1.0 });
        }
        let noisy = rows(&playground::xor(2000, 0.5, &mut rng(4)));
        assert!(noisy
            .iter()
            .any(|&(x, y, label)| label != if x * y >= 0.0 { 1.0 } else { -1.0 }));
    }

    #[test]
    fn gauss_centres_and_variance_follow_the_noise() {
        for (noise, variance) in [(0.0, 0.5), (0.5, 4.0), (0.25, 2.25)] {
            let points = rows(&playground::gauss(40_000, noise, &mut rng(8)));
            for (half, centre) in [(&points[..20_000], 2.0), (&points[20_000..], -2.0)] {
                let xs: Vec<f64> = half.iter().flat_map(|p| [p.0, p.1]).collect();
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / xs.len() as f64;
                // Standard errors: √(v/40000) ≤ 0.01 for the mean, v·√(2/40000) ≤ 0.03 for v.
                assert!((mean - centre).abs() < 0.05, "noise {noise}: mean {mean}");
                assert!(
                    (var - variance).abs() < 0.15 * variance.max(1.0),
                    "noise {noise}: var {var}"
                );
            }
        }
    }

    #[test]
    fn spiral_points_follow_the_arm_formula() {
        let points = rows(&playground::spiral(500, 0.0, &mut rng(0)));
        for (k, &(x, y, label)) in points.iter().enumerate() {
            let (i, delta, arm_label) = if k < 250 {
                (k, 0.0, 1.0)
            } else {
                (k - 250, PI, -1.0)
            };
            let r = 5.0 * i as f64 / 250.0;
            let t = 1.75 * 2.0 * PI * i as f64 / 250.0 + delta;
            assert!(
                (x - r * t.sin()).abs() < 1e-12 && (y - r * t.cos()).abs() < 1e-12,
                "{k}"
            );
            assert_eq!(label, arm_label);
        }
        // Noise moves each coordinate by at most `noise`.
        let noisy = rows(&playground::spiral(500, 0.5, &mut rng(0)));
        let mut largest: f64 = 0.0;
        for (a, b) in points.iter().zip(&noisy) {
            largest = largest.max((a.0 - b.0).abs()).max((a.1 - b.1).abs());
        }
        assert!(largest <= 0.5 && largest > 0.4, "{largest}");
    }

    #[test]
    fn plane_targets_are_the_scaled_sum_shifted_by_the_noise() {
        let points = rows(&playground::plane(1200, 0.0, &mut rng(1)));
        for &(x, y, target) in &points {
            assert!((-6.0..6.0).contains(&x) && (-6.0..6.0).contains(&y));
            assert!((target - (x + y) / 10.0).abs() < 1e-15);
        }
        let noise = 0.3;
        let points = rows(&playground::plane(1200, noise, &mut rng(1)));
        let largest = points
            .iter()
            .map(|&(x, y, t)| (t - (x + y) / 10.0).abs())
            .fold(0.0, f64::max);
        assert!(largest <= 12.0 * noise / 10.0 && largest > 0.0, "{largest}");
    }

    /// The multi-Gaussian target written out independently: the bump of largest magnitude.
    fn bumps(x: f64, y: f64) -> f64 {
        let centres = [
            (-4.0, 2.5),
            (0.0, 2.5),
            (4.0, 2.5),
            (-4.0, -2.5),
            (0.0, -2.5),
            (4.0, -2.5),
        ];
        let signs = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        let values: Vec<f64> = centres
            .iter()
            .zip(signs)
            .map(|(&(cx, cy), s)| {
                let d: f64 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)).sqrt();
                s * f64::max(0.0, 1.0 - d / 2.0)
            })
            .collect();
        let best = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
        values
            .into_iter()
            .find(|v| v.abs() == best && best > 0.0)
            .unwrap_or(0.0)
    }

    #[test]
    fn multi_gaussian_targets_are_the_strongest_bump() {
        let points = rows(&playground::multi_gaussian(1200, 0.0, &mut rng(2)));
        let mut signs = (0, 0, 0);
        for &(x, y, target) in &points {
            assert!((-6.0..6.0).contains(&x) && (-6.0..6.0).contains(&y));
            assert_eq!(target, bumps(x, y), "({x}, {y})");
            match target.partial_cmp(&0.0) {
                Some(std::cmp::Ordering::Greater) => signs.0 += 1,
                Some(std::cmp::Ordering::Less) => signs.1 += 1,
                _ => signs.2 += 1,
            }
        }
        assert!(signs.0 > 100 && signs.1 > 100 && signs.2 > 100, "{signs:?}");
        let noisy = rows(&playground::multi_gaussian(1200, 0.5, &mut rng(2)));
        assert!(noisy.iter().zip(&points).any(|(a, b)| a.2 != b.2));
        assert!(noisy.iter().all(|p| (-1.0..=1.0).contains(&p.2)));
    }

    #[test]
    fn the_seven_features_in_the_playground_order() {
        assert_eq!(
            Feature::ALL.map(Feature::name),
            ["X_1", "X_2", "X_1^2", "X_2^2", "X_1X_2", "sin(X_1)", "sin(X_2)"]
        );
        let points = Tensor::from_vec(vec![1.0f64, 2.0, -0.5, 3.0], [2, 2]);
        let all = features(&points, &Feature::ALL);
        assert_eq!(all.shape(), &[2, 7]);
        assert_eq!(
            all.to_vec(),
            vec![
                1.0,
                2.0,
                1.0,
                4.0,
                2.0,
                1f64.sin(),
                2f64.sin(),
                -0.5,
                3.0,
                0.25,
                9.0,
                -1.5,
                (-0.5f64).sin(),
                3f64.sin(),
            ]
        );
        let picked = features(&points, &[Feature::X2Squared, Feature::X1]);
        assert_eq!(picked.to_vec(), vec![4.0, 1.0, 9.0, -0.5]);
        assert_eq!(
            features(&points, &Feature::DEFAULT).to_vec(),
            points.to_vec()
        );
        assert_eq!(features(&points, &[]).shape(), &[2, 0]);
        // A view is read in its logical order.
        let transposed = Tensor::from_vec(vec![1.0f64, -0.5, 2.0, 3.0], [2, 2]).t();
        assert_eq!(
            features(&transposed, &[Feature::X1X2]).to_vec(),
            vec![2.0, -1.5]
        );
        let message = panic_message(|| {
            features(&Tensor::<f32>::zeros([3, 3]), &Feature::ALL);
        });
        assert!(
            message.contains("playground::features") && message.contains("[n, 2]"),
            "{message}"
        );
    }

    #[test]
    fn bad_noise_panics_naming_the_generator() {
        for noise in [-0.1, f64::NAN, f64::INFINITY] {
            let message = panic_message(|| {
                playground::spiral::<f32>(10, noise, &mut rng(0));
            });
            assert!(
                message.contains("playground::spiral") && message.contains("noise"),
                "{message}"
            );
        }
    }

    #[test]
    fn zero_one_targets_for_bce_come_from_map_y() {
        let data = playground::xor::<f32>(100, 0.0, &mut rng(0)).map_y(|y| (y + 1.0) / 2.0);
        assert!(data.y().to_vec().iter().all(|&t| t == 0.0 || t == 1.0));
    }
}
