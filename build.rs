//! Empty build script: it exists only so that the `bindgen_065` build-dependency in
//! Cargo.toml takes part in feature unification (see the comment there).
fn main() {}
