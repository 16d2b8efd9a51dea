//! Regression: a small network learns a curve. 256 noisy samples of sin(x) on [−π, π] train an
//! MLP 1 → 16 → 16 → 1 with tanh, by Adam on the mean squared error in shuffled mini-batches;
//! the loss is printed as it falls, then a picture shows the samples, the true sin(x) and the
//! network's fit.
//!
//! cargo run --release --example regression -- [OUT_DIR] [--epochs N]
//!
//! The picture is `OUT_DIR/regression.png`; OUT_DIR defaults to `target/examples-out` under the
//! current directory, and is created when missing.

use std::f32::consts::PI;
use std::path::PathBuf;

use rand::Rng;
use shendu::prelude::*;
use shendu_playground::plot::{LineChart, Rgba};

const SAMPLES: usize = 256;
const NOISE: f32 = 0.15;
const BATCH: usize = 16;

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "regression [OUT_DIR] [--epochs N]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut out_dir, mut epochs) = (PathBuf::from("target/examples-out"), 300);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("usage: {USAGE}");
            return Ok(());
        }
        match arg.as_str() {
            "--epochs" => epochs = args.next().ok_or("--epochs needs a number")?.parse()?,
            _ if !arg.starts_with("--") => out_dir = PathBuf::from(arg),
            _ => return Err(format!("unknown flag {arg}: {USAGE}").into()),
        }
    }

    // The data: x uniform in [−π, π], y = sin(x) plus uniform noise in [−0.15, 0.15].
    let mut rng = StdRng::seed_from_u64(0);
    let xs: Vec<f32> = (0..SAMPLES).map(|_| rng.random_range(-PI..PI)).collect();
    let ys: Vec<f32> = xs
        .iter()
        .map(|x| x.sin() + rng.random_range(-NOISE..NOISE))
        .collect();
    let data = TensorDataset::new(
        Tensor::from_vec(xs.clone(), [SAMPLES, 1]),
        Tensor::from_vec(ys.clone(), [SAMPLES, 1]),
    );

    let mut model = Mlp::new(&[1, 16, 16, 1], Activation::Tanh, &mut rng);
    let mut opt = Adam::new(0.01);
    let mut mse = f32::NAN;
    for epoch in 1..=epochs {
        let (mut sum, mut batches) = (0.0, 0);
        for batch in DataLoader::new(&data, BATCH).shuffle(&mut rng) {
            let (loss, grads) = model.value_and_grad(|tape, model| {
                let prediction = model.forward(&tape.constant(batch.x.clone()));
                loss::mse(&prediction, &tape.constant(batch.y.clone()))
            });
            opt.step(&mut model, &grads);
            sum += loss;
            batches += 1;
        }
        mse = sum / batches as f32;
        if epoch == 1 || epoch % 30 == 0 || epoch == epochs {
            println!("epoch {epoch:4}   mean squared error {mse:.5}");
        }
    }
    println!(
        "(the noise alone costs {:.5}: the variance of U(−{NOISE}, {NOISE}))",
        NOISE * NOISE / 3.0
    );

    // The fit on a fine grid, against the truth.
    let grid: Vec<f32> = (0..=200)
        .map(|i| -PI + 2.0 * PI * i as f32 / 200.0)
        .collect();
    let fit = model
        .predict(&Tensor::from_vec(grid.clone(), [grid.len(), 1]))
        .to_vec();
    let worst = grid
        .iter()
        .zip(&fit)
        .map(|(x, y)| (y - x.sin()).abs())
        .fold(0.0, f32::max);
    println!("largest gap between the network and sin(x) on [−π, π]: {worst:.3}");

    let pairs = |xs: &[f32], ys: &[f32]| -> Vec<(f64, f64)> {
        xs.iter()
            .zip(ys)
            .map(|(&x, &y)| (x as f64, y as f64))
            .collect()
    };
    let truth: Vec<f32> = grid.iter().map(|x| x.sin()).collect();
    let subtitle = format!(
        "{SAMPLES} noisy samples · Adam, batch {BATCH}, {epochs} epochs · \
         mean squared error {mse:.4} · largest gap to sin(x) {worst:.3}"
    );
    let chart = LineChart::new("An MLP 1 → 16 → 16 → 1 (tanh) learns sin(x)", "x", "y")
        .subtitle(&subtitle)
        .points("training samples", Rgba::hex(0xa0a0a0), pairs(&xs, &ys))
        .line("sin(x)", Rgba::hex(0x0877bd), pairs(&grid, &truth))
        .line("the network", Rgba::hex(0xf59322), pairs(&grid, &fit));
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create the folder {}: {e}", out_dir.display()))?;
    let path = out_dir.join("regression.png");
    chart.render(760, 480).save_png(&path)?;
    println!("picture: {}", path.display());
    Ok(())
}
