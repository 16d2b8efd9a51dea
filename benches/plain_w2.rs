//! W2's training step written as plain loops over `f32` arrays, with no framework: the floor of
//! what a W2 step can cost, against which `bench_tape` sets the tape's per-op overhead. Included
//! by `examples/bench_tape.rs` with `#[path]`.
//!
//! The step is the one of `mlp::Net::w2` (2→8→8→1, tanh, binary cross-entropy with logits on a
//! batch of 10, SGD), its backward pass worked out by hand for this one network. `bench_tape`
//! checks, before it times anything, that a step here moves the parameters as the tape's step
//! does; a benchmark is the only place shendu writes a backward pass by hand.

/// Widths of W2's layers.
const IN: usize = 2;
const HIDDEN: usize = 8;
const BATCH: usize = 10;

/// W2's parameters and batch as fixed-size arrays, weights `[out][in]` as in the tape's version.
pub struct PlainW2 {
    pub w1: [[f32; IN]; HIDDEN],
    pub b1: [f32; HIDDEN],
    pub w2: [[f32; HIDDEN]; HIDDEN],
    pub b2: [f32; HIDDEN],
    pub w3: [f32; HIDDEN],
    pub b3: f32,
    x: [[f32; IN]; BATCH],
    y: [f32; BATCH],
    lr: f32,
}

impl PlainW2 {
    /// The network from the tensors `[w1, b1, w2, b2, w3, b3]` (shapes `[8, 2]`, `[8]`, `[8, 8]`,
    /// `[8]`, `[1, 8]`, `[1]`), the batch `x` (`10×2`, row by row) and targets `y`.
    pub fn new(params: &[Vec<f32>], x: &[f32], y: &[f32], lr: f32) -> Self {
        let mut net = PlainW2 {
            w1: [[0.0; IN]; HIDDEN],
            b1: [0.0; HIDDEN],
            w2: [[0.0; HIDDEN]; HIDDEN],
            b2: [0.0; HIDDEN],
            w3: [0.0; HIDDEN],
            b3: params[5][0],
            x: [[0.0; IN]; BATCH],
            y: [0.0; BATCH],
            lr,
        };
        for o in 0..HIDDEN {
            net.w1[o].copy_from_slice(&params[0][o * IN..(o + 1) * IN]);
            net.w2[o].copy_from_slice(&params[2][o * HIDDEN..(o + 1) * HIDDEN]);
        }
        net.b1.copy_from_slice(&params[1]);
        net.b2.copy_from_slice(&params[3]);
        net.w3.copy_from_slice(&params[4]);
        for (row, xs) in net.x.iter_mut().zip(x.chunks(IN)) {
            row.copy_from_slice(xs);
        }
        net.y.copy_from_slice(y);
        net
    }

    /// The parameters in the order and layout of [`PlainW2::new`].
    pub fn params(&self) -> Vec<Vec<f32>> {
        vec![
            self.w1.concat(),
            self.b1.to_vec(),
            self.w2.concat(),
            self.b2.to_vec(),
            self.w3.to_vec(),
            vec![self.b3],
        ]
    }

    /// One step: forward, mean BCE with logits, backward, SGD. Returns the loss.
    pub fn step(&mut self) -> f32 {
        let mut gw1 = [[0.0f32; IN]; HIDDEN];
        let mut gb1 = [0.0f32; HIDDEN];
        let mut gw2 = [[0.0f32; HIDDEN]; HIDDEN];
        let mut gb2 = [0.0f32; HIDDEN];
        let mut gw3 = [0.0f32; HIDDEN];
        let mut gb3 = 0.0f32;
        let mut loss = 0.0f32;
        let scale = 1.0 / BATCH as f32;
        for (x, &y) in self.x.iter().zip(&self.y) {
            let h1: [f32; HIDDEN] = std::array::from_fn(|o| {
                (self.b1[o] + self.w1[o][0] * x[0] + self.w1[o][1] * x[1]).tanh()
            });
            let h2: [f32; HIDDEN] = std::array::from_fn(|o| {
                let z: f32 = self.w2[o].iter().zip(&h1).map(|(w, h)| w * h).sum();
                (self.b2[o] + z).tanh()
            });
            let z = self.b3 + self.w3.iter().zip(&h2).map(|(w, h)| w * h).sum::<f32>();
            // softplus(z) − y·z, stable for any z; its derivative is sigmoid(z) − y.
            loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
            let dz = (1.0 / (1.0 + (-z).exp()) - y) * scale;
            gb3 += dz;
            let mut dh1 = [0.0f32; HIDDEN];
            for o in 0..HIDDEN {
                gw3[o] += dz * h2[o];
                let da2 = dz * self.w3[o] * (1.0 - h2[o] * h2[o]);
                gb2[o] += da2;
                for i in 0..HIDDEN {
                    gw2[o][i] += da2 * h1[i];
                    dh1[i] += da2 * self.w2[o][i];
                }
            }
            for o in 0..HIDDEN {
                let da1 = dh1[o] * (1.0 - h1[o] * h1[o]);
                gb1[o] += da1;
                gw1[o][0] += da1 * x[0];
                gw1[o][1] += da1 * x[1];
            }
        }
        let lr = self.lr;
        for o in 0..HIDDEN {
            for (w, g) in self.w1[o].iter_mut().zip(gw1[o]) {
                *w -= lr * g;
            }
            for (w, g) in self.w2[o].iter_mut().zip(gw2[o]) {
                *w -= lr * g;
            }
            self.b1[o] -= lr * gb1[o];
            self.b2[o] -= lr * gb2[o];
            self.w3[o] -= lr * gw3[o];
        }
        self.b3 -= lr * gb3;
        loss * scale
    }
}
