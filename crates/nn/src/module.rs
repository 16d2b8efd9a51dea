//! The module protocol: what a layer or a model tells the rest of shendu about itself.
//!
//! A [`Module`] shows its parameters, buffers and submodules to a visitor, each under a name;
//! nested modules compose the names with dots (`encoder.0.weight`), exactly as PyTorch's
//! `state_dict` does, so checkpoints and optimizer states are keyed by names a PyTorch user
//! recognises. A [`Forward`] module also maps a var to a var. Everything else (counting
//! parameters, switching train/eval mode, freezing, the training step, saving) is written once,
//! here and in the checkpoint code, on top of the two visits.
//!
//! A model of your own is a struct of modules with three short methods:
//!
//! ```
//! use shendu_autograd::Var;
//! use shendu_nn::{Activation, Forward, Linear, Module, Visit, VisitMut};
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! /// Two branches over the same input, summed, plus a skip connection: y = x + a(x) + b(x).
//! struct TwoBranch {
//!     left: Linear,
//!     right: Linear,
//!     act: Activation,
//! }
//!
//! impl Module for TwoBranch {
//!     fn visit(&self, v: &mut Visit<'_>) {
//!         v.module("left", &self.left);
//!         v.module("right", &self.right);
//!     }
//!     fn visit_mut(&mut self, v: &mut VisitMut<'_>) {
//!         v.module("left", &mut self.left);
//!         v.module("right", &mut self.right);
//!     }
//! }
//!
//! impl Forward for TwoBranch {
//!     fn forward(&self, x: &Var) -> Var {
//!         let a = self.act.forward(&self.left.forward(x));
//!         let b = self.act.forward(&self.right.forward(x));
//!         &(x + &a) + &b
//!     }
//! }
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let model = TwoBranch {
//!     left: Linear::new(4, 4, &mut rng),
//!     right: Linear::new(4, 4, &mut rng),
//!     act: Activation::Relu,
//! };
//! assert_eq!(model.param_names(), ["left.weight", "left.bias", "right.weight", "right.bias"]);
//! assert_eq!(model.param_count(), 2 * (16 + 4));
//! let (loss, grads) = model.value_and_grad(|tape, model| {
//!     model.forward(&tape.constant(shendu_tensor::Tensor::ones([2, 4]))).square().mean_all()
//! });
//! assert!(loss > 0.0);
//! assert_eq!(grads.iter().count(), 4);
//! ```

use std::cell::Cell;

use shendu_autograd::{value_and_grad, value_and_grad_with_aux, Gradients, Tape, Var};
use shendu_tensor::{Element, Tensor};

use crate::param::Param;

/// One thing a [`Visit`] shows: a parameter, or a buffer (state saved with the model but not
/// trained, such as BatchNorm's running statistics), or a counter (an integer buffer, such as
/// BatchNorm's `num_batches_tracked`, which PyTorch saves as an `int64` scalar).
pub enum Entry<'a, T: Element> {
    /// A parameter.
    Param(&'a Param<T>),
    /// A buffer.
    Buffer(&'a Tensor<T>),
    /// A counter.
    Counter(u64),
}

/// One thing a [`VisitMut`] shows: a parameter, a buffer, or a submodule (shown before its own
/// entries, so that its mode can be switched).
pub enum EntryMut<'a, T: Element> {
    /// A parameter.
    Param(&'a mut Param<T>),
    /// A buffer.
    Buffer(&'a mut Tensor<T>),
    /// A counter.
    Counter(&'a mut u64),
    /// A submodule, before its entries.
    Module(&'a mut dyn Module<T>),
}

/// Walks a module's entries, calling a function with each one's full name.
pub struct Visit<'f, T: Element = f32> {
    path: String,
    f: &'f mut dyn FnMut(&str, Entry<'_, T>),
}

/// Walks a module's entries mutably, calling a function with each one's full name.
pub struct VisitMut<'f, T: Element = f32> {
    path: String,
    f: &'f mut dyn FnMut(&str, EntryMut<'_, T>),
}

thread_local! {
    /// The path buffer of the last walk this thread finished, for its next walk: an optimizer
    /// walks the model each step, and a new buffer was an allocation each time.
    static SPARE_PATH: Cell<String> = const { Cell::new(String::new()) };
}

/// Leaves a finished walk's path buffer, emptied, for the next walk on this thread.
fn give_path(path: &mut String) {
    let mut path = std::mem::take(path);
    path.clear();
    // At thread exit the slot may be gone; the buffer is then freed.
    let _ = SPARE_PATH.try_with(|spare| spare.set(path));
}

impl<T: Element> Drop for Visit<'_, T> {
    fn drop(&mut self) {
        give_path(&mut self.path);
    }
}

impl<T: Element> Drop for VisitMut<'_, T> {
    fn drop(&mut self) {
        give_path(&mut self.path);
    }
}

/// Appends `name` to the dotted `path`, returning the length to truncate back to. The walk keeps
/// one path buffer, so that visiting a model's entries allocates nothing once it has grown.
fn enter(path: &mut String, name: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
    len
}

/// [`enter`] for a child named by its position. The digits are written on the stack, where
/// `index.to_string()` would allocate a String each walk (an optimizer walks the model each
/// step).
fn enter_at(path: &mut String, index: usize) -> usize {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = index;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    enter(
        path,
        std::str::from_utf8(&digits[start..]).expect("ASCII digits"),
    )
}

impl<'f, T: Element> Visit<'f, T> {
    /// A walk calling `f` with each entry's full name.
    pub fn new(f: &'f mut dyn FnMut(&str, Entry<'_, T>)) -> Self {
        Visit {
            path: SPARE_PATH.try_with(Cell::take).unwrap_or_default(),
            f,
        }
    }

    /// Shows the parameter `name`.
    pub fn param(&mut self, name: &str, param: &Param<T>) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, Entry::Param(param));
        self.path.truncate(len);
    }

    /// Shows the buffer `name`.
    pub fn buffer(&mut self, name: &str, buffer: &Tensor<T>) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, Entry::Buffer(buffer));
        self.path.truncate(len);
    }

    /// Shows the counter `name`.
    pub fn counter(&mut self, name: &str, value: u64) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, Entry::Counter(value));
        self.path.truncate(len);
    }

    /// Shows the entries of the submodule `name`, their names prefixed with `name.`.
    pub fn module<M: Module<T> + ?Sized>(&mut self, name: &str, module: &M) {
        let len = enter(&mut self.path, name);
        module.visit(self);
        self.path.truncate(len);
    }

    /// [`Visit::module`] for a child named by its position, as the layers of a list are
    /// (`0.weight`, `1.weight`, ...).
    pub fn module_at<M: Module<T> + ?Sized>(&mut self, index: usize, module: &M) {
        let len = enter_at(&mut self.path, index);
        module.visit(self);
        self.path.truncate(len);
    }
}

impl<'f, T: Element> VisitMut<'f, T> {
    /// A walk calling `f` with each entry's full name.
    pub fn new(f: &'f mut dyn FnMut(&str, EntryMut<'_, T>)) -> Self {
        VisitMut {
            path: SPARE_PATH.try_with(Cell::take).unwrap_or_default(),
            f,
        }
    }

    /// Shows the parameter `name`.
    pub fn param(&mut self, name: &str, param: &mut Param<T>) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, EntryMut::Param(param));
        self.path.truncate(len);
    }

    /// Shows the buffer `name`.
    pub fn buffer(&mut self, name: &str, buffer: &mut Tensor<T>) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, EntryMut::Buffer(buffer));
        self.path.truncate(len);
    }

    /// Shows the counter `name`.
    pub fn counter(&mut self, name: &str, value: &mut u64) {
        let len = enter(&mut self.path, name);
        (self.f)(&self.path, EntryMut::Counter(value));
        self.path.truncate(len);
    }

    /// Shows the submodule `name` itself, then its entries, their names prefixed with `name.`.
    pub fn module<M: Module<T>>(&mut self, name: &str, module: &mut M) {
        self.dyn_module(name, module);
    }

    /// [`VisitMut::module`] for a boxed module.
    pub fn dyn_module(&mut self, name: &str, module: &mut dyn Module<T>) {
        let len = enter(&mut self.path, name);
        self.show_module(len, module);
    }

    /// [`VisitMut::module`] for a child named by its position, as the layers of a list are
    /// (`0.weight`, `1.weight`, ...).
    pub fn module_at<M: Module<T>>(&mut self, index: usize, module: &mut M) {
        self.dyn_module_at(index, module);
    }

    /// [`VisitMut::dyn_module`] for a child named by its position.
    pub fn dyn_module_at(&mut self, index: usize, module: &mut dyn Module<T>) {
        let len = enter_at(&mut self.path, index);
        self.show_module(len, module);
    }

    /// Shows the submodule whose name the path now ends with, then its entries; then takes the
    /// path back to its first `len` bytes.
    fn show_module(&mut self, len: usize, module: &mut dyn Module<T>) {
        (self.f)(&self.path, EntryMut::Module(&mut *module));
        module.visit_mut(self);
        self.path.truncate(len);
    }
}

/// A layer or a model: something that owns parameters (and buffers, and submodules) and shows
/// them by name. `Send`, so that a model can move to another thread (a server's session, a worker).
///
/// Implement [`visit`](Module::visit) and [`visit_mut`](Module::visit_mut) (see the module
/// documentation for an example); the provided methods do the rest.
///
/// A model of your own, with two branches, a skip connection and a head, trained one step:
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_autograd::Var;
/// use shendu_nn::{Dropout, Forward, Linear, Module, Optimizer, Sgd, Visit, VisitMut};
/// use shendu_tensor::Tensor;
///
/// /// y = head(x + relu(left(x)) + dropout(tanh(right(x)))).
/// struct Net {
///     left: Linear<f64>,
///     right: Linear<f64>,
///     dropout: Dropout<f64>,
///     head: Linear<f64>,
/// }
///
/// // Each field by name: its entries become `left.weight`, `head.bias`, … `train` and `eval`
/// // reach `dropout` through `visit_mut`, so `Net` needs no `set_training` of its own.
/// impl Module<f64> for Net {
///     fn visit(&self, v: &mut Visit<'_, f64>) {
///         v.module("left", &self.left);
///         v.module("right", &self.right);
///         v.module("dropout", &self.dropout);
///         v.module("head", &self.head);
///     }
///     fn visit_mut(&mut self, v: &mut VisitMut<'_, f64>) {
///         v.module("left", &mut self.left);
///         v.module("right", &mut self.right);
///         v.module("dropout", &mut self.dropout);
///         v.module("head", &mut self.head);
///     }
/// }
///
/// impl Forward<f64> for Net {
///     fn forward(&self, x: &Var<f64>) -> Var<f64> {
///         let left = self.left.forward(x).relu();
///         let right = self.dropout.forward(&self.right.forward(x).tanh());
///         self.head.forward(&(&(x + &left) + &right))
///     }
/// }
///
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut net = Net {
///     left: Linear::new(3, 3, &mut rng),
///     right: Linear::new(3, 3, &mut rng),
///     dropout: Dropout::new(0.1, &mut rng),
///     head: Linear::new(3, 1, &mut rng),
/// };
/// let names = net.param_names();
/// assert_eq!(names[..3], ["left.weight", "left.bias", "right.weight"]);
/// assert_eq!(names[3..], ["right.bias", "head.weight", "head.bias"]);
///
/// let (x, target) = (Tensor::ones([4, 3]), Tensor::zeros([4, 1]));
/// let (_loss, grads) = net.value_and_grad(|tape, net| {
///     let out = net.forward(&tape.constant(x.clone()));
///     (&out - &tape.constant(target.clone())).square().mean_all()
/// });
/// assert!(grads.param(net.right.weight.id()).is_some());
/// assert_eq!(grads.len(), names.len());          // a gradient for each parameter
/// Sgd::new(0.1).step(&mut net, &grads);
///
/// net.eval();                                    // dropout off: the same input, the same output
/// assert_eq!(net.predict(&x).to_vec(), net.predict(&x).to_vec());
/// ```
pub trait Module<T: Element = f32>: Send {
    /// Shows each parameter, buffer and submodule to `v`, by name.
    fn visit(&self, v: &mut Visit<'_, T>);

    /// Shows each parameter, buffer and submodule to `v`, mutably, by name.
    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>);

    /// Switches this module's own behaviour between training (`true`) and evaluation: dropout
    /// and batch statistics. Its submodules are switched by [`Module::train`] and
    /// [`Module::eval`], which call this on every module. Most modules need nothing.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Training mode for this module and every submodule (the default for a new module).
    fn train(&mut self) {
        set_mode(self, true);
    }

    /// Evaluation mode for this module and every submodule: dropout off, batch statistics from
    /// the running estimates.
    fn eval(&mut self) {
        set_mode(self, false);
    }

    /// The number of parameter elements (frozen ones included), as PyTorch's
    /// `sum(p.numel() for p in model.parameters())`.
    fn param_count(&self) -> usize {
        let mut count = 0;
        self.visit(&mut Visit::new(&mut |_, entry| {
            if let Entry::Param(p) = entry {
                count += p.value().numel();
            }
        }));
        count
    }

    /// The full names of the parameters, in visiting order.
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit(&mut Visit::new(&mut |name, entry| {
            if let Entry::Param(_) = entry {
                names.push(name.to_string());
            }
        }));
        names
    }

    /// Freezes every parameter: they enter tapes as constants and optimizers skip them. To
    /// freeze a part of a model, call this on the submodule.
    fn freeze(&mut self) {
        set_trainable(self, false);
    }

    /// Makes every parameter trainable again.
    fn unfreeze(&mut self) {
        set_trainable(self, true);
    }

    /// One training step's autodiff: records `f` (given a fresh tape and this model) on a fresh
    /// tape, differentiates the scalar loss it returns, drops the tape and returns the loss value
    /// and the gradients by parameter. No tape outlives the call, so the optimizer's update that
    /// follows writes into the parameters in place.
    #[track_caller]
    fn value_and_grad<F>(&self, f: F) -> (T, Gradients<T>)
    where
        Self: Sized,
        F: FnOnce(&Tape<T>, &Self) -> Var<T>,
    {
        value_and_grad(|tape| f(tape, self))
    }

    /// [`Module::value_and_grad`] for a step that returns extra values beside its loss (the
    /// logits, as tensors, for an accuracy), as JAX's `has_aux`.
    #[track_caller]
    fn value_and_grad_with_aux<F, A: Send>(&self, f: F) -> (T, A, Gradients<T>)
    where
        Self: Sized,
        F: FnOnce(&Tape<T>, &Self) -> (Var<T>, A),
    {
        value_and_grad_with_aux(|tape| f(tape, self))
    }
}

fn set_mode<T: Element, M: Module<T> + ?Sized>(module: &mut M, training: bool) {
    module.set_training(training);
    module.visit_mut(&mut VisitMut::new(&mut |_, entry| {
        if let EntryMut::Module(m) = entry {
            m.set_training(training);
        }
    }));
}

fn set_trainable<T: Element, M: Module<T> + ?Sized>(module: &mut M, trainable: bool) {
    module.visit_mut(&mut VisitMut::new(&mut |_, entry| {
        if let EntryMut::Param(p) = entry {
            p.set_trainable(trainable);
        }
    }));
}

/// A module that maps a var to a var: a layer, an activation, a model.
pub trait Forward<T: Element = f32>: Module<T> {
    /// The output for the input `x`, recorded on `x`'s tape.
    fn forward(&self, x: &Var<T>) -> Var<T>;

    /// The output for `x` with nothing recorded: inference. The mode is left as it is: call
    /// [`Module::eval`] first for a model with dropout or batch normalisation.
    #[track_caller]
    fn predict(&self, x: &Tensor<T>) -> Tensor<T> {
        let tape = Tape::new();
        let _no_grad = tape.no_grad();
        self.forward(&tape.constant(x.clone())).value().clone()
    }
}

impl<T: Element, M: Module<T> + ?Sized> Module<T> for Box<M> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        (**self).visit(v);
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        (**self).visit_mut(v);
    }

    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
}

impl<T: Element, M: Forward<T> + ?Sized> Forward<T> for Box<M> {
    fn forward(&self, x: &Var<T>) -> Var<T> {
        (**self).forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::{enter, enter_at};

    #[test]
    fn a_position_enters_the_path_as_its_decimal_name() {
        for index in [0, 1, 9, 10, 11, 99, 100, 1234, usize::MAX] {
            for prefix in ["", "encoder"] {
                let mut by_position = prefix.to_string();
                let mut by_name = prefix.to_string();
                assert_eq!(
                    enter_at(&mut by_position, index),
                    enter(&mut by_name, &index.to_string())
                );
                assert_eq!(by_position, by_name);
            }
        }
    }
}
