//! Scalar maths written for the kernels' loops: functions whose library versions would stop a
//! loop over a slice from vectorizing (a call, a branch), rewritten without either.
//!
//! [`Element::tanh_accurate`](crate::Element::tanh_accurate) of an `f32` is [`tanh_f32`], and
//! [`Element::exp_accurate`](crate::Element::exp_accurate) is [`exp_f32`], so `Tensor::tanh`,
//! `Tensor::exp`, `Tensor::sigmoid` and the softmax rows map them over a slice in a loop the
//! compiler vectorizes.

/// 1/9!, 1/8!, …, 1/1!: the coefficients of e^r − 1 = r + r²/2! + … + r⁹/9!, highest first.
const EXPM1_TAYLOR: [f64; 9] = [
    1.0 / 362880.0,
    1.0 / 40320.0,
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    1.0 / 2.0,
    1.0,
];

/// 1.5·2⁵²: adding it to an f64 of magnitude below 2⁵¹ rounds it to an integer, which the low
/// mantissa bits of the sum then hold in two's complement.
const ROUND: f64 = 6755399441055744.0;

/// tanh of an `f32`, computed in `f64` without branches or calls, so that a loop over a slice
/// vectorizes. Its relative error before rounding, about 10⁻¹⁰, is far below half an `f32` ulp
/// (3·10⁻⁸), so the result is the correctly rounded one but for rare near-halfway cases: within
/// one ulp (0.50002 measured), where libm's `tanhf` is about two.
///
/// tanh a = m / (m + 2) with m = e^(2a) − 1, which has no cancellation for small a. With
/// 2a = k·ln 2 + r and |r| ≤ ln 2 / 2, m = 2^k·(e^r − 1) + (2^k − 1), e^r − 1 by its Taylor
/// series to r⁹ (relative error below 10⁻¹⁰). Past 9.5 the result rounds to ±1 anyway.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let a = f64::from(x).abs().min(9.5);
    // Adding `ROUND` rounds 2a/ln 2 to an integer k, held in the low mantissa bits.
    let shifted = 2.0 * a * std::f64::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = 2.0 * a - k * std::f64::consts::LN_2;
    let mut poly = 0.0;
    for c in EXPM1_TAYLOR {
        poly = poly * r + c;
    }
    // 0 ≤ k ≤ 28, so 2^k is the exponent field k + 1023 and an empty mantissa.
    let two_k = f64::from_bits((shifted.to_bits() & 0xfff).wrapping_add(1023) << 52);
    let m = two_k * (poly * r) + (two_k - 1.0);
    let y = m / (m + 2.0);
    if x.is_nan() {
        x
    } else {
        (y as f32).copysign(x)
    }
}

/// eˣ of an `f32`, computed in `f64` without branches or calls, so that a loop over a slice
/// vectorizes: `Tensor::exp` of 2²⁰ elements took 2.7–3.0 ns an element with a call to libm's
/// `expf` for each, and 1.05–1.13 ns with this one on AVX-512 (`benches/README.md`, fourteenth
/// part of issue 12). Its relative error before the one rounding to `f32`, about 10⁻¹¹, is far
/// below half an `f32` ulp (3·10⁻⁸), so the result is the correctly rounded one but
/// for rare near-halfway cases, where it is within one ulp; libm's `expf` misses those too, on
/// either side (at x = −0.3102289 it is `expf` that rounds the wrong way). PyTorch's vectorized
/// `f32` exp is within one ulp.
///
/// x is clamped to [−104, 89] first: beyond it eˣ rounds to +0 or +∞ in `f32` anyway (e⁸⁹ is
/// past `f32::MAX`, e⁻¹⁰⁴ below half the least subnormal), and inside it 2^k stays an `f64`
/// normal. Then x = k·ln 2 + r with |r| ≤ ln 2 / 2, and eˣ = 2^k·(1 + (e^r − 1)), e^r − 1 by its
/// Taylor series to r⁹; the scaling by 2^k is exact. NaN stays NaN, ±0 gives 1.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    let a = f64::from(x).clamp(-104.0, 89.0);
    let shifted = a * std::f64::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = a - k * std::f64::consts::LN_2;
    let mut poly = 0.0;
    for c in EXPM1_TAYLOR {
        poly = poly * r + c;
    }
    // −151 ≤ k ≤ 129, so k + 1023 is the exponent field of 2^k, with an empty mantissa.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_k = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    let y = two_k + two_k * (r * poly);
    if x.is_nan() {
        x
    } else {
        y as f32
    }
}

#[cfg(test)]
mod tests {
    use super::{exp_f32, tanh_f32};

    /// Units in the last place by which `got` misses `exact`, the ulp being that of the `f32`
    /// nearest `exact` (the least subnormal's below the normals); none where `got` is that
    /// nearest `f32`, +∞ past the largest finite one included.
    fn ulps(got: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        if got == rounded {
            return 0.0;
        }
        let rounded = rounded.abs().min(f32::MAX);
        let ulp = if rounded == f32::MAX {
            rounded - f32::from_bits(rounded.to_bits() - 1)
        } else {
            f32::from_bits(rounded.to_bits() + 1) - rounded
        };
        (got as f64 - exact).abs() / ulp as f64
    }

    /// The f32 exp against f64's on every 61st `f32` of its finite range (−104 to 89, by bit
    /// pattern, so that each binade is covered down to the subnormal results): within one ulp
    /// (barely more than half of one), and the correctly rounded value in all but one in a
    /// million.
    #[test]
    fn f32_exp_is_within_one_ulp_and_almost_always_correctly_rounded() {
        let bits = |x: f32| x.to_bits();
        let positive = (0..=bits(89.0)).step_by(61).map(f32::from_bits);
        let negative = (bits(-0.0)..=bits(-104.0)).step_by(61).map(f32::from_bits);
        let (mut worst, mut missed, mut count) = (0.0f64, 0usize, 0usize);
        for x in positive.chain(negative) {
            let exact = (x as f64).exp();
            let got = exp_f32(x);
            worst = worst.max(ulps(got, exact));
            missed += usize::from(got != exact as f32);
            count += 1;
        }
        // Measured: 0.50008 ulp at worst, 13 of the 36.7 million values off the rounded
        // reference (which, rounded twice, may itself be off in a near-halfway case).
        assert!(worst <= 0.51, "worst error {worst} ulp");
        assert!(
            missed * 1_000_000 <= count,
            "{missed} of {count} not correctly rounded"
        );
    }

    /// Where eˣ leaves `f32`'s range, and its special values: the f64 exp rounded to `f32`.
    #[test]
    fn f32_exp_overflows_underflows_and_keeps_the_special_values() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            88.72283,
            88.72284,
            89.0,
            1000.0,
            f32::MAX,
            f32::INFINITY,
            -87.33654,
            -87.33655,
            -103.27893,
            -103.97207,
            -103.97208,
            -104.0,
            -1000.0,
            f32::MIN,
            f32::NEG_INFINITY,
            1e-30,
            -1e-30,
            1e-45,
        ];
        for x in cases {
            let want = (x as f64).exp() as f32;
            assert_eq!(exp_f32(x).to_bits(), want.to_bits(), "exp({x:e})");
        }
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-f32::NAN).is_nan());
    }

    /// The f32 tanh against f64's, on a fine linear grid over [-12, 12] and a logarithmic one
    /// down to 1e-30: within one ulp everywhere.
    #[test]
    fn f32_tanh_is_within_one_ulp() {
        let linear = (0..=2_000_000).map(|i| -12.0 + 24.0 * i as f32 / 2e6);
        let tiny = (0..600).flat_map(|i| {
            let x = 10f32.powf(-30.0 + i as f32 * 0.05);
            [x, -x]
        });
        let mut worst = 0.0f64;
        for x in linear.chain(tiny) {
            let exact = (x as f64).tanh();
            let rounded = (exact as f32).abs();
            let ulp = (f32::from_bits(rounded.to_bits() + 1) - rounded) as f64;
            worst = worst.max((tanh_f32(x) as f64 - exact).abs() / ulp);
        }
        assert!(worst <= 1.0, "worst error {worst} ulp");
        assert_eq!(tanh_f32(-20.0), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
