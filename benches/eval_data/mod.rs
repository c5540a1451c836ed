//! Where the development data sets are: `NEWSFLOW_EVAL_DATA`, which the Makefile exports
//! for `make bench` and `make soak` (its one default, `../shared/eval`, is written there).

use std::path::PathBuf;

const VARIABLE: &str = "NEWSFLOW_EVAL_DATA";

/// The data directory. Under `cargo bench`, an unset variable or a missing directory stops
/// the benchmark with a message naming the variable; `cargo test --all-targets` runs bench
/// targets once without `--bench`, on machines without the data, so there it is `None`.
pub fn eval_data_dir() -> Option<PathBuf> {
    let problem = match std::env::var_os(VARIABLE).map(PathBuf::from) {
        Some(dir) if dir.is_dir() => return Some(dir),
        Some(dir) => format!("{VARIABLE}={} is not a directory", dir.display()),
        None => format!("{VARIABLE} is not set (`make bench` sets it)"),
    };
    if std::env::args().any(|arg| arg == "--bench") {
        eprintln!(
            "{problem}: set it to the development data sets (topics/, extraction/, regions/)"
        );
        std::process::exit(1);
    }
    eprintln!("skipping the development data: {problem}");
    None
}
