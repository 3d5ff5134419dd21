//! Entry point; everything lives in the library (see `cli::main`).

fn main() -> std::process::ExitCode {
    ap_exporter::cli::main()
}
