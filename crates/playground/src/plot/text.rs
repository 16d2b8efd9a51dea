//! Text on a canvas: one line at a time, in DejaVu Sans (regular or bold), anti-aliased,
//! horizontal or turned a quarter left (for a vertical axis' label).
//!
//! The fonts are embedded in the binary (`fonts/`, with their licence), subset to the
//! characters pictures use, so that a machine with no fonts installed draws the same text.
//! A character outside the subset shows as the font's empty box.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};
use tiny_skia::{Pixmap, PremultipliedColorU8};

use super::canvas::Rect;
use super::color::Rgba;

/// Regular or bold type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Weight {
    /// Body text, ticks, legends.
    #[default]
    Regular,
    /// Titles.
    Bold,
}

/// Which point of the text's box, along the line, lies on the anchor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    /// The anchor is where the text starts.
    #[default]
    Start,
    /// The anchor is the middle of the text.
    Centre,
    /// The anchor is where the text ends.
    End,
}

/// Which point of the text's box, across the line, lies on the anchor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Baseline {
    /// The anchor is at the top of the line (above the tallest letters).
    #[default]
    Top,
    /// The anchor is halfway between the top and the bottom of the line.
    Middle,
    /// The anchor is at the bottom of the line (below the descenders).
    Bottom,
}

/// How a line of text looks and where it sits relative to its anchor point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextStyle {
    /// The line's height in pixels, from the top of the tallest letters to the bottom of the
    /// descenders (capital letters are about 0.63 of it).
    pub size: f32,
    /// The colour of the letters.
    pub color: Rgba,
    /// Regular or bold.
    pub weight: Weight,
    /// The anchor's place along the line.
    pub align: Align,
    /// The anchor's place across the line.
    pub baseline: Baseline,
    /// Whether the line is turned a quarter left, to read from bottom to top.
    pub vertical: bool,
}

impl TextStyle {
    /// Regular dark-grey text of `size` pixels, anchored at its top left.
    pub fn new(size: f32) -> TextStyle {
        TextStyle {
            size,
            color: Rgba::INK,
            weight: Weight::Regular,
            align: Align::Start,
            baseline: Baseline::Top,
            vertical: false,
        }
    }

    /// The same in bold.
    pub fn bold(self) -> TextStyle {
        TextStyle {
            weight: Weight::Bold,
            ..self
        }
    }

    /// The same in another colour.
    pub fn color(self, color: Rgba) -> TextStyle {
        TextStyle { color, ..self }
    }

    /// The same anchored elsewhere: `align` along the line, `baseline` across it.
    pub fn anchor(self, align: Align, baseline: Baseline) -> TextStyle {
        TextStyle {
            align,
            baseline,
            ..self
        }
    }

    /// The same turned a quarter left, reading from bottom to top.
    pub fn vertical(self) -> TextStyle {
        TextStyle {
            vertical: true,
            ..self
        }
    }
}

/// The width in pixels of `text` on one line at `size` and `weight`.
pub fn text_width(text: &str, size: f32, weight: Weight) -> f32 {
    layout(text, size, weight).width
}

/// Splits `text` at spaces into lines no wider than `max_width` pixels (a single word wider
/// than that gets a line of its own).
pub fn wrap_text(text: &str, size: f32, weight: Weight, max_width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if line.is_empty() || text_width(&candidate, size, weight) <= max_width {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn font(weight: Weight) -> &'static FontRef<'static> {
    static FONTS: OnceLock<[FontRef<'static>; 2]> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        // The files are part of the source: a parse failure is a broken build, not bad input.
        let parse = |bytes: &'static [u8]| {
            FontRef::try_from_slice(bytes).expect("the embedded DejaVu Sans subset parses")
        };
        [
            parse(include_bytes!("fonts/DejaVuSans.ttf")),
            parse(include_bytes!("fonts/DejaVuSans-Bold.ttf")),
        ]
    });
    match weight {
        Weight::Regular => &fonts[0],
        Weight::Bold => &fonts[1],
    }
}

/// A line's glyphs placed with the top of the line at y = 0, and its extent.
struct Layout {
    glyphs: Vec<Glyph>,
    width: f32,
    height: f32,
    weight: Weight,
}

fn layout(text: &str, size: f32, weight: Weight) -> Layout {
    let scaled = font(weight).as_scaled(PxScale::from(size));
    let mut caret = 0.0;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let glyph = scaled
            .glyph_id(c)
            .with_scale_and_position(size, point(caret, scaled.ascent()));
        caret += scaled.h_advance(glyph.id);
        glyphs.push(glyph);
    }
    Layout {
        glyphs,
        width: caret,
        height: scaled.ascent() - scaled.descent(),
        weight,
    }
}

/// Draws one line of `text` with its anchor at `at`, and returns the box it occupies.
pub(crate) fn draw_text(
    pixmap: &mut Pixmap,
    text: &str,
    at: (f32, f32),
    style: &TextStyle,
) -> Rect {
    let line = layout(text, style.size, style.weight);
    let (w, h) = (line.width.ceil(), line.height.ceil());
    let along = match style.align {
        Align::Start => 0.0,
        Align::Centre => w / 2.0,
        Align::End => w,
    };
    let across = match style.baseline {
        Baseline::Top => 0.0,
        Baseline::Middle => h / 2.0,
        Baseline::Bottom => h,
    };
    // Whole-pixel boxes keep the same text at the same anchor pixel-identical everywhere.
    let bounds = if style.vertical {
        // The line's start is at the bottom, its top edge on the left.
        Rect::new((at.0 - across).round(), (at.1 + along - w).round(), h, w)
    } else {
        Rect::new((at.0 - along).round(), (at.1 - across).round(), w, h)
    };
    let font = font(line.weight);
    for glyph in line.glyphs {
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue; // a space
        };
        let min = outlined.px_bounds().min;
        outlined.draw(|gx, gy, coverage| {
            // (tx, ty): the pixel in the unturned line, whose top left is (0, 0).
            let tx = min.x as i64 + gx as i64;
            let ty = min.y as i64 + gy as i64;
            let (x, y) = if style.vertical {
                (
                    bounds.left as i64 + ty,
                    bounds.top as i64 + (w as i64 - 1 - tx),
                )
            } else {
                (bounds.left as i64 + tx, bounds.top as i64 + ty)
            };
            blend(pixmap, x, y, style.color, coverage);
        });
    }
    bounds
}

/// Paints `color` over the pixel (x, y) with the given coverage (source-over).
fn blend(pixmap: &mut Pixmap, x: i64, y: i64, color: Rgba, coverage: f32) {
    let (width, height) = (pixmap.width() as i64, pixmap.height() as i64);
    if x < 0 || y < 0 || x >= width || y >= height {
        return;
    }
    let alpha = coverage.clamp(0.0, 1.0) * color.a as f32 / 255.0;
    if alpha <= 0.0 {
        return;
    }
    let pixel = &mut pixmap.pixels_mut()[(y * width + x) as usize];
    let keep = 1.0 - alpha;
    let out_a = alpha * 255.0 + pixel.alpha() as f32 * keep;
    let channel = |src: u8, dst: u8| (src as f32 * alpha + dst as f32 * keep).min(out_a);
    let (r, g, b) = (
        channel(color.r, pixel.red()),
        channel(color.g, pixel.green()),
        channel(color.b, pixel.blue()),
    );
    let a = out_a.round() as u8;
    let clamp = |c: f32| (c.round() as u8).min(a);
    if let Some(p) = PremultipliedColorU8::from_rgba(clamp(r), clamp(g), clamp(b), a) {
        *pixel = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_text_is_wider_and_bold_is_wider_than_regular() {
        let short = text_width("epoch", 14.0, Weight::Regular);
        let long = text_width("epoch 100", 14.0, Weight::Regular);
        assert!(short > 20.0 && long > short, "{short} {long}");
        assert!(text_width("epoch", 14.0, Weight::Bold) > short);
        assert_eq!(text_width("", 14.0, Weight::Regular), 0.0);
    }

    #[test]
    fn the_subset_has_the_characters_pictures_use() {
        for c in "x₁x₂ −1 ½(o − t)² · × π ≥ … é".chars() {
            assert!(
                c == ' ' || font(Weight::Regular).glyph_id(c).0 != 0,
                "no glyph for {c:?}"
            );
        }
    }

    #[test]
    fn wrapping_keeps_every_word_and_each_line_fits() {
        let text = "spiral, noise 0, features x1 x2 x1² x2² x1x2 sin x1 sin x2, layers 8 8";
        let lines = wrap_text(text, 14.0, Weight::Regular, 200.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), text);
        for line in &lines {
            assert!(text_width(line, 14.0, Weight::Regular) <= 200.0, "{line}");
        }
    }

    #[test]
    fn text_is_drawn_inside_the_box_it_reports() {
        let mut pixmap = Pixmap::new(120, 120).unwrap();
        for style in [TextStyle::new(16.0), TextStyle::new(16.0).vertical()] {
            pixmap.fill(tiny_skia::Color::WHITE);
            let style = style.anchor(Align::Centre, Baseline::Middle);
            let bounds = draw_text(&mut pixmap, "Wg", (60.0, 60.0), &style);
            let mut inked = 0;
            for y in 0..120 {
                for x in 0..120 {
                    if pixmap.pixel(x, y).unwrap().red() < 128 {
                        inked += 1;
                        let (x, y) = (x as f32, y as f32);
                        assert!(
                            x >= bounds.left - 1.0
                                && x <= bounds.right()
                                && y >= bounds.top - 1.0
                                && y <= bounds.bottom(),
                            "ink at ({x}, {y}) outside {bounds:?}"
                        );
                    }
                }
            }
            assert!(inked > 20, "{inked} dark pixels");
            let (cx, cy) = bounds.centre();
            assert!((cx - 60.0).abs() <= 1.0 && (cy - 60.0).abs() <= 1.0);
        }
    }
}
