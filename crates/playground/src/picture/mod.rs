//! The Playground's pictures of a [`Snapshot`], as PNG files a person can read on their own:
//!
//! - `decision.png`: the network's output over [−6, 6]² with the data points on it;
//! - `neurons.png`: every node's output over the same square, column by layer;
//! - `network.png`: the network drawn as the Playground draws it, links by weight;
//! - `loss.png`: the train and test loss over the epochs.
//!
//! Each has a `*_png` function returning the encoded bytes (for the browser page), and
//! [`write_pictures`] writes all four into a folder, each file atomically.

mod decision;
mod loss;
mod network;
mod neurons;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use shendu_nn::checkpoint::write_atomically;

pub use decision::{decision_map_area, decision_png};
pub use loss::loss_png;
pub use network::{link_width, network_png};
pub use neurons::neurons_png;

use crate::plot::{
    text_width, wrap_text, Align, Baseline, Canvas, ColorScale, Rect, Rgba, TextStyle, Weight,
};
use crate::snapshot::{HeatMap, Snapshot};

/// The Playground's colour for −1 (the orange class, negative weights).
pub const NEGATIVE: Rgba = Rgba::hex(0xf59322);
/// The Playground's colour for 0.
pub const NEUTRAL: Rgba = Rgba::hex(0xe8eaeb);
/// The Playground's colour for +1 (the blue class, positive weights).
pub const POSITIVE: Rgba = Rgba::hex(0x0877bd);

/// The Playground's colour scale: orange at −1, light grey at 0, blue at +1, linear between,
/// values beyond ±1 clamped.
pub fn playground_colors() -> ColorScale {
    ColorScale::new(vec![(-1.0, NEGATIVE), (0.0, NEUTRAL), (1.0, POSITIVE)])
}

/// What the pictures show beyond the defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PictureOptions {
    /// Draw the test points too (with a black rim, the training points having a white one).
    pub show_test: bool,
    /// Colour the decision map by the output's sign only (the class the network predicts).
    pub discretize: bool,
}

/// Why the pictures could not be made or written.
#[derive(Debug)]
pub enum PictureError {
    /// A picture could not be encoded as PNG.
    Encode {
        /// Which picture (`decision`, `neurons`, …).
        picture: &'static str,
        /// What went wrong.
        source: io::Error,
    },
    /// The file system refused: the folder could not be created or a file written.
    Io {
        /// The folder or file concerned.
        path: PathBuf,
        /// What was being done (`create the folder`, `write the picture`).
        action: &'static str,
        /// The system's error.
        source: io::Error,
    },
}

impl fmt::Display for PictureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PictureError::Encode { picture, source } => {
                write!(f, "cannot encode the {picture} picture as PNG: {source}")
            }
            PictureError::Io {
                path,
                action,
                source,
            } => write!(f, "{}: cannot {action}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PictureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PictureError::Encode { source, .. } | PictureError::Io { source, .. } => Some(source),
        }
    }
}

/// The names of the files [`write_pictures`] writes, in the order it writes them.
pub const PICTURE_FILES: [&str; 4] = ["decision.png", "neurons.png", "network.png", "loss.png"];

/// Writes `decision.png`, `neurons.png`, `network.png` and `loss.png` into `dir` (creating it
/// and its parents when missing) and returns their paths. Each file is written atomically: on
/// an error, no half-written picture and no temporary file is left behind (the pictures
/// written before the failing one stay).
pub fn write_pictures(
    dir: &Path,
    snapshot: &Snapshot,
    options: &PictureOptions,
) -> Result<Vec<PathBuf>, PictureError> {
    std::fs::create_dir_all(dir).map_err(|source| PictureError::Io {
        path: dir.to_path_buf(),
        action: "create the folder",
        source,
    })?;
    type Draw<'a> = Box<dyn Fn() -> Result<Vec<u8>, PictureError> + 'a>;
    let pictures: [Draw; 4] = [
        Box::new(|| decision_png(snapshot, options)),
        Box::new(|| neurons_png(snapshot)),
        Box::new(|| network_png(snapshot)),
        Box::new(|| loss_png(snapshot)),
    ];
    let mut written = Vec::with_capacity(PICTURE_FILES.len());
    for (name, draw) in PICTURE_FILES.into_iter().zip(pictures) {
        let path = dir.join(name);
        let bytes = draw()?;
        write_atomically(&path, |out| out.write_all(&bytes)).map_err(|source| {
            PictureError::Io {
                path: path.clone(),
                action: "write the picture",
                source,
            }
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Encodes a finished canvas.
fn encode(canvas: &Canvas, picture: &'static str) -> Result<Vec<u8>, PictureError> {
    canvas
        .encode_png()
        .map_err(|source| PictureError::Encode { picture, source })
}

/// The size of picture titles, in pixels.
const TITLE_TEXT: f32 = 16.0;
/// The size of the line of figures under a title, in pixels.
const SUBTITLE_TEXT: f32 = 13.0;
/// The margin around a picture, in pixels.
const MARGIN: f32 = 14.0;

/// The lines of a picture's title: the `title` in bold, then the snapshot's figures, each
/// wrapped to `width`.
fn title_lines(title: &str, snapshot: &Snapshot, width: f32) -> Vec<(String, Weight)> {
    let bold = wrap_at_separators(title, TITLE_TEXT, Weight::Bold, width);
    let regular = wrap_at_separators(&figures(snapshot), SUBTITLE_TEXT, Weight::Regular, width);
    let tag = |weight| move |line| (line, weight);
    bold.into_iter()
        .map(tag(Weight::Bold))
        .chain(regular.into_iter().map(tag(Weight::Regular)))
        .collect()
}

/// Wraps `text` to `width`, breaking at its " · " separators when it can (so that a setting
/// and its value stay together), and at spaces inside a part too long for a line.
fn wrap_at_separators(text: &str, size: f32, weight: Weight, width: f32) -> Vec<String> {
    const SEPARATOR: &str = " · ";
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in text.split(SEPARATOR) {
        let candidate = if line.is_empty() {
            part.to_string()
        } else {
            format!("{line}{SEPARATOR}{part}")
        };
        if text_width(&candidate, size, weight) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut pieces = wrap_text(part, size, weight, width);
        line = pieces.pop().unwrap_or_default();
        lines.extend(pieces);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The height [`draw_title`] takes for these lines.
fn title_height(lines: &[(String, Weight)]) -> f32 {
    lines.iter().map(|(_, w)| line_step(*w)).sum::<f32>() + 6.0
}

fn line_step(weight: Weight) -> f32 {
    match weight {
        Weight::Bold => TITLE_TEXT * 1.25,
        Weight::Regular => SUBTITLE_TEXT * 1.35,
    }
}

/// Draws the title lines centred on `centre_x` from `top` down.
fn draw_title(canvas: &mut Canvas, lines: &[(String, Weight)], centre_x: f32, top: f32) {
    let mut y = top;
    for (line, weight) in lines {
        let style = match weight {
            Weight::Bold => TextStyle::new(TITLE_TEXT).bold(),
            Weight::Regular => TextStyle::new(SUBTITLE_TEXT),
        };
        canvas.text(
            line,
            (centre_x, y),
            &style.anchor(Align::Centre, Baseline::Top),
        );
        y += line_step(*weight);
    }
}

/// "epoch 300 · loss ½(o − t)²: train 0.0123, test 0.0345 · accuracy: train 99.2%, test 97.6%".
fn figures(snapshot: &Snapshot) -> String {
    let mut text = format!("epoch {}", snapshot.epoch);
    if let Some(last) = snapshot.history.last() {
        text += &format!(
            " · loss {}: train {}, test {}",
            snapshot.loss_name,
            loss_text(last.train),
            loss_text(last.test)
        );
    }
    match (snapshot.train_accuracy, snapshot.test_accuracy) {
        (Some(train), Some(test)) => {
            text += &format!(
                " · accuracy: train {:.1}%, test {:.1}%",
                100.0 * train,
                100.0 * test
            )
        }
        (Some(train), None) => text += &format!(" · accuracy: train {:.1}%", 100.0 * train),
        (None, Some(test)) => text += &format!(" · accuracy: test {:.1}%", 100.0 * test),
        (None, None) => {}
    }
    text
}

/// A loss with four significant figures or so: "0.0123", "1.234e−5".
fn loss_text(loss: f64) -> String {
    if !loss.is_finite() || loss == 0.0 || loss.abs() >= 1e-3 {
        format!("{loss:.4}")
    } else {
        format!("{loss:.3e}").replace('-', "−")
    }
}

/// Paints `map` over `area` in the Playground's colours (by sign only when `discretize`).
fn draw_heat_map(canvas: &mut Canvas, map: &HeatMap, area: Rect, discretize: bool) {
    let scale = playground_colors();
    let n = map.resolution;
    if n == 0 || map.values.len() < n * n {
        // A malformed map is drawn as nothing rather than a crash: the frame stays empty.
        return;
    }
    canvas.fill_grid(area, n, n, |row, column| {
        let v = map.get(row, column);
        scale.color(if discretize && !v.is_nan() {
            if v > 0.0 {
                1.0
            } else {
                -1.0
            }
        } else {
            v
        })
    });
}

/// The side of a thumbnail of `map` close to `target` pixels: a whole number of pixels per
/// cell when the map is coarser than the target, so that its cells stay sharp and equal.
fn thumbnail_side(resolution: usize, target: u32) -> u32 {
    if resolution == 0 || resolution as u32 > target {
        target
    } else {
        (target / resolution as u32) * resolution as u32
    }
}

/// A horizontal colour bar over `area`, from −1 on the left to +1 on the right, with its three
/// values written under it and `left_text` / `right_text` beside its ends. Returns the bottom
/// of what it drew.
fn draw_horizontal_color_bar(
    canvas: &mut Canvas,
    area: Rect,
    left_text: &str,
    right_text: &str,
) -> f32 {
    let scale = playground_colors();
    let columns = area.width.round().max(1.0) as usize;
    canvas.fill_grid(area, columns, 1, |_, column| {
        scale.color(-1.0 + 2.0 * (column as f64 + 0.5) / columns as f64)
    });
    canvas.stroke_rect(area, 1.0, Rgba::GRID);
    let small = TextStyle::new(12.0);
    let mut bottom = area.bottom();
    for (value, label) in [(-1.0f32, "−1"), (0.0, "0"), (1.0, "+1")] {
        let x = area.left + area.width * (value + 1.0) / 2.0;
        canvas.line((x, area.bottom()), (x, area.bottom() + 4.0), 1.0, Rgba::INK);
        let style = small.anchor(Align::Centre, Baseline::Top);
        bottom = bottom.max(
            canvas
                .text(label, (x, area.bottom() + 5.0), &style)
                .bottom(),
        );
    }
    let side = TextStyle::new(13.0);
    let y = area.centre().1;
    canvas.text(
        left_text,
        (area.left - 8.0, y),
        &side.anchor(Align::End, Baseline::Middle),
    );
    canvas.text(
        right_text,
        (area.right() + 8.0, y),
        &side.anchor(Align::Start, Baseline::Middle),
    );
    bottom
}

/// The width a horizontal colour bar's side texts take on either side.
fn side_texts_width(left_text: &str, right_text: &str) -> f32 {
    text_width(left_text, 13.0, Weight::Regular).max(text_width(right_text, 13.0, Weight::Regular))
        + 8.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{LossPoint, Network, Problem};

    fn snapshot() -> Snapshot {
        Snapshot {
            problem: Problem::Classification,
            epoch: 12,
            history: vec![LossPoint {
                epoch: 12,
                train: 0.01234,
                test: 0.000012345,
            }],
            loss_name: "½(o − t)²".into(),
            output: HeatMap {
                resolution: 1,
                values: vec![0.0],
            },
            neurons: Vec::new(),
            network: Network {
                inputs: Vec::new(),
                layers: Vec::new(),
            },
            train: Vec::new(),
            test: Vec::new(),
            train_accuracy: Some(0.9876),
            test_accuracy: None,
            settings: String::new(),
        }
    }

    #[test]
    fn the_figures_line_says_epoch_losses_and_accuracy() {
        assert_eq!(
            figures(&snapshot()),
            "epoch 12 · loss ½(o − t)²: train 0.0123, test 1.234e−5 · accuracy: train 98.8%"
        );
    }

    #[test]
    fn titles_break_between_settings_first() {
        let text = "circle · noise 0 · features x₁, x₂, x₁², x₂² · layers 4, 2 · tanh · batch 10";
        let width = text_width(
            "circle · noise 0 · features x₁, x₂, x₁², x₂²",
            16.0,
            Weight::Bold,
        );
        let lines = wrap_at_separators(text, 16.0, Weight::Bold, width + 1.0);
        assert_eq!(
            lines,
            [
                "circle · noise 0 · features x₁, x₂, x₁², x₂²",
                "layers 4, 2 · tanh · batch 10"
            ]
        );
        let narrow = wrap_at_separators(text, 16.0, Weight::Bold, 90.0);
        assert!(narrow
            .iter()
            .all(|l| text_width(l, 16.0, Weight::Bold) <= 90.0 || !l.contains(' ')));
        assert_eq!(
            narrow.join(" · ").replace(" · ", " ").split(' ').count(),
            text.replace(" · ", " ").split(' ').count()
        );
    }

    #[test]
    fn thumbnails_keep_whole_pixels_per_cell() {
        assert_eq!(thumbnail_side(10, 96), 90);
        assert_eq!(thumbnail_side(100, 96), 96);
        assert_eq!(thumbnail_side(0, 96), 96);
    }
}
