//! A small drawing toolkit for PNG pictures: an RGBA [`Canvas`] with rectangles, anti-aliased
//! lines and curves, circles with outlines and text; axes with round ticks; a [`LineChart`]
//! with named series and a legend. Pictures are written with nn's
//! [`write_atomically`](shendu_nn::checkpoint::write_atomically), so that a failed write never
//! leaves half a picture.
//!
//! Shapes are rasterised by `tiny-skia`; text by `ab_glyph` from a DejaVu Sans subset embedded
//! in the crate, so pictures look the same on a machine with no fonts installed.

mod axis;
mod canvas;
mod chart;
mod color;
mod text;

pub use axis::{
    draw_axis, draw_grid, format_fixed, format_number, left_axis_width, linear_ticks, log_ticks,
    Scale, Side, LABEL_TEXT, TICK_TEXT,
};
pub use canvas::{Canvas, Outline, Rect};
pub use chart::{LineChart, Scatter, Series};
pub use color::{ColorScale, Rgba};
pub use text::{text_width, wrap_text, Align, Baseline, TextStyle, Weight};
