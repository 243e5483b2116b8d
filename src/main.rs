//! The `fusion` command line: parses arguments and dispatches to [`cli::run`].

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
