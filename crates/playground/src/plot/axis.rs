//! Axes: scales from data values to pixels (linear or logarithmic), round tick values, their
//! labels, and the drawing of an axis with its ticks, numbers and name.

use super::canvas::{Canvas, Rect};
use super::color::Rgba;
use super::text::{text_width, Align, Baseline, TextStyle, Weight};

/// The size of tick numbers, in pixels.
pub const TICK_TEXT: f32 = 13.0;
/// The size of an axis' name, in pixels.
pub const LABEL_TEXT: f32 = 15.0;
/// The widest name a left axis writes upright, in pixels; wider ones are turned.
const SHORT_NAME: f32 = LABEL_TEXT * 1.2;
/// The length of a tick mark, in pixels.
const TICK_LENGTH: f32 = 5.0;

/// A map from data values in `[min, max]` to pixels in `[start, end]`, linear or logarithmic.
/// `end` may be below `start` (a vertical axis grows upwards, towards smaller y).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    min: f64,
    max: f64,
    start: f32,
    end: f32,
    log: bool,
}

impl Scale {
    /// Values `domain.0 ..= domain.1` spread evenly over the pixels `range.0 ..= range.1`.
    /// An empty domain (min = max) is widened by one on each side so that it still maps.
    pub fn linear(domain: (f64, f64), range: (f32, f32)) -> Scale {
        let (min, max) = widen(domain, 1.0);
        Scale {
            min,
            max,
            start: range.0,
            end: range.1,
            log: false,
        }
    }

    /// Values spread by their logarithm: each power of ten gets the same length.
    ///
    /// # Panics
    /// If the domain is not positive: the caller chooses the scale after looking at the data.
    #[track_caller]
    pub fn log(domain: (f64, f64), range: (f32, f32)) -> Scale {
        assert!(
            domain.0 > 0.0 && domain.1 > 0.0,
            "Scale::log: the domain {domain:?} must be positive"
        );
        let (lo, hi) = widen((domain.0.log10(), domain.1.log10()), 0.5);
        Scale {
            min: 10f64.powf(lo),
            max: 10f64.powf(hi),
            start: range.0,
            end: range.1,
            log: true,
        }
    }

    /// Whether the scale is logarithmic.
    pub fn is_log(&self) -> bool {
        self.log
    }

    /// The smallest and largest values mapped.
    pub fn domain(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    /// The pixels the domain spans, `(start, end)`.
    pub fn range(&self) -> (f32, f32) {
        (self.start, self.end)
    }

    /// The pixel of `value` (beyond the domain, the line goes on; on a log scale, values ≤ 0
    /// have no place and map to NaN).
    pub fn map(&self, value: f64) -> f32 {
        let t = if self.log {
            if value <= 0.0 {
                return f32::NAN;
            }
            (value.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (value - self.min) / (self.max - self.min)
        };
        self.start + (self.end - self.start) * t as f32
    }

    /// Round values inside the domain to mark, about `count` of them on a linear scale (1, 2
    /// or 5 times a power of ten apart), or the powers of ten on a log scale (with 2× and 5×
    /// when the domain spans less than two decades).
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        if self.log {
            log_ticks(self.min, self.max)
        } else {
            linear_ticks(self.min, self.max, count)
        }
    }

    /// The text of a tick value, with as many decimals as the ticks' spacing needs.
    pub fn tick_label(&self, value: f64, ticks: &[f64]) -> String {
        if self.log || ticks.len() < 2 {
            format_number(value)
        } else {
            format_fixed(value, (ticks[1] - ticks[0]).abs())
        }
    }
}

fn widen((min, max): (f64, f64), by: f64) -> (f64, f64) {
    if max > min {
        (min, max)
    } else {
        (min - by, min + by)
    }
}

/// The multiple of 1, 2 or 5 × 10ᵏ closest to `span / count`.
fn nice_step(span: f64, count: usize) -> f64 {
    let raw = span / count.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction < 1.5 {
        1.0
    } else if fraction < 3.5 {
        2.0
    } else if fraction < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// About `count` round values in `[min, max]`, evenly spaced.
pub fn linear_ticks(min: f64, max: f64, count: usize) -> Vec<f64> {
    if !(min.is_finite() && max.is_finite()) || max <= min {
        return vec![min];
    }
    let step = nice_step(max - min, count);
    let first = (min / step - 1e-9).ceil() as i64;
    let last = (max / step + 1e-9).floor() as i64;
    // An exact zero rather than −0.0 or 1e−17, so that the label reads "0".
    (first..=last)
        .map(|k| if k == 0 { 0.0 } else { k as f64 * step })
        .collect()
}

/// The powers of ten in `[min, max]` (both positive), with their 2× and 5× multiples when
/// fewer than three powers fall inside.
pub fn log_ticks(min: f64, max: f64) -> Vec<f64> {
    let (lo, hi) = (min.log10().floor() as i32, max.log10().ceil() as i32);
    let inside = |v: &f64| *v >= min * (1.0 - 1e-9) && *v <= max * (1.0 + 1e-9);
    let powers: Vec<f64> = (lo..=hi).map(|k| 10f64.powi(k)).filter(inside).collect();
    if powers.len() >= 3 {
        return powers;
    }
    (lo..=hi)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(inside)
        .collect()
}

/// `value` with the decimals a spacing of `step` needs ("0.25" for a step of 0.05, "3" for a
/// step of 1), and a true minus sign.
pub fn format_fixed(value: f64, step: f64) -> String {
    let mut decimals = 0;
    while decimals < 6
        && ((step * 10f64.powi(decimals)).round() - step * 10f64.powi(decimals)).abs() > 1e-6
    {
        decimals += 1;
    }
    minus(format!("{value:.*}", decimals as usize))
}

/// `value` in few characters: "0.003", "12.5", "2e5", with a true minus sign.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    let text = if value == 0.0 || !value.is_finite() {
        format!("{value}")
    } else if !(1e-3..1e5).contains(&magnitude) {
        let exponent = magnitude.log10().floor() as i32;
        let mantissa = value / 10f64.powi(exponent);
        format!("{}e{exponent}", trim_zeros(format!("{mantissa:.2}")))
    } else {
        trim_zeros(format!("{value:.4}"))
    };
    minus(text)
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// "−" (U+2212) instead of the hyphen: the sign reads as wide as a plus.
fn minus(text: String) -> String {
    text.replace('-', "−")
}

/// Which edge of a plot an axis runs along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Horizontal, below the plot: ticks point down, the name sits under the numbers.
    Bottom,
    /// Vertical, left of the plot: ticks point left, the name reads upwards left of the
    /// numbers.
    Left,
}

/// Draws an axis at `position` (the y of a bottom axis, the x of a left one): its line along
/// the scale's pixels, a tick and a number at each of `ticks`, and its `name`, centred.
pub fn draw_axis(
    canvas: &mut Canvas,
    scale: &Scale,
    side: Side,
    position: f32,
    ticks: &[f64],
    name: &str,
) {
    let (start, end) = scale.range();
    let tick_style = TextStyle::new(TICK_TEXT);
    let name_style = TextStyle::new(LABEL_TEXT);
    match side {
        Side::Bottom => {
            canvas.line((start, position), (end, position), 1.0, Rgba::INK);
            let mut lowest = position + TICK_LENGTH;
            for &t in ticks {
                let x = scale.map(t).round() + 0.5;
                canvas.line((x, position), (x, position + TICK_LENGTH), 1.0, Rgba::INK);
                let at = (x, position + TICK_LENGTH + 2.0);
                let style = tick_style.anchor(Align::Centre, Baseline::Top);
                lowest = lowest.max(
                    canvas
                        .text(&scale.tick_label(t, ticks), at, &style)
                        .bottom(),
                );
            }
            let at = ((start + end) / 2.0, lowest + 4.0);
            canvas.text(name, at, &name_style.anchor(Align::Centre, Baseline::Top));
        }
        Side::Left => {
            canvas.line((position, start), (position, end), 1.0, Rgba::INK);
            let mut leftmost = position - TICK_LENGTH;
            for &t in ticks {
                let y = scale.map(t).round() + 0.5;
                canvas.line((position - TICK_LENGTH, y), (position, y), 1.0, Rgba::INK);
                let at = (position - TICK_LENGTH - 3.0, y);
                let style = tick_style.anchor(Align::End, Baseline::Middle);
                leftmost = leftmost.min(canvas.text(&scale.tick_label(t, ticks), at, &style).left);
            }
            let at = (leftmost - 6.0, (start + end) / 2.0);
            // A name as short as "x₂" reads better upright; a longer one is turned to fit.
            let style = if text_width(name, LABEL_TEXT, Weight::Regular) <= SHORT_NAME {
                name_style.anchor(Align::End, Baseline::Middle)
            } else {
                name_style
                    .anchor(Align::Centre, Baseline::Bottom)
                    .vertical()
            };
            canvas.text(name, at, &style);
        }
    }
}

/// The room a left axis needs beside its plot, in pixels: ticks, the widest number and the
/// name (upright when short, else turned).
pub fn left_axis_width(scale: &Scale, ticks: &[f64], name: &str) -> f32 {
    let widest = ticks
        .iter()
        .map(|&t| text_width(&scale.tick_label(t, ticks), TICK_TEXT, Weight::Regular))
        .fold(0.0, f32::max);
    let name = text_width(name, LABEL_TEXT, Weight::Regular);
    TICK_LENGTH
        + 3.0
        + widest
        + 6.0
        + if name <= SHORT_NAME {
            name
        } else {
            LABEL_TEXT * 1.2
        }
}

/// Thin grid lines across `area` at each tick of both scales.
pub fn draw_grid(canvas: &mut Canvas, area: Rect, x: (&Scale, &[f64]), y: (&Scale, &[f64])) {
    for &t in x.1 {
        let px = x.0.map(t).round() + 0.5;
        canvas.line((px, area.top), (px, area.bottom()), 1.0, Rgba::GRID);
    }
    for &t in y.1 {
        let py = y.0.map(t).round() + 0.5;
        canvas.line((area.left, py), (area.right(), py), 1.0, Rgba::GRID);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_inside() {
        assert_eq!(
            linear_ticks(-6.0, 6.0, 6),
            [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0]
        );
        assert_eq!(
            linear_ticks(0.0, 1.0, 5),
            [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(
            linear_ticks(0.0, 300.0, 5),
            [0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0]
        );
        let ticks = linear_ticks(-3.3, 3.3, 6);
        assert!(ticks.iter().all(|t| (-3.3..=3.3).contains(t)));
        assert_eq!(ticks[0], -3.0);
    }

    #[test]
    fn log_ticks_are_powers_of_ten_or_their_2_and_5_multiples() {
        assert_eq!(log_ticks(0.004, 3.0), [0.01, 0.1, 1.0]);
        assert_eq!(log_ticks(0.15, 0.9), [0.2, 0.5]);
    }

    #[test]
    fn scales_map_their_ends_to_their_pixels() {
        let s = Scale::linear((-6.0, 6.0), (100.0, 600.0));
        assert_eq!((s.map(-6.0), s.map(0.0), s.map(6.0)), (100.0, 350.0, 600.0));
        let up = Scale::log((0.01, 1.0), (400.0, 0.0));
        assert_eq!(
            (up.map(0.01), up.map(0.1), up.map(1.0)),
            (400.0, 200.0, 0.0)
        );
        assert!(up.map(0.0).is_nan());
        let flat = Scale::linear((2.0, 2.0), (0.0, 10.0));
        assert_eq!(flat.map(2.0), 5.0);
    }

    #[test]
    fn numbers_are_short_and_use_a_true_minus() {
        assert_eq!(format_fixed(-6.0, 2.0), "−6");
        assert_eq!(format_fixed(0.25, 0.05), "0.25");
        assert_eq!(format_fixed(0.6000000000000001, 0.2), "0.6");
        assert_eq!(format_number(0.001), "0.001");
        assert_eq!(format_number(0.0001), "1e−4");
        assert_eq!(format_number(0.0002), "2e−4");
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(200000.0), "2e5");
    }
}
