//! The all-reduce alone: the time to sum a buffer of W3's 235k f32 gradients (and other sizes)
//! over all ranks, and the bus bandwidth it implies, for the step-time split and the scaling
//! estimates in the crate's documentation.
//!
//! mpirun -np 2 target/release/examples/allreduce_speed [--rounds R]

use std::time::Instant;

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "allreduce_speed [--rounds R]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rounds = 50usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return Ok(());
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rounds" => rounds = value.parse()?,
            _ => return Err(format!("unknown flag {flag}: {USAGE}").into()),
        }
    }
    let world = shendu_distributed::init()?;
    let n = world.size() as f64;
    for values in [1_000usize, 235_146, 1_000_000, 4_000_000] {
        let send = vec![1.0f32; values];
        let mut receive = vec![0.0f32; values];
        world.all_reduce_sum(&send, &mut receive)?; // warm-up: connections, buffers
        world.barrier();
        let start = Instant::now();
        for _ in 0..rounds {
            world.all_reduce_sum(&send, &mut receive)?;
        }
        let seconds = start.elapsed().as_secs_f64() / rounds as f64;
        // A ring all-reduce moves 2(n−1)/n of the buffer through each rank's link: the "bus
        // bandwidth" that NCCL's and Horovod's tables quote.
        let bytes = (values * 4) as f64;
        let bus = 2.0 * (n - 1.0) / n * bytes / seconds / 1e9;
        if world.is_root() {
            println!(
                "{} ranks, {values:>9} f32: {:8.3} ms per all-reduce, bus bandwidth {bus:.2} GB/s",
                world.size(),
                seconds * 1e3
            );
        }
    }
    Ok(())
}
