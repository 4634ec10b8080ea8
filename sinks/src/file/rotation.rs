//! `max_file_bytes`: a full file is renamed aside with a number before its extensions
//! (`app.ndjson` → `app.1.ndjson`, then `app.2.ndjson`, ...; `app.ndjson.gz` → `app.1.ndjson.gz`),
//! so the rendered path always names the file being written, and the numbers count up in the
//! order the files were filled (unlike logrotate's, they never shift).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::writer::sync_dir;

/// The next free number of every rotated path.
#[derive(Default)]
pub(super) struct Rotations {
    next: HashMap<PathBuf, u64>,
}

impl Rotations {
    /// Renames the (closed) file at `path` to its first free numbered name, and syncs the
    /// directory so the rename survives a power loss. Returns the new name.
    pub(super) fn rotate(&mut self, path: &Path) -> io::Result<PathBuf> {
        let next = self.next.entry(path.to_path_buf()).or_insert(1);
        let mut target = numbered(path, *next);
        while target.exists() {
            *next += 1;
            target = numbered(path, *next);
        }
        *next += 1;
        std::fs::rename(path, &target)?;
        sync_dir(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
        Ok(target)
    }
}

/// `path` with `.n` before the extensions of its file name (a leading dot is part of the name).
fn numbered(path: &Path, n: u64) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let split = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '.')
        .map_or(name.len(), |(i, _)| i);
    let (stem, extensions) = name.split_at(split);
    path.with_file_name(format!("{stem}.{n}{extensions}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_go_before_the_extensions() {
        let n = |p: &str| numbered(Path::new(p), 3).display().to_string();
        assert_eq!(n("out/app.ndjson"), "out/app.3.ndjson");
        assert_eq!(n("out/app.ndjson.gz"), "out/app.3.ndjson.gz");
        assert_eq!(n("out/app"), "out/app.3");
        assert_eq!(n(".hidden.log"), ".hidden.3.log");
    }

    #[test]
    fn rotation_takes_the_first_free_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(dir.path().join("a.1.log"), "from an earlier run").unwrap();
        let mut rotations = Rotations::default();
        for expected in ["a.2.log", "a.3.log"] {
            std::fs::write(&path, expected).unwrap();
            let target = rotations.rotate(&path).unwrap();
            assert_eq!(target, dir.path().join(expected));
            assert_eq!(std::fs::read_to_string(&target).unwrap(), expected);
            assert!(!path.exists());
        }
    }
}
