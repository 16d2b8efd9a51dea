//! The loss picture: the train and test loss after every epoch, as two named curves, on a
//! logarithmic axis when the loss falls by more than a factor of 20 (as it does when a
//! network learns), so that the late epochs are not a flat line along the bottom.

use super::{encode, figures, PictureError};
use crate::plot::{Canvas, LineChart, Rgba};
use crate::snapshot::Snapshot;

/// The training curve's colour: dark, the main figure.
const TRAIN: Rgba = Rgba::hex(0x333333);
/// The test curve's colour: apart from the classes' orange and blue.
const TEST: Rgba = Rgba::hex(0x9c27b0);

/// The loss picture of `snapshot`, as PNG bytes.
pub fn loss_png(snapshot: &Snapshot) -> Result<Vec<u8>, PictureError> {
    encode(&loss_canvas(snapshot), "loss")
}

fn loss_canvas(snapshot: &Snapshot) -> Canvas {
    let history = &snapshot.history;
    let train: Vec<(f64, f64)> = history.iter().map(|p| (p.epoch as f64, p.train)).collect();
    let test: Vec<(f64, f64)> = history.iter().map(|p| (p.epoch as f64, p.test)).collect();
    let values = || {
        train
            .iter()
            .chain(&test)
            .map(|p| p.1)
            .filter(|v| v.is_finite())
    };
    let (low, high) = values().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let log = low > 0.0 && high / low > 20.0;
    let y_label = format!("loss {}", snapshot.loss_name);
    let mut chart = LineChart::new("Train and test loss by epoch", "epoch", &y_label)
        .subtitle(&figures(snapshot))
        .line("train loss", TRAIN, train)
        .line("test loss", TEST, test)
        .log_y(log);
    if history.len() < 2 {
        // One point or none makes no line; a range of a few epochs still gives an axis.
        let epoch = snapshot.epoch as f64;
        chart = chart.x_range(epoch - 1.0, epoch + 1.0);
    }
    chart.render(720, 440)
}
