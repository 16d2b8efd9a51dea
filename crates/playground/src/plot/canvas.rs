//! The canvas: an RGBA picture in memory that shapes and text are painted on, then encoded as
//! PNG. Coordinates are pixels from the top-left corner, x to the right and y down; shapes
//! are anti-aliased by tiny-skia, while [`Canvas::fill_grid`] paints whole pixels, so that a
//! heat map's cells keep their exact colours.

use std::io;
use std::path::Path;

use shendu_nn::checkpoint::write_atomically;
use tiny_skia::{
    FillRule, LineCap, LineJoin, Mask, Paint, Path as SkPath, PathBuilder, Pixmap, Stroke,
    Transform,
};

use super::color::Rgba;
use super::text::{draw_text, TextStyle};

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Its left edge.
    pub left: f32,
    /// Its top edge.
    pub top: f32,
    /// Its width.
    pub width: f32,
    /// Its height.
    pub height: f32,
}

impl Rect {
    /// The rectangle with top-left corner (`left`, `top`) and the given size.
    pub const fn new(left: f32, top: f32, width: f32, height: f32) -> Rect {
        Rect {
            left,
            top,
            width,
            height,
        }
    }

    /// Its right edge.
    pub fn right(&self) -> f32 {
        self.left + self.width
    }

    /// Its bottom edge.
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }

    /// Its centre.
    pub fn centre(&self) -> (f32, f32) {
        (self.left + self.width / 2.0, self.top + self.height / 2.0)
    }

    /// Whether the point (`x`, `y`) lies inside (edges included).
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.left && x <= self.right() && y >= self.top && y <= self.bottom()
    }

    fn to_skia(self) -> Option<tiny_skia::Rect> {
        tiny_skia::Rect::from_xywh(self.left, self.top, self.width, self.height)
    }
}

/// A line around a shape: its colour and width in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outline {
    /// The line's colour.
    pub color: Rgba,
    /// The line's width in pixels.
    pub width: f32,
}

/// An RGBA picture being drawn.
pub struct Canvas {
    pixmap: Pixmap,
    /// Paths are painted only inside it, when set (see [`Canvas::clipped`]).
    clip: Option<Mask>,
}

impl std::fmt::Debug for Canvas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Its size says what it is; a dump of its pixels would say nothing to a reader.
        f.debug_struct("Canvas")
            .field("width", &self.width())
            .field("height", &self.height())
            .finish_non_exhaustive()
    }
}

impl Canvas {
    /// A `width × height` canvas filled with `background`.
    ///
    /// # Panics
    /// If a side is 0 or the picture would not fit in memory: sizes are chosen by the program.
    #[track_caller]
    pub fn new(width: u32, height: u32, background: Rgba) -> Canvas {
        let Some(mut pixmap) = Pixmap::new(width, height) else {
            panic!("Canvas::new: cannot make a {width} × {height} picture");
        };
        pixmap.fill(background.to_skia());
        Canvas { pixmap, clip: None }
    }

    /// Its width in pixels.
    pub fn width(&self) -> u32 {
        self.pixmap.width()
    }

    /// Its height in pixels.
    pub fn height(&self) -> u32 {
        self.pixmap.height()
    }

    /// The colour of the pixel at column `x`, row `y` (`None` outside the canvas).
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgba> {
        if x >= self.width() || y >= self.height() {
            return None;
        }
        let c = self.pixmap.pixel(x, y)?.demultiply();
        Some(Rgba {
            r: c.red(),
            g: c.green(),
            b: c.blue(),
            a: c.alpha(),
        })
    }

    /// Runs `draw` with painting restricted to `area`: lines, curves, circles and rectangles
    /// outside it are cut off (text and [`Canvas::fill_grid`] are not, since they are placed
    /// by the program where they belong).
    pub fn clipped(&mut self, area: Rect, draw: impl FnOnce(&mut Canvas)) {
        let saved = self.clip.take();
        if let (Some(mut mask), Some(rect)) =
            (Mask::new(self.width(), self.height()), area.to_skia())
        {
            mask.fill_path(
                &PathBuilder::from_rect(rect),
                FillRule::Winding,
                false,
                Transform::identity(),
            );
            self.clip = Some(mask);
        }
        draw(self);
        self.clip = saved;
    }

    /// Fills `rect` with `color`.
    pub fn fill_rect(&mut self, rect: Rect, color: Rgba) {
        if let Some(r) = rect.to_skia() {
            let path = PathBuilder::from_rect(r);
            self.fill_path(&path, color);
        }
    }

    /// Draws the outline of `rect`, a line of `width` pixels centred on its edges.
    pub fn stroke_rect(&mut self, rect: Rect, width: f32, color: Rgba) {
        if let Some(r) = rect.to_skia() {
            let path = PathBuilder::from_rect(r);
            self.stroke_path(&path, width, color);
        }
    }

    /// A straight line from `from` to `to`, `width` pixels wide, with flat ends.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgba) {
        self.polyline(&[from, to], width, color);
    }

    /// Straight segments through `points` in order, `width` pixels wide, with round joins (a
    /// chart's curve). Fewer than two points draw nothing.
    pub fn polyline(&mut self, points: &[(f32, f32)], width: f32, color: Rgba) {
        let [first, rest @ ..] = points else {
            return;
        };
        let mut path = PathBuilder::new();
        path.move_to(first.0, first.1);
        for p in rest {
            path.line_to(p.0, p.1);
        }
        if let Some(path) = path.finish() {
            self.stroke_path(&path, width, color);
        }
    }

    /// A cubic Bézier curve from `from` to `to`, pulled towards `control1` and `control2`,
    /// `width` pixels wide (a network's links).
    pub fn curve(
        &mut self,
        from: (f32, f32),
        control1: (f32, f32),
        control2: (f32, f32),
        to: (f32, f32),
        width: f32,
        color: Rgba,
    ) {
        let mut path = PathBuilder::new();
        path.move_to(from.0, from.1);
        path.cubic_to(control1.0, control1.1, control2.0, control2.1, to.0, to.1);
        if let Some(path) = path.finish() {
            self.stroke_path(&path, width, color);
        }
    }

    /// A disc of `radius` pixels around `centre` filled with `fill`, with an optional outline
    /// drawn just outside the disc, so that the fill keeps its full size and colour.
    pub fn circle(
        &mut self,
        centre: (f32, f32),
        radius: f32,
        fill: Rgba,
        outline: Option<Outline>,
    ) {
        if let Some(outline) = outline
            && let Some(ring) = PathBuilder::from_circle(centre.0, centre.1, radius + outline.width)
        {
            self.fill_path(&ring, outline.color);
        }
        if let Some(disc) = PathBuilder::from_circle(centre.0, centre.1, radius) {
            self.fill_path(&disc, fill);
        }
    }

    /// Paints a `columns × rows` grid of cells over `area`, cell (row, column) in
    /// `color_of(row, column)`, row 0 at the top. Every pixel takes the colour of the cell its
    /// centre falls in, with no blending: when the area's sides are whole multiples of the
    /// grid's, every cell is a sharp block of equal size.
    pub fn fill_grid(
        &mut self,
        area: Rect,
        columns: usize,
        rows: usize,
        color_of: impl Fn(usize, usize) -> Rgba,
    ) {
        if columns == 0 || rows == 0 {
            return;
        }
        let (width, height) = (self.width() as i64, self.height() as i64);
        let (left, top) = (area.left.round() as i64, area.top.round() as i64);
        let (w, h) = (area.width.round() as i64, area.height.round() as i64);
        let pixels = self.pixmap.pixels_mut();
        for py in top.max(0)..(top + h).min(height) {
            let row = ((py - top) as usize * rows / h as usize).min(rows - 1);
            for px in left.max(0)..(left + w).min(width) {
                let column = ((px - left) as usize * columns / w as usize).min(columns - 1);
                let c = color_of(row, column).to_skia().premultiply().to_color_u8();
                pixels[(py * width + px) as usize] = c;
            }
        }
    }

    /// Writes one line of `text` with its anchor at `at` (where the style says), and returns
    /// the box it occupies.
    pub fn text(&mut self, text: &str, at: (f32, f32), style: &TextStyle) -> Rect {
        draw_text(&mut self.pixmap, text, at, style)
    }

    /// The picture encoded as a PNG file's bytes.
    pub fn encode_png(&self) -> io::Result<Vec<u8>> {
        self.pixmap
            .encode_png()
            .map_err(|e| io::Error::other(format!("PNG encoding failed: {e}")))
    }

    /// Encodes the picture as PNG and writes it to `path` atomically (see
    /// [`write_atomically`]); the error names the path.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        let bytes = self.encode_png()?;
        write_atomically(path, |out| out.write_all(&bytes)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write the picture {}: {e}", path.display()),
            )
        })
    }

    fn paint(&self, color: Rgba) -> Paint<'static> {
        let mut paint = Paint::default();
        paint.set_color(color.to_skia());
        paint
    }

    fn fill_path(&mut self, path: &SkPath, color: Rgba) {
        let paint = self.paint(color);
        self.pixmap.fill_path(
            path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            self.clip.as_ref(),
        );
    }

    fn stroke_path(&mut self, path: &SkPath, width: f32, color: Rgba) {
        let paint = self.paint(color);
        let stroke = Stroke {
            width,
            line_cap: LineCap::Butt,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        self.pixmap.stroke_path(
            path,
            &paint,
            &stroke,
            Transform::identity(),
            self.clip.as_ref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORANGE: Rgba = Rgba::hex(0xf59322);
    const BLUE: Rgba = Rgba::hex(0x0877bd);

    #[test]
    fn a_filled_rectangle_has_its_exact_colour_inside_and_none_outside() {
        let mut canvas = Canvas::new(40, 30, Rgba::WHITE);
        canvas.fill_rect(Rect::new(10.0, 5.0, 20.0, 10.0), ORANGE);
        assert_eq!(canvas.pixel(15, 10), Some(ORANGE));
        assert_eq!(canvas.pixel(5, 10), Some(Rgba::WHITE));
        assert_eq!(canvas.pixel(15, 20), Some(Rgba::WHITE));
        assert_eq!(canvas.pixel(40, 0), None);
    }

    #[test]
    fn a_grid_whose_area_is_a_multiple_of_its_cells_paints_sharp_blocks() {
        let mut canvas = Canvas::new(30, 20, Rgba::WHITE);
        let area = Rect::new(0.0, 0.0, 30.0, 20.0);
        canvas.fill_grid(area, 3, 2, |row, column| {
            if (row + column) % 2 == 0 {
                ORANGE
            } else {
                BLUE
            }
        });
        for (x, y, want) in [
            (0, 0, ORANGE),
            (9, 9, ORANGE),
            (10, 0, BLUE),
            (10, 10, ORANGE),
        ] {
            assert_eq!(canvas.pixel(x, y), Some(want), "pixel ({x}, {y})");
        }
        assert_eq!(canvas.pixel(29, 19), Some(BLUE));
    }

    #[test]
    fn a_circle_keeps_its_fill_at_the_centre_and_its_outline_at_the_rim() {
        let mut canvas = Canvas::new(40, 40, Rgba::WHITE);
        let outline = Outline {
            color: Rgba::BLACK,
            width: 2.0,
        };
        canvas.circle((20.0, 20.0), 8.0, BLUE, Some(outline));
        assert_eq!(canvas.pixel(20, 20), Some(BLUE));
        assert_eq!(canvas.pixel(20, 28), Some(Rgba::BLACK));
        assert_eq!(canvas.pixel(20, 35), Some(Rgba::WHITE));
    }

    #[test]
    fn a_clip_cuts_off_what_lies_outside_it_and_ends_with_the_call() {
        let mut canvas = Canvas::new(40, 40, Rgba::WHITE);
        canvas.clipped(Rect::new(0.0, 0.0, 20.0, 40.0), |c| {
            c.line((0.0, 20.0), (40.0, 20.0), 4.0, BLUE);
        });
        assert_eq!(canvas.pixel(10, 20), Some(BLUE));
        assert_eq!(canvas.pixel(30, 20), Some(Rgba::WHITE));
        canvas.line((0.0, 30.0), (40.0, 30.0), 4.0, BLUE);
        assert_eq!(canvas.pixel(30, 30), Some(BLUE));
    }

    #[test]
    fn a_png_decodes_back_to_the_same_pixels() {
        let mut canvas = Canvas::new(16, 8, Rgba::WHITE);
        canvas.fill_rect(Rect::new(0.0, 0.0, 8.0, 8.0), ORANGE);
        let png = canvas.encode_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let decoded = Pixmap::decode_png(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (16, 8));
        let c = decoded.pixel(3, 3).unwrap().demultiply();
        assert_eq!((c.red(), c.green(), c.blue()), (0xf5, 0x93, 0x22));
    }
}
