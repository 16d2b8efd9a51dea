//! The network picture, drawn the way the Playground draws it: a column of nodes per layer
//! (inputs left, output right), each node showing its output as a thumbnail, links from node
//! to node as curves whose width grows with |weight| and whose colour follows its sign, and
//! each neuron's bias as a small square beside it; a legend says what widths and colours mean.

use super::neurons::layer_heading;
use super::{
    draw_heat_map, draw_title, encode, playground_colors, thumbnail_side, title_height,
    title_lines, PictureError, MARGIN,
};
use crate::plot::{
    format_number, text_width, Align, Baseline, Canvas, Rect, Rgba, TextStyle, Weight,
};
use crate::snapshot::{HeatMap, Snapshot};

/// The nodes' side in pixels aimed at.
const NODE: u32 = 40;
/// The horizontal room between two columns of nodes, where the links run.
const COLUMN_GAP: f32 = 130.0;
/// The vertical room between two nodes of a column.
const ROW_GAP: f32 = 20.0;
/// The size of the inputs' names.
const INPUT_TEXT: f32 = 15.0;
/// The bias squares' side.
const BIAS: f32 = 10.0;

/// A link's width in pixels for a weight, as the Playground has it: 1 pixel at 0, growing
/// linearly to 10 pixels at |weight| = 5, and no wider beyond.
pub fn link_width(weight: f64) -> f32 {
    let w = if weight.is_nan() { 0.0 } else { weight.abs() };
    1.0 + 9.0 * (w.min(5.0) / 5.0) as f32
}

/// The network picture of `snapshot`, as PNG bytes.
pub fn network_png(snapshot: &Snapshot) -> Result<Vec<u8>, PictureError> {
    encode(&network_canvas(snapshot), "network")
}

fn network_canvas(snapshot: &Snapshot) -> Canvas {
    let network = &snapshot.network;
    // Nodes per column: the inputs, then each layer's neurons.
    let counts: Vec<usize> = std::iter::once(network.inputs.len())
        .chain(network.layers.iter().map(|l| l.biases.len()))
        .collect();
    let columns = counts.len();
    let resolution = snapshot
        .neurons
        .iter()
        .flatten()
        .map(|m| m.resolution)
        .max();
    let side = thumbnail_side(resolution.unwrap_or(0), NODE) as f32;
    let label_style = TextStyle::new(INPUT_TEXT).anchor(Align::End, Baseline::Middle);
    let input_labels = network
        .inputs
        .iter()
        .map(|name| text_width(name, INPUT_TEXT, Weight::Regular))
        .fold(0.0, f32::max);
    let content = input_labels
        + 10.0
        + BIAS
        + 4.0
        + columns as f32 * side
        + (columns as f32 - 1.0).max(0.0) * COLUMN_GAP
        + 60.0;
    let width = (content.max(600.0) + 2.0 * MARGIN).ceil();
    let lines = title_lines(
        "The network: links by weight, nodes by output",
        snapshot,
        width - 2.0 * MARGIN,
    );
    let top = MARGIN + title_height(&lines) + 8.0;
    let nodes_top = top + 13.0 * 1.3 + 16.0;
    let step = side + ROW_GAP;
    let tallest = counts.iter().copied().max().unwrap_or(0) as f32;
    let column_height = |n: usize| n as f32 * step - ROW_GAP;
    let legend_top = nodes_top + column_height(tallest as usize).max(0.0) + 28.0;
    let height = (legend_top + 112.0 + MARGIN).ceil();

    let mut canvas = Canvas::new(width as u32, height as u32, Rgba::WHITE);
    draw_title(&mut canvas, &lines, width / 2.0, MARGIN);
    let first_left = ((width - content) / 2.0 + input_labels + 10.0 + BIAS + 4.0).round();
    // Each node's box; columns centred on the tallest one.
    let boxes: Vec<Vec<Rect>> = counts
        .iter()
        .enumerate()
        .map(|(c, &n)| {
            let left = first_left + c as f32 * (side + COLUMN_GAP);
            let offset = (column_height(tallest as usize) - column_height(n)) / 2.0;
            (0..n)
                .map(|i| {
                    Rect::new(
                        left,
                        (nodes_top + offset + i as f32 * step).round(),
                        side,
                        side,
                    )
                })
                .collect()
        })
        .collect();

    let scale = playground_colors();
    // Weak links first, so that strong ones are drawn over them.
    let mut links: Vec<(f64, Rect, Rect)> = Vec::new();
    for (k, layer) in network.layers.iter().enumerate() {
        for (j, row) in layer.weights.iter().enumerate() {
            for (i, &w) in row.iter().enumerate() {
                if let (Some(&from), Some(&to)) = (boxes[k].get(i), boxes[k + 1].get(j)) {
                    links.push((w, from, to));
                }
            }
        }
    }
    links.sort_by(|a, b| a.0.abs().total_cmp(&b.0.abs()));
    for (w, from, to) in links {
        let start = (from.right(), from.centre().1);
        let end = (to.left - 2.0, to.centre().1);
        let middle = (start.0 + end.0) / 2.0;
        let color = scale.color(w);
        canvas.curve(
            start,
            (middle, start.1),
            (middle, end.1),
            end,
            link_width(w),
            color,
        );
    }

    let heading = TextStyle::new(13.0)
        .bold()
        .anchor(Align::Centre, Baseline::Top);
    for (c, column) in boxes.iter().enumerate() {
        let centre = first_left + c as f32 * (side + COLUMN_GAP) + side / 2.0;
        canvas.text(&layer_heading(c, columns), (centre, top), &heading);
        for (i, node) in column.iter().enumerate() {
            draw_node(
                &mut canvas,
                *node,
                snapshot.neurons.get(c).and_then(|m| m.get(i)),
            );
            if c == 0 {
                let name = network.inputs[i].as_str();
                canvas.text(name, (node.left - 6.0, node.centre().1), &label_style);
            } else if let Some(&bias) = network.layers[c - 1].biases.get(i) {
                let square = Rect::new(node.left - BIAS - 3.0, node.bottom() - BIAS, BIAS, BIAS);
                canvas.fill_rect(square, scale.color(bias));
                canvas.stroke_rect(square, 1.0, Rgba::INK);
            }
        }
    }
    draw_legend(&mut canvas, width, legend_top);
    canvas
}

/// A node: its heat map when the snapshot has one, else a blank square, in a thin frame.
fn draw_node(canvas: &mut Canvas, node: Rect, map: Option<&HeatMap>) {
    match map {
        Some(map) => draw_heat_map(canvas, map, node, false),
        None => canvas.fill_rect(node, super::NEUTRAL),
    }
    let frame = Rect::new(
        node.left - 0.5,
        node.top - 0.5,
        node.width + 1.0,
        node.height + 1.0,
    );
    canvas.stroke_rect(frame, 1.0, Rgba::hex(0x999999));
}

/// Samples of links for a few weights, and the meaning of nodes and bias squares.
fn draw_legend(canvas: &mut Canvas, width: f32, top: f32) {
    let scale = playground_colors();
    let body = TextStyle::new(12.5).anchor(Align::Start, Baseline::Middle);
    let small = TextStyle::new(12.0).anchor(Align::Centre, Baseline::Top);
    let weights = [-5.0, -2.0, -0.5, 0.0, 0.5, 2.0, 5.0];
    let sample = 44.0;
    let gap = 12.0;
    let caption = "link weight:";
    let caption_width = text_width(caption, 12.5, Weight::Regular) + 10.0;
    let row = caption_width + weights.len() as f32 * (sample + gap) - gap;
    let mut x = ((width - row) / 2.0).round();
    let y = top + 10.0;
    canvas.text(caption, (x, y), &body);
    x += caption_width;
    for w in weights {
        canvas.line((x, y), (x + sample, y), link_width(w), scale.color(w));
        let label = if w > 0.0 {
            format!("+{}", format_number(w))
        } else {
            format_number(w)
        };
        canvas.text(&label, (x + sample / 2.0, y + 9.0), &small);
        x += sample + gap;
    }
    let centre = TextStyle::new(12.5).anchor(Align::Centre, Baseline::Top);
    let notes = [
        "width grows with |weight| up to 5 · blue: positive, orange: negative",
        "node: its output over [−6, 6]² (orange −1, grey 0, blue +1)",
    ];
    let mut y = top + 36.0;
    for note in notes {
        canvas.text(note, (width / 2.0, y), &centre);
        y += 18.0;
    }
    let bias_note = "small square left of a neuron: its bias, on the same colours";
    let note_width = text_width(bias_note, 12.5, Weight::Regular) + BIAS + 8.0;
    let left = ((width - note_width) / 2.0).round();
    let square = Rect::new(left, (y + 3.0).round(), BIAS, BIAS);
    canvas.fill_rect(square, scale.color(0.6));
    canvas.stroke_rect(square, 1.0, Rgba::INK);
    canvas.text(bias_note, (left + BIAS + 8.0, square.centre().1), &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_width_grows_with_the_weight_and_stops_at_five() {
        assert_eq!(link_width(0.0), 1.0);
        assert_eq!(link_width(-2.5), 5.5);
        assert_eq!(link_width(5.0), 10.0);
        assert_eq!(link_width(50.0), 10.0);
        assert_eq!(link_width(f64::NAN), 1.0);
    }
}
