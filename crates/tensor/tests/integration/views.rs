//! Views share storage and are not copies; reshape copies only when it must; in-place updates
//! write in place when they may and copy on write otherwise, so no earlier clone or view ever
//! changes under its reader.

use crate::common::rng;
use shendu_tensor::Tensor;

/// `[[0, 1, 2], [3, 4, 5]]`.
fn m() -> Tensor<f32> {
    Tensor::<f32>::arange(6).reshape([2, 3])
}

#[test]
fn reshape_of_a_contiguous_tensor_is_a_view() {
    let t = Tensor::<f32>::arange(24);
    let r = t.reshape([2, 3, 4]);
    assert!(r.shares_storage(&t));
    assert!(r.is_contiguous());
    assert_eq!(r.get(&[1, 2, 3]), 23.0);
    assert_eq!(r.get(&[1, 0, 2]), 14.0);
    let back = r.reshape([24]);
    assert!(back.shares_storage(&t));
    assert_eq!(back.to_vec(), t.to_vec());
    let f = r.flatten();
    assert!(f.shares_storage(&t));
    assert_eq!(f.shape(), &[24]);
    // To and from rank 0.
    let one = Tensor::from_vec(vec![5.0f32], [1, 1]);
    let s = one.reshape(());
    assert_eq!(s.shape(), &[] as &[usize]);
    assert!(s.shares_storage(&one));
    assert_eq!(s.reshape([1, 1, 1]).item(), 5.0);
}

#[test]
fn reshape_of_a_transposed_tensor_copies_in_logical_order() {
    let t = m();
    let tt = t.t();
    let r = tt.reshape([6]);
    assert!(
        !r.shares_storage(&t),
        "a transpose cannot be flattened without a copy"
    );
    assert_eq!(r.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let r = tt.reshape([2, 3]);
    assert_eq!(r.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(r.get(&[1, 0]), 4.0);
}

#[test]
fn reshape_of_a_view_stays_a_view_when_the_strides_allow() {
    // Splitting or merging axes that are themselves contiguous needs no copy: the rows of a
    // narrowed matrix, or the leading axis of a transposed rank-3 tensor.
    let t = Tensor::<f32>::arange(24).reshape([4, 6]);
    let rows = t.narrow(1, 0, 4); // [4, 4] with row stride 6
    let split = rows.reshape([4, 2, 2]);
    assert!(split.shares_storage(&t));
    assert_eq!(split.to_vec(), rows.to_vec());
    let p = Tensor::<f32>::arange(24).reshape([2, 3, 4]);
    let q = p.permute(&[2, 0, 1]); // [4, 2, 3]: axes 0 and 1 of p stay adjacent and contiguous
    let merged = q.reshape([4, 6]);
    assert!(merged.shares_storage(&p));
    assert_eq!(merged.to_vec(), q.to_vec());
}

#[test]
fn transpose_and_t_are_views() {
    let t = m();
    let tt = t.t();
    assert!(tt.shares_storage(&t));
    assert!(!tt.is_contiguous());
    assert_eq!(tt.shape(), &[3, 2]);
    assert_eq!(tt.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(tt.get(&[2, 1]), 5.0);
    assert_eq!(tt.as_slice(), None);
    let tr = t.transpose(0, -1);
    assert!(tr.shares_storage(&t));
    assert_eq!(tr.to_vec(), tt.to_vec());
    // t() of a vector or a scalar is the identity; of rank 3 it swaps the last two axes.
    let v = Tensor::<f32>::arange(3);
    assert_eq!(v.t().shape(), &[3]);
    let r3 = Tensor::<f32>::arange(12).reshape([2, 3, 2]).t();
    assert_eq!(r3.shape(), &[2, 2, 3]);
    assert_eq!(r3.get(&[1, 0, 2]), 10.0);
    // Transposing twice is the original layout.
    assert_eq!(tt.t().layout(), t.layout());
}

#[test]
fn permute_is_a_view() {
    let t = Tensor::<f32>::arange(24).reshape([2, 3, 4]);
    let p = t.permute(&[2, 0, 1]);
    assert!(p.shares_storage(&t));
    assert_eq!(p.shape(), &[4, 2, 3]);
    // p[k, i, j] = t[i, j, k] = 12i + 4j + k.
    assert_eq!(p.get(&[3, 1, 2]), 23.0);
    assert_eq!(p.get(&[1, 0, 2]), 9.0);
    assert_eq!(p.to_vec()[..6], [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]);
    let back = p.permute(&[1, 2, 0]);
    assert!(back.is_contiguous());
    assert_eq!(back.to_vec(), t.to_vec());
}

#[test]
fn broadcast_to_is_a_view_with_zero_strides() {
    let row = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3]);
    let b = row.broadcast_to([2, 3]);
    assert!(b.shares_storage(&row));
    assert_eq!(b.layout().strides(), &[0, 1]);
    assert_eq!(b.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    let column = Tensor::from_vec(vec![1.0f32, 2.0], [2, 1]);
    let c = column.broadcast_to([3, 2, 4]);
    assert!(c.shares_storage(&column));
    assert_eq!(c.shape(), &[3, 2, 4]);
    assert_eq!(c.get(&[2, 1, 3]), 2.0);
    assert_eq!(c.sum_all().item(), 36.0);
    // A broadcast view reduced along the repeated axis counts each repeat.
    assert_eq!(b.sum(0, false).to_vec(), vec![2.0, 4.0, 6.0]);
}

#[test]
fn squeeze_and_unsqueeze_are_views() {
    let t = Tensor::<f32>::arange(6).reshape([1, 2, 1, 3]);
    let s = t.squeeze(0);
    assert!(s.shares_storage(&t));
    assert_eq!(s.shape(), &[2, 1, 3]);
    let s = t.squeeze(-2);
    assert_eq!(s.shape(), &[1, 2, 3]);
    let all = t.squeeze_all();
    assert!(all.shares_storage(&t));
    assert_eq!(all.shape(), &[2, 3]);
    assert_eq!(all.to_vec(), t.to_vec());
    let u = all.unsqueeze(1);
    assert!(u.shares_storage(&t));
    assert_eq!(u.shape(), &[2, 1, 3]);
    assert_eq!(all.unsqueeze(-1).shape(), &[2, 3, 1]);
    assert_eq!(all.unsqueeze(0).shape(), &[1, 2, 3]);
    assert_eq!(all.unsqueeze(2).shape(), &[2, 3, 1]);
    assert!(u.is_contiguous());
    // Unsqueeze of a transposed view keeps reading in logical order.
    let ut = all.t().unsqueeze(1);
    assert_eq!(ut.shape(), &[3, 1, 2]);
    assert_eq!(ut.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(Tensor::scalar(1.0f32).unsqueeze(0).shape(), &[1]);
}

#[test]
fn narrow_is_a_view_with_an_offset() {
    let t = Tensor::<f32>::arange(12).reshape([3, 4]);
    let rows = t.narrow(0, 1, 2);
    assert!(rows.shares_storage(&t));
    assert!(rows.is_contiguous());
    assert_eq!(rows.layout().offset(), 4);
    assert_eq!(
        rows.as_slice(),
        Some(&[4.0f32, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0][..])
    );
    let cols = t.narrow(-1, 1, 2);
    assert!(cols.shares_storage(&t));
    assert!(!cols.is_contiguous());
    assert_eq!(cols.to_vec(), vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
    // Narrow of a narrow.
    let inner = cols.narrow(0, 2, 1);
    assert_eq!(inner.to_vec(), vec![9.0, 10.0]);
    assert_eq!(inner.numel(), 2);
    // Empty ranges are allowed, including at the end.
    assert_eq!(t.narrow(1, 4, 0).shape(), &[3, 0]);
    assert!(t.narrow(0, 0, 0).to_vec().is_empty());
}

#[test]
fn contiguous_copies_only_views_that_need_it() {
    let t = m();
    let c = t.contiguous();
    assert!(c.shares_storage(&t));
    let tt = t.t();
    let c = tt.contiguous();
    assert!(!c.shares_storage(&t));
    assert!(c.is_contiguous());
    assert_eq!(c.shape(), &[3, 2]);
    assert_eq!(c.as_slice().unwrap(), &tt.to_vec()[..]);
}

#[test]
fn views_of_views_compose() {
    // A transpose of a narrow of a broadcast, checked element by element.
    let base = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], [3, 1]);
    let v = base
        .broadcast_to([2, 3, 4])
        .narrow(2, 1, 2)
        .narrow(1, 1, 2)
        .transpose(0, 2);
    assert_eq!(v.shape(), &[2, 2, 2]);
    assert!(v.shares_storage(&base));
    // v[k, j, i] = base[j + 1].
    assert_eq!(v.to_vec(), vec![2.0, 2.0, 3.0, 3.0, 2.0, 2.0, 3.0, 3.0]);
}

// ----------------------------------------------------------------------------------------------
// In-place updates and copy-on-write
// ----------------------------------------------------------------------------------------------

#[test]
fn in_place_ops_with_broadcasting() {
    let mut w = m();
    w.add_(&Tensor::from_vec(vec![10.0, 20.0, 30.0], [3]));
    assert_eq!(w.to_vec(), vec![10.0, 21.0, 32.0, 13.0, 24.0, 35.0]);
    w.sub_(&Tensor::from_vec(vec![10.0, 13.0], [2, 1]));
    assert_eq!(w.to_vec(), vec![0.0, 11.0, 22.0, 0.0, 11.0, 22.0]);
    w.mul_(&Tensor::scalar(0.5));
    assert_eq!(w.to_vec(), vec![0.0, 5.5, 11.0, 0.0, 5.5, 11.0]);
    w.scaled_add_(&Tensor::ones([2, 3]), -2.0);
    assert_eq!(w.to_vec(), vec![-2.0, 3.5, 9.0, -2.0, 3.5, 9.0]);
    w.copy_from(&Tensor::from_vec(vec![7.0, 8.0, 9.0], [3]));
    assert_eq!(w.to_vec(), vec![7.0, 8.0, 9.0, 7.0, 8.0, 9.0]);
    w.fill_(-1.0);
    assert_eq!(w.to_vec(), vec![-1.0; 6]);
    assert_eq!(w.shape(), &[2, 3]);
}

#[test]
fn a_row_added_in_place_to_a_large_batch_matches_the_broadcast_sum() {
    // 3000 rows of 37: past the size at which the update splits into parallel chunks, whose
    // boundaries fall mid-row; also a block of two rows repeated, and a pool of two threads.
    let batch = Tensor::<f64>::rand_uniform([3000, 37], -1.0, 1.0, &mut rng(7));
    let row = Tensor::<f64>::rand_uniform([37], -1.0, 1.0, &mut rng(8));
    let block = Tensor::<f64>::rand_uniform([2, 37], -1.0, 1.0, &mut rng(9));
    for pool_threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(pool_threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut sum = batch.clone();
            sum.add_(&row);
            assert_eq!(sum.to_vec(), batch.add(&row).to_vec());
            let mut stacked = batch.reshape([1500, 2, 37]);
            stacked.mul_(&block);
            assert_eq!(
                stacked.to_vec(),
                batch.reshape([1500, 2, 37]).mul(&block).to_vec()
            );
        });
    }
}

#[test]
fn in_place_ops_read_a_transposed_operand_in_logical_order() {
    let mut w = Tensor::<f32>::zeros([3, 2]);
    w.add_(&m().t());
    assert_eq!(w.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    w.copy_from(&m().t().mul(&Tensor::scalar(2.0)));
    assert_eq!(w.to_vec(), vec![0.0, 6.0, 2.0, 8.0, 4.0, 10.0]);
}

#[test]
fn a_sole_owner_updates_its_buffer_in_place() {
    let mut w = Tensor::<f32>::arange(1000);
    let before = w.as_slice().unwrap().as_ptr();
    w.add_(&Tensor::scalar(1.0));
    w.scaled_add_(&Tensor::ones([1000]), 2.0);
    w.fill_(0.0);
    assert_eq!(
        w.as_slice().unwrap().as_ptr(),
        before,
        "a sole owner must not reallocate"
    );
}

#[test]
fn copy_on_write_keeps_earlier_clones_and_views() {
    let mut w = m();
    let clone = w.clone();
    let view = w.t();
    let row = w.narrow(0, 1, 1);
    w.add_(&Tensor::scalar(100.0));
    assert_eq!(w.to_vec(), vec![100.0, 101.0, 102.0, 103.0, 104.0, 105.0]);
    assert_eq!(clone.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(view.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(row.to_vec(), vec![3.0, 4.0, 5.0]);
    assert!(!w.shares_storage(&clone));
    assert!(clone.shares_storage(&view));
    // Every in-place op copies on write, not only add_.
    for op in 0..6 {
        let mut x = m();
        let keep = x.clone();
        match op {
            0 => x.sub_(&Tensor::scalar(1.0)),
            1 => x.mul_(&Tensor::scalar(2.0)),
            2 => x.scaled_add_(&Tensor::scalar(1.0), 3.0),
            3 => x.fill_(9.0),
            4 => x.copy_from(&Tensor::scalar(9.0)),
            _ => x.add_(&Tensor::scalar(1.0)),
        }
        assert_eq!(
            keep.to_vec(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "op {op} wrote through a clone"
        );
        assert_ne!(x.to_vec(), keep.to_vec());
    }
}

#[test]
fn an_update_of_a_narrowed_view_leaves_the_parent_alone() {
    let parent = m();
    let mut row = parent.narrow(0, 1, 1);
    row.fill_(0.0);
    assert_eq!(row.to_vec(), vec![0.0, 0.0, 0.0]);
    assert_eq!(parent.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let mut col = parent.narrow(1, 2, 1);
    col.add_(&Tensor::scalar(10.0));
    assert_eq!(col.shape(), &[2, 1]);
    assert_eq!(col.to_vec(), vec![12.0, 15.0]);
    assert_eq!(parent.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn a_sole_owner_narrowed_view_updates_only_its_own_elements() {
    // After the parent is gone the narrowed row owns the storage and may write in place; it
    // must still write only its own three elements and read back the right ones.
    let mut row = m().narrow(0, 1, 1);
    row.mul_(&Tensor::scalar(2.0));
    assert_eq!(row.to_vec(), vec![6.0, 8.0, 10.0]);
    assert_eq!(row.shape(), &[1, 3]);
}

#[test]
fn updating_a_broadcast_view_materialises_distinct_elements() {
    // A stride-0 view has one storage element for three logical ones; writing through it in
    // place would make them all equal.
    let mut b = Tensor::scalar(1.0f32).broadcast_to([3]);
    b.add_(&Tensor::from_vec(vec![0.0, 1.0, 2.0], [3]));
    assert_eq!(b.to_vec(), vec![1.0, 2.0, 3.0]);
    let mut t = Tensor::<f32>::arange(6).reshape([2, 3]).t();
    t.add_(&Tensor::scalar(1.0));
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn an_update_from_a_clone_of_itself_reads_the_old_values() {
    let mut w = m();
    let same = w.clone();
    w.add_(&same);
    assert_eq!(w.to_vec(), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    assert_eq!(same.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let mut w = m();
    let flipped = w.t();
    let mut square = Tensor::<f32>::arange(4).reshape([2, 2]);
    let square_t = square.t();
    square.add_(&square_t);
    assert_eq!(square.to_vec(), vec![0.0, 3.0, 3.0, 6.0]);
    w.fill_(1.0);
    assert_eq!(flipped.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn large_in_place_updates_take_the_parallel_path_correctly() {
    let n = 1 << 17;
    let mut w = Tensor::<f64>::arange(n);
    let keep = w.clone();
    // A broadcast operand (stride 0 on the outer axis) over a [n / 256, 256] target.
    let mut w2 = w.reshape([n / 256, 256]);
    w2.scaled_add_(&Tensor::<f64>::arange(256), 2.0);
    let got = w2.to_vec();
    for (i, &g) in got.iter().enumerate() {
        assert_eq!(g, i as f64 + 2.0 * (i % 256) as f64, "element {i}");
    }
    w.mul_(&Tensor::scalar(3.0));
    assert_eq!(w.to_vec()[n - 1], 3.0 * (n - 1) as f64);
    assert_eq!(keep.to_vec()[n - 1], (n - 1) as f64);
}

#[test]
fn an_empty_view_with_an_offset_reads_as_empty_after_any_view_op() {
    // Narrowing the second axis of a [0, 4] tensor moves the offset past the end of its empty
    // storage; the view is still empty and every op on it must see no elements.
    let t = Tensor::<f32>::zeros([0, 4]).narrow(1, 1, 3);
    assert_eq!(t.shape(), &[0, 3]);
    assert!(t.to_vec().is_empty());
    let flat = t.reshape([0]);
    assert!(flat.to_vec().is_empty());
    assert_eq!(flat.as_slice(), Some(&[][..]));
    assert_eq!(flat.exp().shape(), &[0]);
    assert_eq!(t.reshape([3, 0]).sum_all().item(), 0.0);
}

/// `as_mut_slice` on every kind of tensor writes the row-major elements of this tensor alone:
/// a transposed or narrowed view is copied first, a shared storage is copied first, and a sole
/// contiguous owner is written where it lies.
#[test]
fn as_mut_slice_writes_row_major_and_never_through_a_shared_storage() {
    let base = Tensor::from_vec((0..12).map(f64::from).collect(), [3, 4]);
    for (what, view) in [
        ("contiguous", base.clone()),
        ("transposed", base.t()),
        ("narrowed", base.narrow(1, 1, 2)),
    ] {
        let expected = view.to_vec();
        let mut written = view.clone();
        for v in written.as_mut_slice() {
            *v = -*v;
        }
        let negated: Vec<f64> = expected.iter().map(|v| -v).collect();
        assert_eq!(written.to_vec(), negated, "{what}");
        assert_eq!(view.to_vec(), expected, "{what}: the other owner changed");
        assert!(written.is_contiguous(), "{what}");
    }
    assert_eq!(base.to_vec(), (0..12).map(f64::from).collect::<Vec<_>>());

    let mut sole = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    let address = sole.data_ptr();
    sole.as_mut_slice()[1] = 5.0;
    assert_eq!(
        sole.data_ptr(),
        address,
        "a sole contiguous owner is written in place"
    );
    assert_eq!(sole.to_vec(), vec![1.0, 5.0]);
}

#[test]
fn to_vec_of_a_view_reads_every_element_in_row_major_order() {
    // The paths of a non-contiguous `to_vec`: a transposed matrix (copied by tiles, here with
    // partial ones), a row of another length, and a broadcast; each read element by element.
    let t = Tensor::<f64>::arange(37 * 45).reshape([37, 45]);
    let views = [
        t.t(),
        t.narrow(1, 3, 40),
        t.narrow(0, 2, 1).broadcast_to([5, 45]),
        t.t().narrow(0, 0, 0),
    ];
    for view in views {
        let [rows, cols] = [view.shape()[0], view.shape()[1]];
        assert!(!view.is_contiguous());
        let want: Vec<f64> = (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i, j)))
            .map(|(i, j)| view.get(&[i, j]))
            .collect();
        assert_eq!(view.to_vec(), want, "shape {:?}", view.shape());
    }
}
