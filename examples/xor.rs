//! XOR: why networks have hidden layers. The four corners of the unit square, labelled 1 where
//! exactly one coordinate is 1:
//!
//!   (0, 0) → 0    (0, 1) → 1    (1, 0) → 1    (1, 1) → 0
//!
//! A single neuron (a `Linear` 2→1 and a sigmoid) can only split the plane with a line, and no
//! line puts (0, 0) and (1, 1) on one side and (0, 1) and (1, 0) on the other: if h = a·x + b is
//! negative at (0, 0) and (1, 1), the sum of those two values, a1 + a2 + 2b, is negative; but it
//! is also the sum of h at (0, 1) and (1, 0), which would both have to be positive. So at most 3
//! of the 4 corners (75%) can be right. Trained with cross-entropy, the neuron does even less:
//! the best it can do is to be unsure everywhere, every probability near ½.
//!
//! One hidden layer of 4 tanh neurons (an `Mlp` 2→4→1) bends the boundary and gets all four
//! right. Both models train on the four points with Adam; every figure printed comes from them.
//!
//! cargo run --release --example xor
//!
//! The Playground draws the same on its own XOR data set, neuron by neuron:
//! `cargo run --release -p shendu-playground -- --dataset xor`.

use shendu::prelude::*;

const STEPS: usize = 1000;

fn main() {
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [4, 2]);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], [4, 1]);
    let corners = TensorDataset::new(x, y);
    let mut rng = StdRng::seed_from_u64(0);

    println!("1. one neuron, a line: sigmoid(a·x + b)");
    let mut line = Linear::new(2, 1, &mut rng);
    train(&mut line, &corners);
    show(&line, &corners);
    println!("   no line separates the corners (the docs of examples/xor.rs say why), so at");
    println!("   most 3 of 4 can be right; cross-entropy prefers h ≈ 0, p ≈ ½ everywhere (loss");
    println!(
        "   ln 2 = 0.6931) to being sure and wrong, and the sign of the tiny h left decides.\n"
    );

    println!("2. a hidden layer: 2 → 4 (tanh) → 1");
    let mut network = Mlp::new(&[2, 4, 1], Activation::Tanh, &mut rng);
    train(&mut network, &corners);
    show(&network, &corners);
    println!("   the hidden neurons draw lines of their own; the output neuron combines them.");
    println!("\nsee them drawn: cargo run --release -p shendu-playground -- --dataset xor");
}

/// Full-batch training on the four corners with Adam, printing the loss a few times.
fn train<M: Forward>(model: &mut M, corners: &TensorDataset) {
    let mut opt = Adam::new(0.05);
    print!("   loss by step:");
    for step in 1..=STEPS {
        let (loss, grads) = model.value_and_grad(|tape, model| {
            let logits = model.forward(&tape.constant(corners.x().clone()));
            loss::bce_with_logits(&logits, &tape.constant(corners.y().clone()))
        });
        opt.step(model, &grads);
        if [1, 10, 100, STEPS].contains(&step) {
            print!("  {step}: {loss:.4}");
        }
    }
    println!();
}

/// The model's probability of class 1 at each corner, and its accuracy.
fn show<M: Forward>(model: &M, corners: &TensorDataset) {
    let logits = model.predict(corners.x());
    let p = logits.sigmoid().to_vec();
    println!("   x1  x2  target   logit h  P(class 1)  predicted (h ≥ 0 means 1)");
    let (x, y, h) = (corners.x().to_vec(), corners.y().to_vec(), logits.to_vec());
    for (((point, target), h), p) in x.chunks(2).zip(&y).zip(&h).zip(&p) {
        let predicted = if *h >= 0.0 { 1.0 } else { 0.0 };
        let mark = if predicted == *target { "" } else { "  wrong" };
        println!(
            "   {:>2}  {:>2}  {target:>6}  {h:>+8.3}  {p:>10.4}  {predicted:>9}{mark}",
            point[0], point[1]
        );
    }
    let accuracy = metrics::binary_accuracy_with_logits(&logits, corners.y());
    println!("   accuracy: {:.0}%", 100.0 * accuracy);
}
