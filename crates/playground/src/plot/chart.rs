//! A line chart: a title, a legend row, axes with round ticks and names, a light grid, and
//! any number of named curves and point clouds, on a linear or logarithmic y axis.
//!
//! ```
//! use shendu_playground::plot::{LineChart, Rgba};
//! let chart = LineChart::new("squares", "x", "x²")
//!     .line("x²", Rgba::hex(0x0877bd), (0..=10).map(|i| (i as f64, (i * i) as f64)));
//! let canvas = chart.render(480, 320);
//! assert_eq!((canvas.width(), canvas.height()), (480, 320));
//! ```

use super::axis::{draw_axis, draw_grid, left_axis_width, Scale, Side, LABEL_TEXT, TICK_TEXT};
use super::canvas::{Canvas, Outline, Rect};
use super::color::Rgba;
use super::text::{text_width, wrap_text, Align, Baseline, TextStyle, Weight};

/// The size of a chart's title, in pixels.
const TITLE_TEXT: f32 = 17.0;
/// The size of a chart's subtitle, in pixels.
const SUBTITLE_TEXT: f32 = 13.0;
/// The size of legend entries, in pixels.
const LEGEND_TEXT: f32 = 13.0;

/// A named curve: points joined in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// Its colour.
    pub color: Rgba,
    /// Its line width, in pixels.
    pub width: f32,
    /// Its points (x, y). A point that cannot be drawn (not finite, or y ≤ 0 on a log axis)
    /// breaks the line there.
    pub points: Vec<(f64, f64)>,
}

/// A named cloud of points, drawn as small discs.
#[derive(Clone, Debug, PartialEq)]
pub struct Scatter {
    /// Its name in the legend.
    pub name: String,
    /// Its colour.
    pub color: Rgba,
    /// The discs' radius, in pixels.
    pub radius: f32,
    /// Its points (x, y); those that cannot be drawn are left out.
    pub points: Vec<(f64, f64)>,
}

/// A chart of curves and points against two axes; build it with the methods, then
/// [`render`](LineChart::render) it or [`draw`](LineChart::draw) it into part of a canvas.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// The title, above the legend (wrapped when too long for one line).
    pub title: String,
    /// A line of smaller, regular text under the title (none when empty).
    pub subtitle: String,
    /// The horizontal axis' name.
    pub x_label: String,
    /// The vertical axis' name.
    pub y_label: String,
    /// The curves, drawn in order over the point clouds.
    pub series: Vec<Series>,
    /// The point clouds.
    pub scatter: Vec<Scatter>,
    /// Whether the y axis is logarithmic (each power of ten the same height).
    pub log_y: bool,
    /// The x values shown; `None`: the data's extent.
    pub x_range: Option<(f64, f64)>,
    /// The y values shown; `None`: the data's extent with a little room above and below.
    pub y_range: Option<(f64, f64)>,
}

impl LineChart {
    /// An empty chart with a title and the names of its axes.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> LineChart {
        LineChart {
            title: title.to_string(),
            subtitle: String::new(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            scatter: Vec::new(),
            log_y: false,
            x_range: None,
            y_range: None,
        }
    }

    /// Sets the line of text under the title.
    pub fn subtitle(mut self, subtitle: &str) -> LineChart {
        self.subtitle = subtitle.to_string();
        self
    }

    /// Adds a curve 2 pixels wide.
    pub fn line(
        mut self,
        name: &str,
        color: Rgba,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> LineChart {
        self.series.push(Series {
            name: name.to_string(),
            color,
            width: 2.0,
            points: points.into_iter().collect(),
        });
        self
    }

    /// Adds a cloud of points of radius 2.5 pixels.
    pub fn points(
        mut self,
        name: &str,
        color: Rgba,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> LineChart {
        self.scatter.push(Scatter {
            name: name.to_string(),
            color,
            radius: 2.5,
            points: points.into_iter().collect(),
        });
        self
    }

    /// Makes the y axis logarithmic (or linear again).
    pub fn log_y(mut self, log: bool) -> LineChart {
        self.log_y = log;
        self
    }

    /// Shows x from `min` to `max` whatever the data.
    pub fn x_range(mut self, min: f64, max: f64) -> LineChart {
        self.x_range = Some((min, max));
        self
    }

    /// Shows y from `min` to `max` whatever the data.
    pub fn y_range(mut self, min: f64, max: f64) -> LineChart {
        self.y_range = Some((min, max));
        self
    }

    /// The chart alone on a white canvas of `width × height` pixels.
    pub fn render(&self, width: u32, height: u32) -> Canvas {
        let mut canvas = Canvas::new(width, height, Rgba::WHITE);
        let area = Rect::new(0.0, 0.0, width as f32, height as f32);
        self.draw(&mut canvas, area);
        canvas
    }

    /// Draws the chart (title, legend, axes and data) inside `area` of `canvas`.
    pub fn draw(&self, canvas: &mut Canvas, area: Rect) {
        const PAD: f32 = 12.0;
        let inner = Rect::new(
            area.left + PAD,
            area.top + PAD,
            area.width - 2.0 * PAD,
            area.height - 2.0 * PAD,
        );
        let mut top = inner.top;
        let title = TextStyle::new(TITLE_TEXT)
            .bold()
            .anchor(Align::Centre, Baseline::Top);
        for line in wrap_text(&self.title, TITLE_TEXT, Weight::Bold, inner.width) {
            top = canvas.text(&line, (inner.centre().0, top), &title).bottom() + 2.0;
        }
        let subtitle = TextStyle::new(SUBTITLE_TEXT).anchor(Align::Centre, Baseline::Top);
        for line in wrap_text(&self.subtitle, SUBTITLE_TEXT, Weight::Regular, inner.width) {
            if !line.is_empty() {
                top = canvas
                    .text(&line, (inner.centre().0, top), &subtitle)
                    .bottom()
                    + 2.0;
            }
        }
        top = self.draw_legend(canvas, inner, top + 6.0) + 8.0;

        let (x_min, x_max) = self.x_range.unwrap_or_else(|| self.extent(|p| p.0, false));
        let (y_min, y_max) = self.y_range.unwrap_or_else(|| self.padded_y());
        let bottom_room = 5.0 + 2.0 + TICK_TEXT * 1.2 + 4.0 + LABEL_TEXT * 1.2;
        let plot_bottom = inner.bottom() - bottom_room;
        let y_scale = |top: f32| {
            if self.log_y {
                Scale::log((y_min, y_max), (plot_bottom, top))
            } else {
                Scale::linear((y_min, y_max), (plot_bottom, top))
            }
        };
        let y_ticks_count = (((plot_bottom - top) / 55.0) as usize).max(2);
        let y_ticks = y_scale(top).ticks(y_ticks_count);
        let plot_left = inner.left + left_axis_width(&y_scale(top), &y_ticks, &self.y_label);
        let plot = Rect::new(
            plot_left,
            top,
            inner.right() - 8.0 - plot_left,
            plot_bottom - top,
        );
        let x_scale = Scale::linear((x_min, x_max), (plot.left, plot.right()));
        let y_scale = y_scale(plot.top);
        let x_ticks = x_scale.ticks(((plot.width / 90.0) as usize).max(2));

        draw_grid(canvas, plot, (&x_scale, &x_ticks), (&y_scale, &y_ticks));
        let at = |(x, y): (f64, f64)| {
            let p = (x_scale.map(x), y_scale.map(y));
            (x.is_finite() && y.is_finite() && p.0.is_finite() && p.1.is_finite()).then_some(p)
        };
        canvas.clipped(plot, |canvas| {
            for cloud in &self.scatter {
                for p in cloud.points.iter().filter_map(|&p| at(p)) {
                    canvas.circle(p, cloud.radius, cloud.color, None);
                }
            }
            for series in &self.series {
                // Runs of drawable points, each its own polyline.
                let mut run = Vec::new();
                for p in &series.points {
                    match at(*p) {
                        Some(p) => run.push(p),
                        None => {
                            canvas.polyline(&std::mem::take(&mut run), series.width, series.color)
                        }
                    }
                }
                canvas.polyline(&run, series.width, series.color);
            }
        });
        canvas.stroke_rect(plot, 1.0, Rgba::GRID);
        draw_axis(
            canvas,
            &x_scale,
            Side::Bottom,
            plot.bottom(),
            &x_ticks,
            &self.x_label,
        );
        draw_axis(
            canvas,
            &y_scale,
            Side::Left,
            plot.left,
            &y_ticks,
            &self.y_label,
        );
    }

    /// Draws the legend centred in `area` from `top` down, one row when it fits; returns the
    /// bottom of the last row.
    fn draw_legend(&self, canvas: &mut Canvas, area: Rect, top: f32) -> f32 {
        const SAMPLE: f32 = 24.0;
        const GAP: f32 = 22.0;
        let entries: Vec<(&str, Rgba, Option<f32>)> = self
            .scatter
            .iter()
            .map(|s| (s.name.as_str(), s.color, None))
            .chain(
                self.series
                    .iter()
                    .map(|s| (s.name.as_str(), s.color, Some(s.width))),
            )
            .filter(|(name, _, _)| !name.is_empty())
            .collect();
        if entries.is_empty() {
            return top;
        }
        let entry_width =
            |name: &str| SAMPLE + 6.0 + text_width(name, LEGEND_TEXT, Weight::Regular);
        // Rows of entries, each as wide as the area allows.
        let mut rows: Vec<Vec<_>> = Vec::new();
        let mut row_width = 0.0;
        for entry in entries {
            let w = entry_width(entry.0);
            match rows.last_mut() {
                Some(row) if row_width + GAP + w <= area.width => {
                    row.push(entry);
                    row_width += GAP + w;
                }
                _ => {
                    rows.push(vec![entry]);
                    row_width = w;
                }
            }
        }
        let row_height = LEGEND_TEXT * 1.4;
        let style = TextStyle::new(LEGEND_TEXT).anchor(Align::Start, Baseline::Middle);
        let mut y = top + row_height / 2.0;
        for row in rows {
            let total: f32 =
                row.iter().map(|e| entry_width(e.0)).sum::<f32>() + GAP * (row.len() as f32 - 1.0);
            let mut x = area.centre().0 - total / 2.0;
            for (name, color, width) in row {
                match width {
                    Some(width) => canvas.line((x, y), (x + SAMPLE, y), width.max(2.0), color),
                    None => {
                        let outline = Some(Outline {
                            color: Rgba::WHITE,
                            width: 0.5,
                        });
                        canvas.circle((x + SAMPLE / 2.0, y), 3.5, color, outline)
                    }
                }
                canvas.text(name, (x + SAMPLE + 6.0, y), &style);
                x += entry_width(name) + GAP;
            }
            y += row_height;
        }
        y - row_height / 2.0
    }

    /// The smallest and largest drawable coordinate among all points.
    fn extent(&self, coordinate: impl Fn(&(f64, f64)) -> f64, positive: bool) -> (f64, f64) {
        let values = self
            .series
            .iter()
            .flat_map(|s| &s.points)
            .chain(self.scatter.iter().flat_map(|s| &s.points))
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(coordinate)
            .filter(|v| !positive || *v > 0.0);
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
    }

    /// The data's y extent with 5% room above and below (in log terms on a log axis); (0, 1)
    /// (or (0.1, 1)) when nothing can be drawn.
    fn padded_y(&self) -> (f64, f64) {
        let (lo, hi) = self.extent(|p| p.1, self.log_y);
        if lo > hi {
            return if self.log_y { (0.1, 1.0) } else { (0.0, 1.0) };
        }
        if self.log_y {
            let (l, h) = (lo.log10(), hi.log10());
            let room = ((h - l) * 0.05).max(0.05);
            (10f64.powf(l - room), 10f64.powf(h + room))
        } else {
            let room = ((hi - lo) * 0.05).max(1e-9);
            (lo - room, hi + room)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLUE: Rgba = Rgba::hex(0x0877bd);
    const RED: Rgba = Rgba::hex(0xd62728);

    fn count(canvas: &Canvas, color: Rgba) -> usize {
        (0..canvas.height())
            .flat_map(|y| (0..canvas.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| canvas.pixel(x, y) == Some(color))
            .count()
    }

    #[test]
    fn every_series_and_cloud_leaves_its_colour_and_an_empty_chart_still_draws() {
        let chart = LineChart::new("test", "x", "y")
            .line("line", BLUE, [(0.0, 0.0), (1.0, 1.0), (2.0, 0.5)])
            .points("points", RED, [(0.5, 0.2), (1.5, 0.8)]);
        let canvas = chart.render(400, 300);
        assert!(count(&canvas, BLUE) > 100, "the line and its legend sample");
        assert!(
            count(&canvas, RED) > 10,
            "the points and their legend sample"
        );
        let empty = LineChart::new("nothing yet", "epoch", "loss")
            .log_y(true)
            .render(300, 200);
        assert!(count(&empty, Rgba::WHITE) > 0);
    }

    #[test]
    fn a_log_axis_leaves_out_what_it_cannot_show() {
        let chart = LineChart::new("loss", "epoch", "loss")
            .line(
                "loss",
                BLUE,
                [(0.0, 1.0), (1.0, 0.0), (2.0, 0.01), (3.0, f64::NAN)],
            )
            .log_y(true);
        let (low, high) = chart.padded_y();
        assert!(low < 0.01 && high > 1.0, "{low} {high}");
        assert!(count(&chart.render(400, 300), BLUE) > 20);
    }
}
