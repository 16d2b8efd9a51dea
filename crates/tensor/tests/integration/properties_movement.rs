//! Property tests of movement and in-place ops: permute and its inverse, reshape to any shape of
//! the same size and back, `contiguous`, squeeze/unsqueeze, and in-place updates against their
//! out-of-place forms, all bit for bit on random views.

use crate::common;

use common::*;
use proptest::prelude::*;
use shendu_tensor::Tensor;

/// An in-place update of a tensor by another and a scalar.
type Update = fn(&mut Tensor<f64>, &Tensor<f64>, f64);

/// A shape with `n` elements chosen by `picks`: each pick divides what is left, and the last
/// axis takes the rest. With `n = 0`, one axis is 0 and the others small.
fn shape_with_numel(n: usize, picks: &[prop::sample::Index]) -> Vec<usize> {
    if n == 0 {
        let mut s: Vec<usize> = picks.iter().map(|p| p.index(4)).collect();
        s.push(0);
        return s;
    }
    let mut rest = n;
    let mut s = Vec::new();
    for p in picks {
        let divisors: Vec<usize> = (1..=rest).filter(|d| rest.is_multiple_of(*d)).collect();
        let d = divisors[p.index(divisors.len())];
        s.push(d);
        rest /= d;
    }
    s.push(rest);
    s
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn permute_then_inverse_is_the_identity(
        (v, perm) in any_view(Values::Any).prop_flat_map(|v| {
            let rank = v.shape().len();
            (Just(v), permutation(rank))
        })
    ) {
        let t = v.tensor::<f64>();
        let p = t.permute(&perm);
        prop_assert!(p.shares_storage(&t));
        // Axis i of p is axis perm[i] of t.
        let shape = v.shape();
        let want_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
        prop_assert_eq!(p.shape(), &want_shape[..]);
        let x = v.values();
        let pv = p.to_vec();
        for (flat, &g) in pv.iter().enumerate() {
            let index = unravel(flat, &want_shape);
            let mut source = vec![0; shape.len()];
            for (i, &a) in perm.iter().enumerate() {
                source[a] = index[i];
            }
            prop_assert!(same_bits(g, x[ravel(&source, &shape)]));
        }
        let back = p.permute(&inverse(&perm));
        prop_assert_eq!(back.shape(), t.shape());
        prop_assert_eq!(back.layout(), t.layout());
        let (bv, tv) = (back.to_vec(), t.to_vec());
        prop_assert!(bv.iter().zip(&tv).all(|(&a, &b)| same_bits(a, b)));
    }

    #[test]
    fn reshape_and_back_preserves_row_major_values(
        (v, picks) in any_view(Values::Any).prop_flat_map(|v| {
            (Just(v), prop::collection::vec(any::<prop::sample::Index>(), 0..=3))
        })
    ) {
        let t = v.tensor::<f32>();
        let shape = v.shape();
        let new_shape = shape_with_numel(numel(&shape), &picks);
        let r = t.reshape(new_shape.clone());
        prop_assert_eq!(r.shape(), &new_shape[..]);
        let want = v.values_as::<f32>();
        let same = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same_bits(x, y));
        prop_assert!(same(&r.to_vec(), &want), "reshape {:?} -> {:?} reorders values", shape, new_shape);
        if t.is_contiguous() {
            prop_assert!(r.shares_storage(&t), "reshape of a contiguous tensor must be a view");
        }
        let back = r.reshape(shape.clone());
        prop_assert_eq!(back.shape(), &shape[..]);
        prop_assert!(same(&back.to_vec(), &want));
        prop_assert!(same(&t.flatten().to_vec(), &want));
        // Every element reads back through get() at its multi-index, in both shapes.
        for (flat, &w) in want.iter().enumerate() {
            prop_assert!(same_bits(r.get(&unravel(flat, &new_shape)), w));
            prop_assert!(same_bits(t.get(&unravel(flat, &shape)), w));
        }
    }

    #[test]
    fn contiguous_of_any_view_is_its_values(v in any_view(Values::Any)) {
        let t = v.tensor::<f64>();
        let c = t.contiguous();
        prop_assert!(c.is_contiguous());
        prop_assert_eq!(c.shape(), t.shape());
        let want = v.values();
        let slice = c.as_slice().unwrap();
        prop_assert!(slice.len() == want.len() && slice.iter().zip(&want).all(|(&a, &b)| same_bits(a, b)));
        prop_assert_eq!(t.is_contiguous(), c.shares_storage(&t));
        // squeeze_all then unsqueeze back where the ones were.
        let shape = v.shape();
        let mut s = t.squeeze_all();
        prop_assert!(s.shape().iter().all(|&d| d != 1));
        for (axis, &d) in shape.iter().enumerate() {
            if d == 1 {
                s = s.unsqueeze(axis);
            }
        }
        prop_assert_eq!(s.shape(), &shape[..]);
        prop_assert!(s.to_vec().iter().zip(&want).all(|(&a, &b)| same_bits(a, b)));
    }

    #[test]
    fn in_place_updates_match_out_of_place_ops(
        (a, b) in shape().prop_flat_map(|s| (view_of(s.clone(), Values::Finite), operand_shape(s)))
            .prop_flat_map(|(a, sb)| (Just(a), view_of(sb, Values::Finite))),
        alpha in -2.0..2.0f64,
    ) {
        let (ta, tb) = (a.tensor::<f64>(), b.tensor::<f64>());
        let before = ta.to_vec();
        let cases: [(Update, Tensor<f64>); 5] = [
            (|w, o, _| w.add_(o), ta.add(&tb)),
            (|w, o, _| w.sub_(o), ta.sub(&tb)),
            (|w, o, _| w.mul_(o), ta.mul(&tb)),
            (|w, o, s| w.scaled_add_(o, s), ta.add(&tb.map(|x| alpha * x))),
            (|w, o, _| w.copy_from(o), tb.broadcast_to(ta.shape()).contiguous()),
        ];
        for (k, (update, want)) in cases.iter().enumerate() {
            let mut w = ta.clone();
            update(&mut w, &tb, alpha);
            prop_assert_eq!(w.shape(), ta.shape());
            let (g, e) = (w.to_vec(), want.to_vec());
            prop_assert!(g.iter().zip(&e).all(|(&x, &y)| same_bits(x, y)), "case {}: {:?} != {:?}", k, g, e);
            // The view the update started from is untouched.
            prop_assert_eq!(ta.to_vec(), before.clone());
        }
    }
}
