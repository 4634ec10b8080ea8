//! What every harness binary needs from its command line and the workspace.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The value of `--name N` in `args`, or `default`.
pub fn flag(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release `weir` binary the harnesses measure; an error if it was not built.
pub fn release_weir(root: &Path) -> Result<PathBuf> {
    let weir = root.join("target/release/weir");
    if !weir.is_file() {
        bail!(
            "{} missing: run `cargo build --release -p weir` first",
            weir.display()
        );
    }
    Ok(weir)
}
