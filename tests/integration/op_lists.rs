//! The lists of ops the property tests walk are the lists of ops that exist.
//!
//! `tests/integration/gradients.rs` checks the gradient of every `OpKind` (a `match` with no `_` arm ties
//! the test to the enum); here the autograd crate's source is scanned for the public methods of
//! `Var` (every `.rs` file under `crates/autograd/src`, read at run time, so a new file needs no
//! edit here), and each must be an `OpKind` or be listed in [`NO_DERIVATIVE`]: a differentiable
//! method cannot be added without a gradient test.

#[path = "../source_scan/mod.rs"]
mod source_scan;

use std::collections::BTreeSet;
use std::path::Path;

use shendu::autograd::OpKind;

/// Public methods of `Var` that are not differentiable ops: accessors, gradient entry points,
/// and comparisons (constant 0/1 masks, no derivative).
const NO_DERIVATIVE: &[&str] = &[
    "value",
    "shape",
    "rank",
    "numel",
    "item",
    "to_vec",
    "tape",
    "is_tracked",
    "detach",
    "constant",
    "retain_grad",
    "backward",
    "backward_with",
    "grad_graph",
    "grad_graph_with",
    "hvp",
    "jvp",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
];

#[test]
fn every_public_method_of_var_is_an_op_kind_or_has_no_derivative() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/autograd/src");
    let methods = source_scan::methods_under(&src, "Var");
    let kinds: Vec<&str> = OpKind::ALL.iter().map(|k| k.method_name()).collect();
    let distinct: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        kinds.len(),
        "OpKind::ALL names a method twice: {kinds:?}"
    );

    let unlisted: Vec<&String> = methods
        .iter()
        .filter(|m| !distinct.contains(m.as_str()) && !NO_DERIVATIVE.contains(&m.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "public methods of Var in neither OpKind::ALL nor NO_DERIVATIVE: {unlisted:?}. A \
         differentiable method needs an OpKind (and then a case in tests/integration/gradients.rs); a method \
         without a derivative goes in NO_DERIVATIVE"
    );
    let stale: Vec<&str> = kinds
        .iter()
        .chain(NO_DERIVATIVE)
        .copied()
        .filter(|name| !methods.contains(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "names that are not public methods of Var (found {methods:?}): {stale:?}"
    );
}

#[test]
fn the_source_scan_sees_public_methods_of_the_type_only() {
    let source = r##"
        /// Not code: pub fn in_a_comment() {}
        impl<T: Element> Var<T> {
            /// ```
            /// pub fn in_a_doc_example() { "}" }
            /// ```
            pub fn first(&self) -> Var<T> { let _ = "pub fn in_a_string() { {"; let _ = '{'; todo!() }
            pub(crate) fn crate_only(&self) {}
            fn private<'a>(&'a self) {}
            #[track_caller]
            pub const fn second(&self) {}
        }
        impl<T: Element> Gradients<T> { pub fn not_var(&self) {} }
        impl<T: Element> Variable<T> { pub fn another_type(&self) {} }
        impl<T: Element> Neg for Var<T> { fn neg(self) -> Var<T> { todo!() } }
        macro_rules! masks {
            ($($(#[$doc:meta])* fn $name:ident($($p:ident: $t:ty),*) { $body:expr })*) => {
                impl<T: Element> Var<T> { $( $(#[$doc])* pub fn $name(&self) {} )* }
            };
        }
        masks! {
            /// 1 where x > 1: fn not_this_one
            fn is_big() { |x| x.gt(1.0) }
            /// "{ unbalanced"
            fn is_small(limit: T) { |x| x.lt(limit) }
        }
    "##;
    let found = source_scan::methods_in(source, Path::new("synthetic.rs"), "Var");
    let expected = ["first", "is_big", "is_small", "second"];
    assert_eq!(
        found.iter().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
}
