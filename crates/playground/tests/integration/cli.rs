//! Proves how the `shendu-playground` binary behaves for its user, by running it:
//! - every bad flag or file exits with code 2, names the flag (or the file's line) on stderr,
//!   prints nothing on stdout and writes nothing;
//! - good runs (a data set, the default spiral, `--exact`, the user's own CSV points) exit 0
//!   and print the settings and the outcome; `--save` writes a checkpoint that loads;
//! - with the output not a terminal, nothing of a progress bar (`\r`, escape sequences) shows.
//!
//! Each run happens in a fresh temporary folder, its current directory, so that whatever the
//! binary writes lands there and can be listed.

use std::path::Path;
use std::process::{Command, Output};

use shendu_nn::StateDict;

/// Runs the binary in `dir` with `args`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shendu-playground"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// The names in `dir`, sorted, folders included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A bad command line: the arguments, the files to put in the folder first, and what the
/// message on stderr must contain.
struct Bad {
    args: &'static [&'static str],
    files: &'static [(&'static str, &'static str)],
    names: &'static [&'static str],
}

const fn bad(args: &'static [&'static str], names: &'static [&'static str]) -> Bad {
    Bad {
        args,
        files: &[],
        names,
    }
}

const BAD: &[Bad] = &[
    bad(&["--batch", "0"], &["--batch"]),
    bad(&["--batch", "31"], &["--batch"]),
    bad(&["--batch", "-1"], &["--batch"]),
    bad(&["--noise", "60"], &["--noise"]),
    bad(&["--train-percent", "95"], &["--train-percent"]),
    bad(&["--layers", "4,x"], &["--layers", "'x'"]),
    bad(&["--layers", "9"], &["--layers"]),
    bad(&["--layers", "1,2,3,4,5,6,7"], &["--layers"]),
    bad(&["--features", "x1,foo"], &["--features", "foo"]),
    bad(&["--features", "x1,x1"], &["--features"]),
    bad(&["--activation", "swish"], &["--activation", "swish"]),
    bad(&["--lr", "-1"], &["--lr"]),
    bad(&["--lr", "abc"], &["--lr"]),
    bad(&["--lr", "0"], &["--lr"]),
    bad(&["--reg-rate", "-0.1"], &["--reg-rate"]),
    bad(&["--dataset", "moon"], &["--dataset", "moon"]),
    bad(&["--reg", "l3"], &["--reg", "l3"]),
    bad(&["--epochs", "1000000000"], &["--epochs"]),
    bad(&["--exact", "--optimizer", "adam"], &["--optimizer"]),
    bad(&["--exact", "--loss", "bce"], &["--loss"]),
    bad(&["--loss", "bce", "--dataset", "plane"], &["--loss"]),
    bad(&["--data", "missing.csv"], &["--data", "missing.csv"]),
    Bad {
        args: &["--data", "bad.csv"],
        files: &[("bad.csv", "x1,x2,label\n1,2,1\n3,zz,0\n")],
        // file:line:column, as compilers print it
        names: &["bad.csv:3:", "zz"],
    },
    Bad {
        args: &["--data", "two.csv"],
        files: &[("two.csv", "1,2\n3,4\n")],
        names: &["two.csv", "2 column"],
    },
    Bad {
        args: &["--data", "empty.csv"],
        files: &[("empty.csv", "")],
        names: &["empty.csv"],
    },
    bad(
        &["--dataset", "circle", "--data", "x.csv"],
        &["--dataset", "--data"],
    ),
    bad(
        &["--save", "no/such/dir/model.safetensors"],
        &["--save", "no/such/dir"],
    ),
    bad(&["--frobnicate"], &["--frobnicate"]),
];

#[test]
fn each_bad_flag_exits_2_names_it_and_writes_nothing() {
    // Every case is run and every failure reported at once: one message per bad case.
    let mut failures = Vec::new();
    for case in BAD {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in case.files {
            std::fs::write(dir.path().join(name), contents).unwrap();
        }
        let before = listing(dir.path());
        let output = run(dir.path(), case.args);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        let what = case.args.join(" ");
        if output.status.code() != Some(2) {
            failures.push(format!("{what}: exit {:?}", output.status.code()));
        }
        for name in case.names {
            if !stderr.contains(name) {
                failures.push(format!("{what}: {name} not in {stderr:?}"));
            }
        }
        if !stderr.starts_with("error: ") {
            failures.push(format!("{what}: {stderr:?}"));
        }
        if !stdout.is_empty() {
            failures.push(format!("{what}: printed {stdout:?} on stdout"));
        }
        if listing(dir.path()) != before {
            failures.push(format!("{what}: wrote {:?}", listing(dir.path())));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Neither stream holds anything of a progress bar: no carriage return, no escape sequence.
fn assert_quiet(output: &Output, what: &str) {
    for (name, stream) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let s = text(stream);
        assert!(
            !s.contains('\r'),
            "{what}: a carriage return on {name}: {s:?}"
        );
        assert!(
            !s.contains("\x1b["),
            "{what}: an escape sequence on {name}: {s:?}"
        );
    }
}

#[test]
fn a_small_run_prints_its_settings_and_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["--dataset", "xor", "--epochs", "5"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("xor (classification), 250 train / 250 test points, seed 0"),
        "{stdout}"
    );
    // The settings used, the Playground's on xor.
    let settings = stdout
        .lines()
        .find(|l| l.starts_with("settings"))
        .unwrap_or_else(|| panic!("no settings line in {stdout}"));
    for part in [
        "noise 0",
        "train 50%",
        "batch 10",
        "features x1,x2",
        "layers [4,2] tanh",
        "sgd lr 0.03",
        "reg none",
        "5 epochs",
    ] {
        assert!(settings.contains(part), "{part} not in {settings}");
    }
    assert!(!stdout.contains("differs from"), "{stdout}");
    assert!(stdout.contains("trained    5 epochs"), "{stdout}");
    assert!(stdout.contains("accuracy   train "), "{stdout}");
    assert_quiet(&output, "xor");
    // Not a terminal: the progress bar draws nothing at all.
    assert_eq!(text(&output.stderr), "");
    // The four pictures, each a PNG, in the default folder of the current directory.
    for picture in ["decision", "neurons", "network", "loss"] {
        let path = dir
            .path()
            .join("playground-out")
            .join(format!("{picture}.png"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            path.display()
        );
    }
    assert!(
        stdout.contains("pictures   playground-out: decision.png"),
        "{stdout}"
    );
}

#[test]
fn the_default_run_is_the_spiral_and_says_where_it_departs() {
    let dir = tempfile::tempdir().unwrap();
    // The default settings with few epochs: the full run is tests/integration/session.rs's.
    let output = run(dir.path(), &["--epochs", "3"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.contains("spiral (classification)"), "{stdout}");
    assert!(
        stdout.contains("the Playground's defaults do not learn the spiral"),
        "{stdout}"
    );
    for flag in ["--features", "--layers", "--optimizer"] {
        assert!(stdout.contains(flag), "{flag} not named in {stdout}");
    }
    assert_quiet(&output, "spiral");
}

#[test]
fn exact_runs_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &[
            "--exact",
            "--dataset",
            "circle",
            "--batch",
            "7",
            "--epochs",
            "3",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.contains("batch 7"), "{stdout}");
    assert!(stdout.contains("· exact"), "{stdout}");
    assert_quiet(&output, "exact");
}

#[test]
fn save_writes_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &[
            "--dataset",
            "gauss",
            "--epochs",
            "2",
            "--save",
            "model.safetensors",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("saved      model.safetensors"));
    let state = StateDict::<f64>::read(dir.path().join("model.safetensors")).unwrap();
    // The Playground's 2-4-2-1 network.
    for (name, shape) in [
        ("0.weight", [4, 2]),
        ("2.weight", [2, 4]),
        ("4.weight", [1, 2]),
    ] {
        assert_eq!(state.tensor(name).unwrap().shape(), shape, "{name}");
    }
    assert_eq!(state.u64("playground.epoch").unwrap(), 2);
    assert_quiet(&output, "save");
}

#[test]
fn the_users_points_train_and_report() {
    let dir = tempfile::tempdir().unwrap();
    // 40 points on two sides of the line x1 = x2, labels 0 and 1, with a header.
    let mut csv = String::from("x1,x2,label\n");
    for i in 0..20 {
        let t = f64::from(i) / 4.0 - 2.5;
        csv += &format!("{t},{},1\n", t + 2.0);
        csv += &format!("{t},{},0\n", t - 2.0);
    }
    std::fs::write(dir.path().join("points.csv"), &csv).unwrap();
    let output = run(
        dir.path(),
        &["--data", "points.csv", "--epochs", "200", "--lr", "0.1"],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("points.csv (classification), 20 train / 20 test points"),
        "{stdout}"
    );
    // A line through the origin separates them: the network learns it.
    let accuracy = stdout
        .lines()
        .find_map(|l| l.strip_prefix("accuracy   train "))
        .unwrap_or_else(|| panic!("no accuracy in {stdout}"));
    assert!(accuracy.contains("test 100.0%"), "{accuracy}");
    assert_quiet(&output, "points");

    // Values that are not classes: a regression, with no accuracy.
    let values: String = (0..30)
        .map(|i| format!("{},{},{}\n", i % 6, i / 6, 0.1 * f64::from(i)))
        .collect();
    std::fs::write(dir.path().join("values.csv"), values).unwrap();
    let output = run(dir.path(), &["--data", "values.csv", "--epochs", "3"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.contains("values.csv (regression)"), "{stdout}");
    assert!(!stdout.contains("accuracy"), "{stdout}");
}
