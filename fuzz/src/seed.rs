//! Writes the seed corpora of the `aws_format` and `enrichment_table` fuzz targets (see
//! [`enrichment_table_seeds`] for the second). `aws_format`: every sample file (under 64 KiB) of
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
    enrichment_table_seeds()
}

/// Seeds of `enrichment_table`: every MaxMind test database (good and broken, from
/// `target/maxmind`, which `tests/services/install.sh` unpacks) as `\0<file>`, and a CSV file as
/// `\1<file>`.
fn enrichment_table_seeds() -> std::io::Result<()> {
    let maxmind = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/maxmind"));
    let target = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/enrichment_table"));
    std::fs::create_dir_all(target)?;
    let mut files = Vec::new();
    walk(&maxmind.join("test-data"), &mut files);
    walk(&maxmind.join("bad-data"), &mut files);
    let mut written = 0;
    for (i, file) in files.iter().enumerate() {
        let mut seed = vec![0u8];
        seed.extend(std::fs::read(file)?);
        std::fs::write(target.join(format!("mmdb-{i}")), seed)?;
        written += 1;
    }
    std::fs::write(target.join("csv-0"), b"\x01id,name\n1,a\n2,\"b,c\"\n")?;
    println!("{} seeds in {}", written + 1, target.display());
    Ok(())
}
