//! `bench`: parse the command line and hand it to the library.

use clap::{CommandFactory, FromArgMatches};
use placebench::cli::{args::Cli, run};

fn main() {
    // A reader that stops early (`bench list | head -1`) closes the pipe: end quietly, as other
    // command-line tools do, instead of failing on the next line written.
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The version names the commit and the HiGHS the binary carries, for bug reports.
    let version = format!(
        "{} (commit {}, HiGHS {})",
        env!("CARGO_PKG_VERSION"),
        env!("PLACEBENCH_COMMIT"),
        placebench::solver::highs_version()
    );
    let matches = Cli::command().version(&*Box::leak(version.into_boxed_str())).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
