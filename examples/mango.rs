//! Is this mango sweet? A classifier learns the answer from examples: mangoes described by three
//! features (colour from 0 = green to 1 = yellow/red, size in grams, softness from 0 = hard to
//! 1 = mushy), each labelled sweet (1) or not (0), and it then answers for mangoes it has never
//! seen, with a probability.
//!
//! Where the labels come from: the mangoes are made up (seeded), and a hidden rule, which the
//! model never sees, decides which are sweet:
//!
//!   sweetness = 2·colour + 2·softness + grams/300, minus 3 if overripe (softness > 0.9),
//!   plus a little noise (Gaussian, σ = 0.3): the mango is sweet if sweetness > 2.75.
//!
//! The noise stands for what the three features do not tell: two mangoes alike in all three
//! can taste different, so no model can be right every time. The model is a small network
//! 3→8→1 (tanh) trained with Adam on binary cross-entropy, on standardised features (each
//! shifted and scaled to mean 0 and variance 1 on the training mangoes), for shuffled epochs.
//!
//! cargo run --release --example mango

use rand::Rng;
use shendu::prelude::*;

const MANGOES: usize = 1000;
const THRESHOLD: f32 = 2.75;
const EPOCHS: usize = 100;

/// The hidden rule, without its noise.
fn sweetness(colour: f32, grams: f32, softness: f32) -> f32 {
    let overripe = if softness > 0.9 { 3.0 } else { 0.0 };
    2.0 * colour + 2.0 * softness + grams / 300.0 - overripe
}

fn main() {
    let mut rng = StdRng::seed_from_u64(7);
    let mangoes = make_mangoes(&mut rng);
    let sweet = mangoes.y().sum_all().item();
    let (train, test) = mangoes.split(0.8, &mut rng);
    println!("the hidden rule: sweetness = 2·colour + 2·softness + grams/300,");
    println!(
        "  minus 3 if overripe (softness > 0.9), plus noise (σ = 0.3); sweet if > {THRESHOLD}"
    );
    println!(
        "{MANGOES} mangoes, {sweet} of them sweet: {} to learn from, {} to test on\n",
        train.len(),
        test.len()
    );

    // Statistics from the training mangoes only: the test set must stay unseen.
    let scaler = Standardizer::fit(train.x());
    let rule_agrees = rule_accuracy(&test);
    let (train, test) = (
        train.map_x(|x| scaler.transform(x)),
        test.map_x(|x| scaler.transform(x)),
    );
    let mut model = Mlp::new(&[3, 8, 1], Activation::Tanh, &mut rng);
    let mut opt = Adam::new(0.01);
    println!("epoch  train loss  train accuracy  test accuracy");
    for epoch in 1..=EPOCHS {
        let mut loss_sum = 0.0;
        for batch in DataLoader::new(&train, 32).shuffle(&mut rng) {
            let (loss, grads) = model.value_and_grad(|tape, model| {
                let logits = model.forward(&tape.constant(batch.x.clone()));
                loss::bce_with_logits(&logits, &tape.constant(batch.y.clone()))
            });
            opt.step(&mut model, &grads);
            loss_sum += loss * batch.len() as f32;
        }
        if [1, 5, 10, 25, 50, EPOCHS].contains(&epoch) {
            println!(
                "{epoch:>5}  {:>10.4}  {:>13.1}%  {:>12.1}%",
                loss_sum / train.len() as f32,
                100.0 * accuracy(&model, &train),
                100.0 * accuracy(&model, &test)
            );
        }
    }
    println!(
        "\ntest accuracy {:.1}%; the rule without its noise agrees with {:.1}% of the test \
         labels,\nabout the best any model can do\n",
        100.0 * accuracy(&model, &test),
        100.0 * rule_agrees
    );

    let new_mangoes = [
        ("a large, yellow, soft mango", 0.9, 400.0, 0.7),
        ("a small, green, hard mango", 0.1, 180.0, 0.1),
        ("a medium, orange, firm mango", 0.6, 280.0, 0.4),
        ("a small, yellow, soft mango", 0.85, 170.0, 0.75),
        ("a large, green, soft mango", 0.2, 420.0, 0.8),
        ("a large, red, mushy mango", 0.95, 400.0, 0.97),
    ];
    let x: Vec<f32> = new_mangoes.iter().flat_map(|m| [m.1, m.2, m.3]).collect();
    let x = scaler.transform(&Tensor::from_vec(x, [new_mangoes.len(), 3]));
    let p_sweet = model.predict(&x).sigmoid().to_vec();
    println!(
        "{:<30} {:>6} {:>6} {:>8}  {:>8}  the rule says",
        "a new mango", "colour", "grams", "softness", "P(sweet)"
    );
    for ((words, colour, grams, softness), p) in new_mangoes.iter().zip(p_sweet) {
        let verdict = if sweetness(*colour, *grams, *softness) > THRESHOLD {
            "sweet"
        } else {
            "not sweet"
        };
        println!(
            "{words:<30} {colour:>6.2} {grams:>6.0} {softness:>8.2}  {:>7.1}%  {verdict}",
            100.0 * p
        );
    }
}

/// Mangoes with colour ~ U(0, 1), grams ~ U(150, 450), softness ~ U(0, 1), labelled by the rule.
fn make_mangoes(rng: &mut StdRng) -> TensorDataset {
    let (mut x, mut y) = (Vec::with_capacity(3 * MANGOES), Vec::with_capacity(MANGOES));
    let noise = Tensor::rand_normal([MANGOES], 0.0, 0.3, rng).to_vec();
    for noise in noise {
        let colour: f32 = rng.random();
        let grams = rng.random_range(150.0..450.0);
        let softness: f32 = rng.random();
        let sweet = sweetness(colour, grams, softness) + noise > THRESHOLD;
        x.extend([colour, grams, softness]);
        y.push(if sweet { 1.0 } else { 0.0 });
    }
    TensorDataset::new(
        Tensor::from_vec(x, [MANGOES, 3]),
        Tensor::from_vec(y, [MANGOES, 1]),
    )
}

/// The fraction of `data`'s (raw, unscaled) mangoes whose label the noiseless rule gives.
fn rule_accuracy(data: &TensorDataset) -> f64 {
    let (x, y) = (data.x().to_vec(), data.y().to_vec());
    let agree = x
        .chunks(3)
        .zip(&y)
        .filter(|&(m, &label)| (sweetness(m[0], m[1], m[2]) > THRESHOLD) == (label > 0.5));
    agree.count() as f64 / data.len() as f64
}

/// The fraction of `data` the model classifies right (logit ≥ 0 means sweet).
fn accuracy(model: &Mlp, data: &TensorDataset) -> f64 {
    metrics::binary_accuracy_with_logits(&model.predict(data.x()), data.y())
}
