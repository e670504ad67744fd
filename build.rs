//! Build script: records the commit the binary was built from (`bench --version`; the results'
//! metadata record the commit of the folder a run starts in). It also exists so that the
//! `bindgen_065` build-dependency in Cargo.toml takes part in feature unification (see the
//! comment there).
fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PLACEBENCH_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
