//! One neuron draws a line. A neuron computes h = a·x + b from a point x = (x1, x2): a weight
//! per input and a bias. Squashed by the sigmoid, σ(h) reads as "the probability that x is in
//! class 1", and the points where h = 0 (σ = ½) form a straight line: the neuron's decision
//! line. Training moves a and b so that the line separates two clusters of points.
//!
//! The data: 100 points around (−2, −1) (class 0, drawn `o`) and 100 around (2, 1) (class 1,
//! drawn `x`), Gaussian with standard deviation 1, so a few overlap. The neuron is a `Linear`
//! layer 2→1 trained with binary cross-entropy on its logit h and plain SGD; the example prints
//! a, b, the loss and the accuracy as it learns, then the line and a picture of the plane.
//!
//! cargo run --release --example neuron
//!
//! The Playground trains such neurons on its own data sets and draws them: with no hidden layer
//! it is this one neuron, `cargo run --release -p shendu-playground -- --dataset gauss --layers none`.

use shendu::prelude::*;

const PER_CLASS: usize = 100;
const EPOCHS: usize = 30;
// The picture: columns and rows of characters, and the part of the plane they cover.
const COLS: usize = 40;
const ROWS: usize = 20;
const X1_RANGE: (f32, f32) = (-5.0, 5.0);
const X2_RANGE: (f32, f32) = (-4.0, 4.0);

fn main() {
    // Seed 4 draws a first line that points the wrong way round (1.5% right), so that the
    // table shows the neuron turning it.
    let mut rng = StdRng::seed_from_u64(4);
    let data = two_clusters(&mut rng);
    let mut neuron = Linear::new(2, 1, &mut rng);
    let mut opt = Sgd::new(0.02);

    println!("one neuron h = a·x + b, trained on {} points", data.len());
    println!(
        "{:>5}  {:>17}  {:>7}  {:>6}  {:>8}",
        "epoch", "a = (a1, a2)", "b", "loss", "accuracy"
    );
    report(0, &neuron, &data);
    for epoch in 1..=EPOCHS {
        for batch in DataLoader::new(&data, 20).shuffle(&mut rng) {
            let (_, grads) = neuron.value_and_grad(|tape, neuron| {
                let h = neuron.forward(&tape.constant(batch.x.clone()));
                loss::bce_with_logits(&h, &tape.constant(batch.y.clone()))
            });
            opt.step(&mut neuron, &grads);
        }
        if [1, 2, 3, 5, 10, 20, EPOCHS].contains(&epoch) {
            report(epoch, &neuron, &data);
        }
    }

    let ([a1, a2], b) = weights(&neuron);
    println!(
        "\ndecision line: {a1:.3}·x1 {}·x2 {} = 0",
        signed(a2),
        signed(b)
    );
    println!("          i.e. x2 = {:.3}·x1 {}", -a1 / a2, signed(-b / a2));
    println!("points with h > 0 are called class 1 (σ(h) > ½), the others class 0:\n");
    print!("{}", picture(&neuron, &data));
}

/// Two Gaussian clusters, class 0 around (−2, −1) then class 1 around (2, 1); targets are 0/1.
fn two_clusters(rng: &mut StdRng) -> TensorDataset {
    let noise = Tensor::rand_normal([2 * PER_CLASS, 2], 0.0, 1.0, rng);
    let centre = |class| if class == 0 { [-2.0, -1.0] } else { [2.0, 1.0] };
    let classes: Vec<usize> = (0..2 * PER_CLASS).map(|i| i / PER_CLASS).collect();
    let centres: Vec<f32> = classes.iter().flat_map(|&c| centre(c)).collect();
    let labels: Vec<f32> = classes.iter().map(|&c| c as f32).collect();
    let x = &noise + &Tensor::from_vec(centres, [2 * PER_CLASS, 2]);
    TensorDataset::new(x, Tensor::from_vec(labels, [2 * PER_CLASS, 1]))
}

/// `v` as a term after another one: "+ 1.500" or "- 1.500".
fn signed(v: f32) -> String {
    format!("{} {:.3}", if v < 0.0 { '-' } else { '+' }, v.abs())
}

/// The neuron's a = (a1, a2) and b.
fn weights(neuron: &Linear) -> ([f32; 2], f32) {
    let a = neuron.weight.value().to_vec();
    let b = neuron.bias.as_ref().map_or(0.0, |b| b.value().item());
    ([a[0], a[1]], b)
}

/// Prints one line of the training table: a, b, and the loss and accuracy on all the points.
fn report(epoch: usize, neuron: &Linear, data: &TensorDataset) {
    let logits = neuron.predict(data.x());
    let tape = Tape::new();
    let loss = loss::bce_with_logits(
        &tape.constant(logits.clone()),
        &tape.constant(data.y().clone()),
    );
    let accuracy = metrics::binary_accuracy_with_logits(&logits, data.y());
    let ([a1, a2], b) = weights(neuron);
    let a = format!("({a1:.3}, {a2:.3})");
    println!(
        "{epoch:>5}  {a:>17}  {b:>7.3}  {:>6.4}  {:>7.1}%",
        loss.item(),
        100.0 * accuracy
    );
}

/// The plane as text: `o` and `x` where points of class 0 and 1 fall, `*` where the decision
/// line crosses a cell (h changes sign between its corners), `.` on the side the neuron calls
/// class 1.
fn picture(neuron: &Linear, data: &TensorDataset) -> String {
    let ([a1, a2], b) = weights(neuron);
    let h = |x1: f32, x2: f32| a1 * x1 + a2 * x2 + b;
    let (cell_w, cell_h) = (
        (X1_RANGE.1 - X1_RANGE.0) / COLS as f32,
        (X2_RANGE.1 - X2_RANGE.0) / ROWS as f32,
    );
    let mut grid = vec![vec![' '; COLS]; ROWS];
    for (r, row) in grid.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate() {
            let (left, top) = (
                X1_RANGE.0 + c as f32 * cell_w,
                X2_RANGE.1 - r as f32 * cell_h,
            );
            let corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
                .map(|(i, j)| h(left + i * cell_w, top - j * cell_h));
            if corners.iter().any(|&v| v > 0.0) && corners.iter().any(|&v| v <= 0.0) {
                *cell = '*';
            } else if corners[0] > 0.0 {
                *cell = '.';
            }
        }
    }
    let (points, labels) = (data.x().to_vec(), data.y().to_vec());
    for (p, &label) in points.chunks(2).zip(&labels) {
        let c = ((p[0] - X1_RANGE.0) / cell_w).floor();
        let r = ((X2_RANGE.1 - p[1]) / cell_h).floor();
        if (0.0..COLS as f32).contains(&c) && (0.0..ROWS as f32).contains(&r) {
            grid[r as usize][c as usize] = if label > 0.5 { 'x' } else { 'o' };
        }
    }
    let border = format!("+{}+\n", "-".repeat(COLS));
    let rows: String = grid
        .iter()
        .map(|row| format!("|{}|\n", row.iter().collect::<String>()))
        .collect();
    let axes = format!(
        "x1 from {} to {} (across), x2 from {} to {} (up)\n",
        X1_RANGE.0, X1_RANGE.1, X2_RANGE.0, X2_RANGE.1
    );
    format!("{border}{rows}{border}{axes}")
}
