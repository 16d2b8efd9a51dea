//! The neurons picture: every node's output over [−6, 6]² as a small heat map, one column per
//! layer (the inputs, each hidden layer, the output), each map labelled.

use super::{
    draw_heat_map, draw_horizontal_color_bar, draw_title, encode, side_texts_width, thumbnail_side,
    title_height, title_lines, PictureError, MARGIN,
};
use crate::plot::{text_width, Align, Baseline, Canvas, Rect, Rgba, TextStyle, Weight};
use crate::snapshot::Snapshot;

/// The thumbnails' side in pixels aimed at.
const THUMBNAIL: u32 = 88;
/// The size of the labels under the maps and of the column headings.
const LABEL_TEXT: f32 = 12.5;
/// The room between columns.
const COLUMN_GAP: f32 = 28.0;

/// The neurons picture of `snapshot`, as PNG bytes.
pub fn neurons_png(snapshot: &Snapshot) -> Result<Vec<u8>, PictureError> {
    encode(&neurons_canvas(snapshot), "neurons")
}

/// The label of node `index` of layer `layer` (0: the inputs) among `layers` layers.
pub(super) fn node_label(snapshot: &Snapshot, layer: usize, index: usize) -> String {
    let layers = snapshot.neurons.len();
    if layer == 0 {
        snapshot
            .network
            .inputs
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("input {}", index + 1))
    } else if layer + 1 == layers {
        "output".to_string()
    } else {
        format!("L{layer} N{}", index + 1)
    }
}

/// The heading of a column of nodes.
pub(super) fn layer_heading(layer: usize, layers: usize) -> String {
    if layer == 0 {
        "inputs".to_string()
    } else if layer + 1 == layers {
        "output".to_string()
    } else {
        format!("hidden layer {layer}")
    }
}

fn neurons_canvas(snapshot: &Snapshot) -> Canvas {
    let layers = &snapshot.neurons;
    let resolution = layers
        .iter()
        .flatten()
        .map(|m| m.resolution)
        .max()
        .unwrap_or(0);
    let side = thumbnail_side(resolution, THUMBNAIL) as f32;
    let heading = TextStyle::new(13.0)
        .bold()
        .anchor(Align::Centre, Baseline::Top);
    let label = TextStyle::new(LABEL_TEXT).anchor(Align::Centre, Baseline::Top);
    let column_widths: Vec<f32> = (0..layers.len())
        .map(|l| {
            let labels = (0..layers[l].len())
                .map(|i| text_width(&node_label(snapshot, l, i), LABEL_TEXT, Weight::Regular));
            let head = text_width(&layer_heading(l, layers.len()), 13.0, Weight::Bold);
            labels.fold(side.max(head), f32::max)
        })
        .collect();
    // At least one row, so that an empty snapshot still has room for its note.
    let tallest = layers.iter().map(Vec::len).max().unwrap_or(0).max(1) as f32;
    let node_step = side + 6.0 + LABEL_TEXT * 1.3 + 12.0;
    let bar_texts = side_texts_width("negative", "positive");
    let content = column_widths.iter().sum::<f32>() + COLUMN_GAP * (layers.len() as f32 - 1.0);
    let width = (content.max(240.0 + 2.0 * bar_texts).max(560.0) + 2.0 * MARGIN).ceil();
    let lines = title_lines(
        "Every node's output over [−6, 6]²",
        snapshot,
        width - 2.0 * MARGIN,
    );
    let top = MARGIN + title_height(&lines) + 8.0;
    let nodes_top = top + 13.0 * 1.3 + 10.0;
    let legend_top = nodes_top + tallest * node_step + 8.0;
    let height = (legend_top + 60.0 + MARGIN).ceil();

    let mut canvas = Canvas::new(width as u32, height as u32, Rgba::WHITE);
    draw_title(&mut canvas, &lines, width / 2.0, MARGIN);
    if layers.is_empty() {
        let style = TextStyle::new(13.0).anchor(Align::Centre, Baseline::Top);
        canvas.text(
            "(this snapshot has no nodes)",
            (width / 2.0, nodes_top),
            &style,
        );
    }
    let mut left = ((width - content) / 2.0).round();
    for (l, maps) in layers.iter().enumerate() {
        let centre = left + column_widths[l] / 2.0;
        canvas.text(&layer_heading(l, layers.len()), (centre, top), &heading);
        for (i, map) in maps.iter().enumerate() {
            let y = nodes_top + i as f32 * node_step;
            let area = Rect::new((centre - side / 2.0).round(), y.round(), side, side);
            draw_heat_map(&mut canvas, map, area, false);
            canvas.stroke_rect(
                Rect::new(area.left - 0.5, area.top - 0.5, side + 1.0, side + 1.0),
                1.0,
                Rgba::GRID,
            );
            let at = (centre, area.bottom() + 6.0);
            canvas.text(&node_label(snapshot, l, i), at, &label);
        }
        left += column_widths[l] + COLUMN_GAP;
    }
    let bar = Rect::new(
        (width / 2.0 - 120.0).round(),
        legend_top.round(),
        240.0,
        12.0,
    );
    let caption = TextStyle::new(12.5).anchor(Align::Centre, Baseline::Top);
    let bottom = draw_horizontal_color_bar(&mut canvas, bar, "negative", "positive");
    canvas.text(
        "each map: the node's value at each point of the square",
        (width / 2.0, bottom + 6.0),
        &caption,
    );
    canvas
}
