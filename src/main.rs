//! The multicall entry point: everything, including which tool runs, is decided in `wrkr::cli`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(wrkr::cli::main(std::env::args_os().collect()))
}
