//! Records the target triple for `ap_exporter_build_info`.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=AP_EXPORTER_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
