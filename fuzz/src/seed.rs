//! Writes the seed corpora: `corpus/<target>/seed-<name>` for every target of
//! `weir_fuzz::TARGETS` (or only those named as arguments), from `weir_fuzz::seeds::for_target`.
//! Existing corpus files are kept (a corpus grows across runs). Run by `seeds.sh`, `run-all.sh`
//! and `smoke.sh`; `CORPUS_DIR` overrides where (default: `corpus/` of this crate).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::var_os("CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus")));
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for (target, _) in weir_fuzz::TARGETS {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == target) {
            continue;
        }
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)?;
        let seeds = weir_fuzz::seeds::for_target(target);
        for (name, data) in &seeds {
            std::fs::write(target_dir.join(format!("seed-{name}")), data)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), target_dir.display());
    }
    Ok(())
}
