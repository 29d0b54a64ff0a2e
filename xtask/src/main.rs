//! `cargo xtask <task>`: maintainer tasks, one module each, dispatched by one flat match. Only xtask talks to
//! live provider APIs (refresh-fixtures, when pointed at them by a maintainer with a token).

mod bench;
mod prism;
mod refresh;
mod specs;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("refresh-fixtures") => refresh::run(&args[1..]),
        Some("specs") => specs::run(&args[1..]),
        Some("prism") => prism::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print_help();
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task `{other}` (try `cargo xtask help`)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         refresh-fixtures --provider vultr|linode|digitalocean|all [--check] [--base-url URL]\n    \
         re-record the catalogue payloads (every page) into fixtures/<provider>/; --check reports drift, writes nothing"
    );
}
