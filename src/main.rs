//! The `fusion` command line: parses arguments and dispatches to [`cli::run`].

mod cli;

/// Loading a ledger allocates and frees millions of small strings and maps;
/// mimalloc does that markedly faster than the system allocator (see the
/// README's Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
