//! The profiler: calls counted per op, time given to the op whose computation it was, time
//! outside the tape given to no op, and the profiler off again after a panic.

use std::time::Duration;

use shendu_autograd::{profile, Tape};
use shendu_tensor::Tensor;

const PAUSE: Duration = Duration::from_millis(20);

#[test]
fn counts_each_op_once_forward_and_once_backward() {
    let (_, report) = profile(|| {
        let tape = Tape::new();
        let x = tape.var(Tensor::<f64>::ones([8, 8]));
        let y = x.matmul(&x).relu();
        (&y + &y).sum_all().backward()
    });
    for op in ["matmul", "relu", "sum"] {
        let row = report
            .op(op)
            .unwrap_or_else(|| panic!("{op} missing:\n{report}"));
        assert_eq!((row.calls, row.backward_calls), (1, 1), "{op}");
    }
    // `&y + &y` is one add whose rule runs once, with both gradients summed into y's.
    let add = report.op("add").expect("add");
    assert_eq!((add.calls, add.backward_calls), (1, 1));
    assert!(report.forward() + report.backward() <= report.wall);
}

#[test]
fn time_goes_to_the_op_it_was_spent_in_and_the_rest_to_no_op() {
    let (_, report) = profile(|| {
        let tape = Tape::new();
        let x = tape.var(Tensor::<f64>::ones([4]));
        let y = x.exp();
        // Between two ops: the next op's forward.
        std::thread::sleep(PAUSE);
        let z = y.sin().sum_all();
        let grads = z.backward();
        // After the sweep: outside every op.
        std::thread::sleep(PAUSE);
        grads
    });
    let sin = report.op("sin").expect("sin");
    assert!(sin.forward >= PAUSE, "{report}");
    assert!(report.op("exp").unwrap().forward < PAUSE, "{report}");
    assert!(report.outside() >= PAUSE, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("sin") && text.contains("(outside ops)"),
        "{text}"
    );
}

#[test]
fn nothing_outside_a_profile_is_counted_and_a_panic_turns_it_off() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones([3]));
    let _ = x.cos().sum_all().backward();
    let caught = std::panic::catch_unwind(|| {
        profile(|| {
            let tape = Tape::<f64>::new();
            let _ = tape.var(Tensor::ones([2])).tanh();
            panic!("inside the profile");
        })
    });
    assert!(caught.is_err());
    // Off after the panic: a new profile starts empty and may begin.
    let _ = x.cos();
    let (_, report) = profile(|| {
        let tape = Tape::new();
        tape.var(Tensor::<f64>::ones([2]))
            .square()
            .sum_all()
            .backward()
    });
    assert!(report.op("cos").is_none(), "{report}");
    assert!(report.op("tanh").is_none(), "{report}");
    assert!(report.op("square").is_some(), "{report}");
}

#[test]
fn a_recording_sweep_counts_its_rules_as_recorded_ops() {
    let (_, report) = profile(|| {
        let tape = Tape::new();
        let x = tape.var(Tensor::<f64>::from_vec(vec![0.5, 1.5], [2]));
        let y = x.sin().sum_all();
        y.grad_graph(&[&x])
    });
    // sin's rule multiplies by cos: recorded as ops, not timed as sin's backward.
    let sin = report.op("sin").expect("sin");
    assert_eq!(sin.backward_calls, 0, "{report}");
    assert!(report.op("cos").is_some_and(|c| c.calls == 1), "{report}");
}

#[test]
#[should_panic(expected = "already profiling")]
fn profiles_do_not_nest() {
    profile(|| profile(|| ()));
}
