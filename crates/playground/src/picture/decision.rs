//! The decision picture: the network's output over [−6, 6]² as the Playground colours it, the
//! data points on it, axes x₁ and x₂, a legend for the colours and the rims, and a title with
//! the settings and the figures of the moment.

use super::{
    draw_heat_map, draw_title, encode, playground_colors, title_height, title_lines, PictureError,
    PictureOptions, MARGIN,
};
use crate::plot::{
    draw_axis, left_axis_width, Align, Baseline, Canvas, Outline, Rect, Rgba, Scale, Side,
    TextStyle, Weight,
};
use crate::snapshot::{Point, Problem, Snapshot, EXTENT};

/// The map's side in pixels aimed at: 4 pixels a cell for the Playground's 100 × 100 map.
const MAP_SIDE: u32 = 400;
/// The points' radius in pixels (their rim lies outside).
const POINT_RADIUS: f32 = 3.5;
/// The width of the legend column right of the map.
const LEGEND_WIDTH: f32 = 150.0;

/// The decision picture of `snapshot`, as PNG bytes.
pub fn decision_png(
    snapshot: &Snapshot,
    options: &PictureOptions,
) -> Result<Vec<u8>, PictureError> {
    encode(&decision_canvas(snapshot, options), "decision")
}

/// Where the heat map lies in the decision picture of `snapshot`, in pixels: its side is a
/// whole number of pixels per cell, and its edges are x₁, x₂ = ±6. (A page showing the picture
/// can turn a click into a point with it.)
pub fn decision_map_area(snapshot: &Snapshot) -> Rect {
    Layout::of(snapshot).map
}

/// The decision picture's size and parts.
struct Layout {
    width: f32,
    height: f32,
    title: Vec<(String, Weight)>,
    map: Rect,
    ticks: Vec<f64>,
}

impl Layout {
    fn of(snapshot: &Snapshot) -> Layout {
        let resolution = snapshot.output.resolution.max(1) as u32;
        // A whole number of pixels per cell keeps every cell the same size and sharp.
        let side = ((MAP_SIDE / resolution).max(1) * resolution) as f32;
        let axis_probe = Scale::linear((-EXTENT, EXTENT), (side, 0.0));
        let ticks = axis_probe.ticks(6);
        let left = (MARGIN + left_axis_width(&axis_probe, &ticks, "x₂")).round();
        let width = (left + side + 24.0 + LEGEND_WIDTH + MARGIN).ceil();
        let title = if snapshot.settings.is_empty() {
            "The network's output"
        } else {
            &snapshot.settings
        };
        let title = title_lines(title, snapshot, width - 2.0 * MARGIN);
        let top = (MARGIN + title_height(&title) + 8.0).round();
        Layout {
            width,
            height: (top + side + 56.0 + MARGIN).ceil(),
            title,
            map: Rect::new(left, top, side, side),
            ticks,
        }
    }
}

fn decision_canvas(snapshot: &Snapshot, options: &PictureOptions) -> Canvas {
    let Layout {
        width,
        height,
        title,
        map,
        ticks,
    } = Layout::of(snapshot);
    let mut canvas = Canvas::new(width as u32, height as u32, Rgba::WHITE);
    draw_title(&mut canvas, &title, width / 2.0, MARGIN);
    draw_heat_map(&mut canvas, &snapshot.output, map, options.discretize);

    let x = Scale::linear((-EXTENT, EXTENT), (map.left, map.right()));
    let y = Scale::linear((-EXTENT, EXTENT), (map.bottom(), map.top));
    let scale = playground_colors();
    let color_of = |p: &Point| match snapshot.problem {
        Problem::Classification => scale.color(if p.label > 0.0 { 1.0 } else { -1.0 }),
        Problem::Regression => scale.color(p.label),
    };
    canvas.clipped(map, |canvas| {
        let mut draw = |points: &[Point], rim: Rgba| {
            let outline = Some(Outline {
                color: rim,
                width: 1.0,
            });
            for p in points {
                // Centred on a pixel's centre, every point is drawn alike, as crisp as a
                // disc this small can be; the shift is at most half a pixel (0.015 in x).
                let centre = (x.map(p.x1).floor() + 0.5, y.map(p.x2).floor() + 0.5);
                canvas.circle(centre, POINT_RADIUS, color_of(p), outline);
            }
        };
        draw(&snapshot.train, Rgba::WHITE);
        if options.show_test {
            draw(&snapshot.test, Rgba::BLACK);
        }
    });
    canvas.stroke_rect(
        Rect::new(
            map.left - 0.5,
            map.top - 0.5,
            map.width + 1.0,
            map.height + 1.0,
        ),
        1.0,
        Rgba::INK,
    );
    draw_axis(
        &mut canvas,
        &x,
        Side::Bottom,
        map.bottom() + 0.5,
        &ticks,
        "x₁",
    );
    draw_axis(&mut canvas, &y, Side::Left, map.left - 0.5, &ticks, "x₂");
    draw_legend(&mut canvas, snapshot, options, map.right() + 24.0, map.top);
    canvas
}

/// The legend right of the map: a vertical colour bar for the output, then what the points'
/// colours and rims mean.
fn draw_legend(
    canvas: &mut Canvas,
    snapshot: &Snapshot,
    options: &PictureOptions,
    left: f32,
    top: f32,
) {
    let heading = TextStyle::new(13.0).bold();
    let body = TextStyle::new(12.5).anchor(Align::Start, Baseline::Middle);
    let classes = snapshot.problem == Problem::Classification;
    let title = if options.discretize {
        "output's sign"
    } else {
        "output"
    };
    let mut y = canvas.text(title, (left, top), &heading).bottom() + 8.0;

    let bar = Rect::new(left, y.round(), 16.0, 180.0);
    let scale = playground_colors();
    let rows = bar.height as usize;
    let discretize = options.discretize;
    canvas.fill_grid(bar, 1, rows, |row, _| {
        let value = 1.0 - 2.0 * (row as f64 + 0.5) / rows as f64;
        scale.color(if discretize { value.signum() } else { value })
    });
    canvas.stroke_rect(bar, 1.0, Rgba::GRID);
    let (plus, minus) = if classes {
        ("+1  blue class", "−1  orange class")
    } else {
        ("+1 or more", "−1 or less")
    };
    for (value, label) in [(1.0f32, plus), (0.0, "0"), (-1.0, minus)] {
        let ty = bar.top + bar.height * (1.0 - value) / 2.0;
        canvas.line((bar.right(), ty), (bar.right() + 4.0, ty), 1.0, Rgba::INK);
        canvas.text(label, (bar.right() + 7.0, ty), &body);
    }
    y = bar.bottom() + 26.0;

    y = canvas.text("points", (left, y), &heading).bottom() + 12.0;
    let sample = |canvas: &mut Canvas, y: f32, fill: Rgba, rim: Rgba, label: &str| {
        let outline = Some(Outline {
            color: rim,
            width: 1.0,
        });
        canvas.circle((left + 6.0, y), POINT_RADIUS + 1.0, fill, outline);
        canvas.text(label, (left + 18.0, y), &body);
    };
    if classes {
        sample(canvas, y, super::POSITIVE, Rgba::WHITE, "label +1");
        y += 20.0;
        sample(canvas, y, super::NEGATIVE, Rgba::WHITE, "label −1");
        y += 20.0;
    } else {
        canvas.text("colour: the label", (left, y), &body);
        y += 20.0;
    }
    // The rims only need explaining when both kinds are drawn.
    if options.show_test {
        let grey = Rgba::hex(0xaaaaaa);
        sample(canvas, y, grey, Rgba::WHITE, "white rim: train");
        y += 20.0;
        sample(canvas, y, grey, Rgba::BLACK, "black rim: test");
    } else {
        let counts = format!("{} training points", snapshot.train.len());
        canvas.text(&counts, (left, y), &body.color(Rgba::INK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{HeatMap, Network};

    #[test]
    fn the_map_fills_a_whole_number_of_pixels_per_cell() {
        for resolution in [100, 30, 7] {
            let snapshot = Snapshot {
                problem: Problem::Classification,
                epoch: 0,
                history: Vec::new(),
                loss_name: "½(o − t)²".into(),
                output: HeatMap {
                    resolution,
                    values: vec![1.0; resolution * resolution],
                },
                neurons: Vec::new(),
                network: Network {
                    inputs: Vec::new(),
                    layers: Vec::new(),
                },
                train: Vec::new(),
                test: Vec::new(),
                train_accuracy: None,
                test_accuracy: None,
                settings: String::new(),
            };
            let canvas = decision_canvas(&snapshot, &PictureOptions::default());
            let blue = (0..canvas.height())
                .flat_map(|y| (0..canvas.width()).map(move |x| (x, y)))
                .filter(|&(x, y)| canvas.pixel(x, y) == Some(super::super::POSITIVE))
                .count() as u32;
            let side = (MAP_SIDE / resolution as u32) * resolution as u32;
            // The map, and the legend's blue class sample and the top rows of its colour bar.
            assert!(
                blue >= side * side && blue < side * side + 400,
                "{resolution}: {blue}"
            );
        }
    }
}
