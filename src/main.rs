//! `bench`: parse the command line and hand it to the library.

use clap::Parser;
use placebench::cli::{args::Cli, run};

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
