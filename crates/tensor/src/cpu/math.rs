//! Scalar maths written for the kernels' loops: functions whose library versions would stop a
//! loop over a slice from vectorizing (a call, a branch), rewritten without either.
//!
//! [`Element::tanh_accurate`](crate::Element::tanh_accurate) of an `f32` is [`tanh_f32`], so
//! `Tensor::tanh` maps it over a slice in a loop the compiler vectorizes.

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
    // Adding 1.5·2⁵² rounds 2a/ln 2 to an integer k, held in the low mantissa bits.
    const ROUND: f64 = 6755399441055744.0;
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

#[cfg(test)]
mod tests {
    use super::tanh_f32;

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
