//! Handwritten digits (workload W6): trains a 64→64→10 MLP with Adam on `data/digits.csv`, with a
//! progress bar, then prints the test accuracy, the confusion matrix and the training time, and
//! saves the model where PyTorch can load it.
//!
//! cargo run --release --example digits -- [--seed S] [--epochs E] [--out digits.safetensors]
//!
//! In PyTorch: `m = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
//! torch.nn.Linear(64, 10)); m.load_state_dict(safetensors.torch.load_file("digits.safetensors"))`.

use indicatif::{ProgressBar, ProgressStyle};
use shendu::nn::Checkpoint;

mod w6;

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "digits [--seed S] [--epochs E] [--out PATH]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut seed, mut epochs, mut out) = (0, w6::EPOCHS, "digits.safetensors".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return Ok(());
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => seed = value.parse()?,
            "--epochs" => epochs = value.parse()?,
            "--out" => out = value,
            _ => return Err(format!("unknown flag {flag}: {USAGE}").into()),
        }
    }
    let digits = w6::Digits::load(w6::DIGITS_CSV)?;
    let bar = ProgressBar::new(epochs as u64).with_style(ProgressStyle::with_template(
        "{prefix} [{bar:30}] epoch {pos}/{len} {msg} ({elapsed})",
    )?);
    bar.set_prefix(format!("training 64-64-10, seed {seed}"));
    let outcome = w6::train(&digits, seed, epochs, |_, loss| {
        bar.set_message(format!("loss {loss:.4}"));
        bar.inc(1);
    });
    bar.finish();
    println!("test accuracy: {:.2}%", 100.0 * outcome.accuracy);
    println!(
        "confusion matrix (rows: actual digit, columns: predicted):\n{}",
        outcome.confusion
    );
    let last_loss = outcome.losses.last().copied().unwrap_or(f32::NAN);
    println!(
        "training time: {:.2} s ({epochs} epochs, last epoch's mean loss {last_loss:.4})",
        outcome.seconds
    );
    outcome.model.save(&out)?;
    println!("model saved to {out}");
    Ok(())
}
