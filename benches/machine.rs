//! The machine a speed table was measured on, for its first line: the CPU's model and the SIMD
//! kernels shendu's products ran with, so that figures from different machines, or from builds
//! with different kernels, are never read side by side. Shared by the speed examples, the
//! distributed crate's among them (included with `#[path]`, since examples share no crate).

/// `cpu: <model> (family F model M, <n> logical CPUs); shendu's matmul kernels: <SIMD>`, from
/// Linux's `/proc/cpuinfo` (family and model tell apart the generations that a virtual machine's
/// generic model name hides); "unknown" elsewhere. `simd` is `matmul_simd()`, passed in because
/// an including binary reaches the tensor crate by the umbrella crate's name or by its own.
pub fn describe(simd: &str) -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    // The value of the first `key : value` line of `key` (the first CPU's).
    let field = |key: &str| {
        info.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let model = field("model name").unwrap_or_else(|| "unknown".into());
    let generation = match (field("cpu family"), field("model")) {
        (Some(family), Some(number)) => format!("family {family} model {number}, "),
        _ => String::new(),
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("cpu: {model} ({generation}{cpus} logical CPUs); shendu's matmul kernels: {simd}")
}
