//! The training loop of the design notes ("What a user writes"), as a user writes it after
//! `use shendu::prelude::*`: if a name in it moves, this stops compiling. Where it differs from
//! the sketch, it says why.

use shendu::prelude::*;

#[test]
fn the_design_sketch_trains_a_spiral_and_saves_it() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(0);
    // The Playground labels its classes ±1; binary cross-entropy wants 0/1 targets.
    let (train, test) = playground::spiral(500, 0.0, &mut rng)
        .map_y(|y| (y + 1.0) / 2.0)
        .split(0.5, &mut rng);
    // The annotation picks f32, which the sketch leaves to inference (the data and the model are
    // generic over the element type, and nothing else in the loop fixes it).
    let mut model: Mlp = Mlp::new(&[2, 8, 8, 1], Activation::Tanh, &mut rng);
    let mut opt = Sgd::new(0.03);
    let mut last_loss = f32::NAN;
    for _epoch in 0..200 {
        for batch in DataLoader::new(&train, 10).shuffle(&mut rng) {
            // Records, differentiates and drops the tape; returns the loss value and the
            // gradients by parameter.
            let (loss, grads) = model.value_and_grad(|tape, model| {
                let logits = model.forward(&tape.constant(batch.x.clone()));
                loss::bce_with_logits(&logits, &tape.constant(batch.y.clone()))
            });
            opt.step(&mut model, &grads); // in place: no tape holds the parameters any more
            last_loss = loss;
        }
    }
    let dir = std::env::temp_dir().join(format!("shendu-design-sketch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("model.safetensors");
    model.save(&path)?;

    // What the loop achieved, and that the file holds it. A 2-8-8-1 net on raw coordinates
    // with plain SGD learns the spiral only in part (the Playground adds sin features for it):
    // the check is that the training loss fell well below chance's ln 2 = 0.693 and that most
    // training points are right.
    let tape = Tape::new();
    let logits = model.forward(&tape.constant(train.x().clone()));
    let train_loss = loss::bce_with_logits(&logits, &tape.constant(train.y().clone())).item();
    let train_accuracy = metrics::binary_accuracy_with_logits(logits.value(), train.y());
    assert!(
        train_loss < 0.6 && train_accuracy > 0.6 && last_loss.is_finite(),
        "training loss {train_loss}, training accuracy {train_accuracy}"
    );
    let mut restored: Mlp = Mlp::new(&[2, 8, 8, 1], Activation::Tanh, &mut rng);
    restored.load(&path)?;
    assert_eq!(
        restored.predict(test.x()).to_vec(),
        model.predict(test.x()).to_vec()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
