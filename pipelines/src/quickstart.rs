//! The embedded quickstart pipeline (`weir run` with no `-c`) and its sample files.
//!
//! The samples live in `pipelines/samples/`. When Weir runs from a checkout they are read in place;
//! elsewhere the copies embedded in the binary are written to `<data_dir>/samples` first, so the
//! quickstart works from any directory.

use std::path::{Path, PathBuf};

use crate::config::PipelineFile;

/// The quickstart pipeline file.
pub const PIPELINE: &str = include_str!("../quickstart.toml");

/// The sample files: `(name, contents)`.
pub const SAMPLES: &[(&str, &str)] = &[
    ("alb.log", include_str!("../samples/alb.log")),
    ("cloudfront.log", include_str!("../samples/cloudfront.log")),
    (
        "elb-classic.log",
        include_str!("../samples/elb-classic.log"),
    ),
    ("s3-access.log", include_str!("../samples/s3-access.log")),
    ("vpc-flow.log", include_str!("../samples/vpc-flow.log")),
];

/// The variable the quickstart's `include` glob uses for the samples directory.
pub const SAMPLES_VAR: &str = "WEIR_QUICKSTART_SAMPLES";

/// Number of sample lines (every line, headers included, is one event until parsing consumes them).
pub fn sample_lines() -> usize {
    SAMPLES.iter().map(|(_, text)| text.lines().count()).sum()
}

/// The quickstart as a pipeline file, and the samples directory to use.
pub fn prepare() -> std::io::Result<(PipelineFile, PathBuf)> {
    let in_checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = if in_checkout.join("alb.log").is_file() {
        in_checkout
    } else {
        let dir = PathBuf::from("./weir-data/quickstart/samples");
        std::fs::create_dir_all(&dir)?;
        for (name, text) in SAMPLES {
            std::fs::write(dir.join(name), text)?;
        }
        dir
    };
    Ok((
        PipelineFile {
            path: PathBuf::from("quickstart.toml"),
            text: PIPELINE.to_string(),
        },
        dir,
    ))
}
