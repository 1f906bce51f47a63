//! `portico`: the one binary. Parses arguments, runs the command, prints an error once.

mod commands;
mod config;
mod demo_events;
mod demo_files;
mod output;
mod remote;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: less fragmentation and faster small allocations than the system allocator for
/// the catalog's many small strings and maps (see bench/RESULTS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("portico: {err:#}");
            ExitCode::from(2)
        }
    }
}
