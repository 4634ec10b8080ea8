//! The fuzz targets' bodies over their seed corpora, on a stable toolchain (no libFuzzer, no
//! cargo-fuzz): the CI smoke. `cargo test --manifest-path fuzz/Cargo.toml`.
//! Also runs any crash inputs kept under `fuzz/regressions/<target>/` (once a bug is fixed).

use std::path::Path;

#[test]
fn every_target_runs_over_its_seeds() {
    let mut total = 0;
    for (target, body) in weir_fuzz::TARGETS {
        let seeds = weir_fuzz::seeds::for_target(target);
        assert!(!seeds.is_empty(), "{target}: no seeds");
        for (name, data) in &seeds {
            let result = std::panic::catch_unwind(|| body(data));
            assert!(result.is_ok(), "{target}: seed {name} panicked");
        }
        let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
        for path in weir_fuzz::seeds::walk(&regressions) {
            body(&std::fs::read(&path).unwrap());
        }
        println!("{target}: {} seeds", seeds.len());
        total += seeds.len();
    }
    println!("{total} seeds");
}
