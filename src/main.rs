//! The `tagctl` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    tagctl::main_with_args(std::env::args_os())
}
