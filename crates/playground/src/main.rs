//! `shendu-playground`: the TensorFlow Playground on the command line. Parses the flags (the
//! Playground's settings, plus what its users asked for), trains a [`Session`] with a progress
//! bar, prints the outcome, writes pictures of the run as PNG files and, when asked, saves the
//! network. `shendu-playground serve` instead serves the Playground to a browser
//! ([`shendu_playground::serve`]).
//!
//! Every input is checked before anything is written: a bad flag or file prints what and
//! where, and exits with code 2.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use shendu_nn::data::playground::Feature;
use shendu_nn::Activation;
use shendu_playground::config::{words, Choice, Config, Dataset, LossKind, OptimizerKind};
use shendu_playground::points::read_points;
use shendu_playground::serve;
use shendu_playground::session::{Session, NEURON_RESOLUTION, OUTPUT_RESOLUTION};
use shendu_playground::{write_pictures, PictureOptions, Problem, Regularization};

/// The resolution of each node's small map in the pictures: the Playground draws them at
/// [`NEURON_RESOLUTION`] (10×10) on screen, where they are tiny; a still picture has room
/// for more detail.
const PICTURE_NEURON_RESOLUTION: usize = 2 * NEURON_RESOLUTION;

/// The exit code of a usage error, as clap's.
const USAGE: u8 = 2;

/// Train a small network on the Playground's 2-D data sets and draw it.
///
/// With no flags: the spiral, on settings that learn it (see README). `serve`: the Playground
/// in the browser.
#[derive(Parser, Debug)]
#[command(name = "shendu-playground", version, about, long_about = None)]
// The training flags stay at the top level, as before the browser came: `serve` is a
// subcommand that takes none of them.
#[command(args_conflicts_with_subcommands = true)]
struct Flags {
    #[command(subcommand)]
    command: Option<Command>,
    /// The data set.
    #[arg(long, value_parser = choice::<Dataset>())]
    dataset: Option<Dataset>,
    /// Your own points instead: a CSV file of x1,x2,label lines (labels ±1 or 0/1 for
    /// classes, any other numbers for regression), an optional header line first.
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// Noise, 0 to 50 (the Playground's slider).
    #[arg(long, allow_negative_numbers = true)]
    noise: Option<u32>,
    /// The share of the points used for training, 10 to 90.
    #[arg(long, allow_negative_numbers = true)]
    train_percent: Option<u32>,
    /// Examples per update, 1 to 30.
    #[arg(long, allow_negative_numbers = true)]
    batch: Option<usize>,
    /// The inputs, comma-separated: x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2.
    #[arg(long, value_delimiter = ',', value_parser = parse_feature)]
    features: Option<Vec<Feature>>,
    /// Neurons per hidden layer, comma-separated (e.g. 4,2); "none" for no hidden layer.
    #[arg(long, value_parser = parse_layers)]
    layers: Option<Layers>,
    /// The hidden layers' activation.
    #[arg(long, value_parser = choice::<Activation>())]
    activation: Option<Activation>,
    /// The learning rate.
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// The weight penalty.
    #[arg(long, value_parser = choice::<Regularization>())]
    reg: Option<Regularization>,
    /// The penalty's rate.
    #[arg(long, allow_negative_numbers = true)]
    reg_rate: Option<f64>,
    /// The optimizer.
    #[arg(long, value_parser = choice::<OptimizerKind>())]
    optimizer: Option<OptimizerKind>,
    /// The loss: squared error (the Playground's) or binary cross-entropy (classes only).
    #[arg(long, value_parser = choice::<LossKind>())]
    loss: Option<LossKind>,
    /// Epochs to train.
    #[arg(long, allow_negative_numbers = true)]
    epochs: Option<usize>,
    /// Seeds the data, the split, the initial weights and the shuffles.
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Train exactly as the Playground does: its batch arithmetic and data order, in f64.
    #[arg(long)]
    exact: bool,
    /// Where the pictures go.
    #[arg(long, value_name = "DIR", default_value = "playground-out")]
    out: PathBuf,
    /// Draw the test points on the output map too.
    #[arg(long)]
    show_test: bool,
    /// Draw the output map as two colours (its sign).
    #[arg(long)]
    discretize: bool,
    /// Save the trained network to this safetensors file.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the Playground to a browser: a local web server that trains with shendu.
    Serve(ServeFlags),
}

#[derive(Args, Debug)]
struct ServeFlags {
    /// The address to listen on; 127.0.0.1 serves this machine only, 0.0.0.0 every network.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// At most this many sessions (pages) at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_sessions: u32,
    /// Free a session after this many seconds with no open page and no request.
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    idle_timeout: u64,
}

/// The parser of a flag that picks a [`Choice`]: the words of `config.rs`, listed by `--help`
/// and by the error for any other word.
fn choice<C: Choice + Clone>() -> impl TypedValueParser<Value = C> {
    PossibleValuesParser::new(words::<C>())
        .map(|word| C::from_word(&word).expect("clap lets only the choices' words through"))
}

/// Hidden layer widths (a newtype, so that clap takes the whole list as one value).
#[derive(Clone, Debug)]
struct Layers(Vec<usize>);

fn parse_feature(text: &str) -> Result<Feature, String> {
    Feature::from_word(text.trim())
}

fn parse_layers(text: &str) -> Result<Layers, String> {
    let text = text.trim();
    if text.is_empty() || text == "none" {
        return Ok(Layers(Vec::new()));
    }
    text.split(',')
        .map(|n| {
            n.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{n}' is not a number of neurons"))
        })
        .collect::<Result<_, _>>()
        .map(Layers)
}

impl Flags {
    /// The run's settings: the defaults of the data set, then every flag given.
    fn config(&self, dataset: Dataset) -> Config {
        let mut c = Config::defaults(dataset, self.exact);
        c.noise = self.noise.unwrap_or(c.noise);
        c.train_percent = self.train_percent.unwrap_or(c.train_percent);
        c.batch = self.batch.unwrap_or(c.batch);
        c.features = self.features.clone().unwrap_or(c.features);
        c.hidden = self.layers.clone().map_or(c.hidden, |l| l.0);
        c.activation = self.activation.unwrap_or(c.activation);
        c.learning_rate = self.lr.unwrap_or(c.learning_rate);
        c.regularization = self.reg.unwrap_or(c.regularization);
        c.regularization_rate = self.reg_rate.unwrap_or(c.regularization_rate);
        c.optimizer = self.optimizer.unwrap_or(c.optimizer);
        c.loss = self.loss.unwrap_or(c.loss);
        c.epochs = self.epochs.unwrap_or(c.epochs);
        c.seed = self.seed.unwrap_or(c.seed);
        c
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let result = match &flags.command {
        Some(Command::Serve(serve)) => run_server(serve),
        None => run(&flags),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(USAGE)
        }
        Err(Failure::Output(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a run stopped: bad input (exit code 2, nothing written) or an output that could not be
/// written (exit code 1).
enum Failure {
    Usage(String),
    Output(String),
}

fn run(flags: &Flags) -> Result<(), Failure> {
    let dataset = match flags.dataset {
        Some(d) => d,
        // The default run is the spiral; your own points start from the circle's settings.
        None if flags.data.is_none() => Dataset::Spiral,
        None => Dataset::Circle,
    };
    let points = match &flags.data {
        Some(path) => Some(read_points(path).map_err(|e| Failure::Usage(format!("--data {e}")))?),
        None => None,
    };
    let config = flags.config(dataset);
    if let Some(save) = &flags.save {
        check_writable_parent("--save", save)?;
    }
    if flags.out.exists() && !flags.out.is_dir() {
        return Err(Failure::Usage(format!(
            "--out {}: exists and is not a folder",
            flags.out.display()
        )));
    }
    let mut session =
        Session::new(config.clone(), points).map_err(|e| Failure::Usage(e.to_string()))?;

    print_settings(&session, flags, dataset);
    let started = Instant::now();
    let bar = progress_bar(config.epochs as u64);
    for _ in 0..config.epochs {
        let losses = session.step();
        bar.set_message(format!(
            "train loss {:.4}  test loss {:.4}",
            losses.train, losses.test
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    print_outcome(&session, seconds);

    let snapshot = session.snapshot(OUTPUT_RESOLUTION, PICTURE_NEURON_RESOLUTION);
    let options = PictureOptions {
        show_test: flags.show_test,
        discretize: flags.discretize,
    };
    let written = write_pictures(&flags.out, &snapshot, &options)
        .map_err(|e| Failure::Output(e.to_string()))?;
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    println!("pictures   {}: {}", flags.out.display(), names.join(", "));

    if let Some(save) = &flags.save {
        session
            .save(save)
            .map_err(|e| Failure::Output(e.to_string()))?;
        println!("saved      {}", save.display());
    }
    Ok(())
}

/// Serves the Playground until the process is stopped.
fn run_server(flags: &ServeFlags) -> Result<(), Failure> {
    let options = serve::Options {
        max_sessions: flags.max_sessions as usize,
        idle_timeout: Duration::from_secs(flags.idle_timeout),
        ..serve::Options::default()
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::Output(format!("cannot start the server: {e}")))?;
    runtime.block_on(async {
        let addr = SocketAddr::new(flags.host, flags.port);
        let server = serve::bind(addr, options)
            .await
            .map_err(|e| Failure::Output(format!("cannot listen on {addr}: {e}")))?;
        let bound = server
            .local_addr()
            .map_err(|e| Failure::Output(e.to_string()))?;
        let reach = if flags.host.is_loopback() {
            "local only; --host 0.0.0.0 to share"
        } else {
            "reachable from other machines"
        };
        println!("shendu-playground: serving on http://{bound} ({reach})");
        server
            .run()
            .await
            .map_err(|e| Failure::Output(format!("the server stopped: {e}")))
    })
}

/// A progress bar on stderr; indicatif hides it when stderr is not a terminal.
fn progress_bar(epochs: u64) -> ProgressBar {
    let bar = ProgressBar::new(epochs);
    bar.set_style(
        ProgressStyle::with_template("epoch {pos:>5}/{len} {bar:30} {msg} [{elapsed}]")
            .expect("the template is valid")
            .progress_chars("█▌ "),
    );
    bar
}

fn print_settings(session: &Session, flags: &Flags, dataset: Dataset) {
    let config = session.config();
    let data = match &flags.data {
        Some(path) => path.display().to_string(),
        None => dataset.word().to_string(),
    };
    println!(
        "shendu-playground: {data} ({}), {} train / {} test points, seed {}",
        match session.problem() {
            Problem::Classification => "classification",
            Problem::Regression => "regression",
        },
        session.train_points().len(),
        session.test_points().len(),
        config.seed
    );
    println!("settings   {config} · {} epochs", config.epochs);
    let departures = departures(config, &Config::playground(dataset));
    if !departures.is_empty() {
        let why = if dataset == Dataset::Spiral && flags.data.is_none() {
            " (the Playground's defaults do not learn the spiral; see README)"
        } else {
            ""
        };
        println!(
            "           differs from the Playground's defaults in {}{why}",
            departures.join(", ")
        );
    }
}

/// The flags whose values differ from the Playground's own defaults.
fn departures(config: &Config, playground: &Config) -> Vec<&'static str> {
    let mut differ = Vec::new();
    let mut check = |same: bool, flag| {
        if !same {
            differ.push(flag);
        }
    };
    check(config.noise == playground.noise, "--noise");
    check(
        config.train_percent == playground.train_percent,
        "--train-percent",
    );
    check(config.batch == playground.batch, "--batch");
    check(config.features == playground.features, "--features");
    check(config.hidden == playground.hidden, "--layers");
    check(config.activation == playground.activation, "--activation");
    check(config.learning_rate == playground.learning_rate, "--lr");
    check(config.regularization == playground.regularization, "--reg");
    check(
        config.regularization_rate == playground.regularization_rate,
        "--reg-rate",
    );
    check(config.optimizer == playground.optimizer, "--optimizer");
    check(config.loss == playground.loss, "--loss");
    differ
}

fn print_outcome(session: &Session, seconds: f64) {
    let last = session
        .history()
        .last()
        .copied()
        .expect("history starts at epoch 0");
    println!(
        "trained    {} epochs in {seconds:.1} s: loss {} train {:.4}, test {:.4}",
        last.epoch,
        session.loss_name(),
        last.train,
        last.test
    );
    if let (Some(train), Some(test)) = session.accuracies() {
        println!(
            "accuracy   train {:.1}%, test {:.1}%",
            100.0 * train,
            100.0 * test
        );
    }
}

/// Fails with a usage error unless the directory `path` would be written in exists.
fn check_writable_parent(flag: &str, path: &std::path::Path) -> Result<(), Failure> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if parent.is_dir() {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            parent.display()
        )))
    }
}
