//! Writes the seed corpus of the `aws_format` fuzz target: every sample file (under 64 KiB) of
//! every registered format's corpus folders, as `<format name>\n<file contents>`, into
//! `corpus/aws_format/`. Run by `run-all.sh` before fuzzing.

use std::path::Path;

use weir_aws::formats::registry::FORMATS;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_none_or(|e| e != "md") {
            out.push(path);
        }
    }
}

fn main() -> std::io::Result<()> {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    let target = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/aws_format"));
    std::fs::create_dir_all(target)?;
    let mut written = 0;
    for format in FORMATS {
        for folder in format.corpus {
            let mut files = Vec::new();
            walk(&corpus.join(folder), &mut files);
            for (i, file) in files.iter().enumerate() {
                let data = std::fs::read(file)?;
                if data.len() >= 64 * 1024 {
                    continue;
                }
                let mut seed = format!("{}\n", format.name).into_bytes();
                seed.extend_from_slice(&data);
                std::fs::write(target.join(format!("{}-{i}", format.name)), seed)?;
                written += 1;
            }
        }
    }
    println!("{written} seeds in {}", target.display());
    Ok(())
}
