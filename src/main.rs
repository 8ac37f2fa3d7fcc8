//! The `infercal` binary: parses arguments, runs one command, turns errors into one
//! clear message and an exit code. Everything else lives in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
