//! The `prov` binary: a shim that runs the CLI library and exits with its code.

fn main() {
    std::process::exit(prov_cli::run(std::env::args_os()));
}
