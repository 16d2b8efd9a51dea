//! Colours: 8-bit RGBA values, and colour scales that map a number to a colour by linear
//! interpolation between stops (the way the Playground colours its heat maps).

/// An 8-bit sRGB colour with straight (not premultiplied) alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgba {
    /// Red, 0..=255.
    pub r: u8,
    /// Green, 0..=255.
    pub g: u8,
    /// Blue, 0..=255.
    pub b: u8,
    /// Opacity, 0 (transparent) ..= 255 (opaque).
    pub a: u8,
}

impl Rgba {
    /// Opaque white.
    pub const WHITE: Rgba = Rgba::rgb(255, 255, 255);
    /// Opaque black.
    pub const BLACK: Rgba = Rgba::rgb(0, 0, 0);
    /// The dark grey of text, axes and outlines: softer than black on a white page.
    pub const INK: Rgba = Rgba::hex(0x333333);
    /// A light grey for grid lines and frames that should not compete with the data.
    pub const GRID: Rgba = Rgba::hex(0xdddddd);

    /// An opaque colour from its red, green and blue components.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Rgba {
        Rgba { r, g, b, a: 255 }
    }

    /// An opaque colour from its hexadecimal web notation: `Rgba::hex(0xf59322)` is `#f59322`.
    pub const fn hex(rgb: u32) -> Rgba {
        Rgba::rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
    }

    /// The same colour with opacity `a`.
    pub const fn with_alpha(self, a: u8) -> Rgba {
        Rgba { a, ..self }
    }

    /// The colour a fraction `t` of the way from `self` to `other` (`t` clamped to [0, 1]),
    /// each component interpolated linearly and rounded, as the Playground's colour scale does.
    pub fn mix(self, other: Rgba, t: f64) -> Rgba {
        let t = t.clamp(0.0, 1.0);
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        Rgba {
            r: lerp(self.r, other.r),
            g: lerp(self.g, other.g),
            b: lerp(self.b, other.b),
            a: lerp(self.a, other.a),
        }
    }

    /// The colour in tiny-skia's terms.
    pub(crate) fn to_skia(self) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, self.a)
    }
}

/// A map from numbers to colours: stops at increasing values, linear interpolation between
/// neighbouring stops, and the end colours beyond the ends (values are clamped).
///
/// ```
/// use shendu_playground::plot::{ColorScale, Rgba};
/// let scale = ColorScale::new(vec![(-1.0, Rgba::BLACK), (1.0, Rgba::WHITE)]);
/// assert_eq!(scale.color(0.0), Rgba::rgb(128, 128, 128));
/// assert_eq!(scale.color(7.0), Rgba::WHITE);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ColorScale {
    stops: Vec<(f64, Rgba)>,
}

impl ColorScale {
    /// A scale through `stops`, given as (value, colour) with strictly increasing finite values.
    ///
    /// # Panics
    /// If there are fewer than two stops, or their values are not finite and increasing: a
    /// scale is written in the program, so a bad one is a programming error.
    #[track_caller]
    pub fn new(stops: Vec<(f64, Rgba)>) -> ColorScale {
        assert!(
            stops.len() >= 2,
            "ColorScale::new: a scale needs at least two stops, got {}",
            stops.len()
        );
        assert!(
            stops.iter().all(|(v, _)| v.is_finite()) && stops.windows(2).all(|w| w[0].0 < w[1].0),
            "ColorScale::new: stop values must be finite and strictly increasing, got {:?}",
            stops.iter().map(|(v, _)| *v).collect::<Vec<_>>()
        );
        ColorScale { stops }
    }

    /// The colour of `value`. Values beyond the ends get the end colours. NaN gets black, so
    /// that a diverged network shows as a hole rather than passing for a class.
    pub fn color(&self, value: f64) -> Rgba {
        if value.is_nan() {
            return Rgba::BLACK;
        }
        let (first, last) = (self.stops[0], self.stops[self.stops.len() - 1]);
        if value <= first.0 {
            return first.1;
        }
        if value >= last.0 {
            return last.1;
        }
        // The first stop above `value` exists, since value < last.0, and is not the first.
        let upper = self.stops.iter().position(|(v, _)| *v > value).unwrap_or(1);
        let (v0, c0) = self.stops[upper - 1];
        let (v1, c1) = self.stops[upper];
        c0.mix(c1, (value - v0) / (v1 - v0))
    }

    /// The smallest and largest stop values.
    pub fn domain(&self) -> (f64, f64) {
        (self.stops[0].0, self.stops[self.stops.len() - 1].0)
    }

    /// The stops, in increasing order of value.
    pub fn stops(&self) -> &[(f64, Rgba)] {
        &self.stops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_the_web_notation() {
        assert_eq!(Rgba::hex(0xf59322), Rgba::rgb(0xf5, 0x93, 0x22));
    }

    #[test]
    fn a_three_stop_scale_hits_its_stops_and_interpolates_between_them() {
        let orange = Rgba::hex(0xf59322);
        let grey = Rgba::hex(0xe8eaeb);
        let blue = Rgba::hex(0x0877bd);
        let scale = ColorScale::new(vec![(-1.0, orange), (0.0, grey), (1.0, blue)]);
        assert_eq!(scale.color(-1.0), orange);
        assert_eq!(scale.color(0.0), grey);
        assert_eq!(scale.color(1.0), blue);
        assert_eq!(scale.color(-3.0), orange);
        assert_eq!(scale.color(3.0), blue);
        assert_eq!(scale.color(0.5), grey.mix(blue, 0.5));
        assert_eq!(scale.color(f64::NAN), Rgba::BLACK);
    }

    #[test]
    #[should_panic(expected = "strictly increasing")]
    fn stops_out_of_order_are_refused() {
        ColorScale::new(vec![(1.0, Rgba::BLACK), (0.0, Rgba::WHITE)]);
    }
}
