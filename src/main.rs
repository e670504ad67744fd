//! `bench`: parse the command line and hand it to the library.

use clap::Parser;
use placebench::cli::{args::Cli, run};

fn main() {
    // A reader that stops early (`bench list | head -1`) closes the pipe: end quietly, as other
    // command-line tools do, instead of failing on the next line written.
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
