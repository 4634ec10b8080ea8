//! The dead-letter files of one sink: NDJSON appended under `<data_dir>/dead_letter/<sink id>/`,
//! fsynced before the events they hold are acknowledged, in files of at most [`FILE_MAX_BYTES`],
//! all of them together at most the sink's `dead_letter.max_bytes`.
//!
//! Why not the `file` sink: that one is a plugin (plugins do not depend on each other), and this
//! writer has a different contract: blocking, synchronous writes of rare batches, each one on
//! disk before the call returns, and a cap over every file of the directory (so a restart does
//! not start the count again).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Size at which a new dead-letter file is started.
pub const FILE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// What [`DeadLetterFiles::keep`] did with a batch of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// The first `written` lines are on disk (written and fsynced).
    pub written: usize,
    /// Bytes the files hold now.
    pub bytes: u64,
}

/// The dead-letter files of one sink. See the [module docs](self).
#[derive(Debug)]
pub struct DeadLetterFiles {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes in the directory's files, counted when opened (and again when full).
    used: Option<u64>,
    current: Option<(File, u64)>,
}

impl DeadLetterFiles {
    /// The files in `dir` (made on the first write), holding at most `max_bytes`.
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self {
            dir,
            max_bytes,
            used: None,
            current: None,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `lines` (each ending in `\n`) in order, as many as fit under the cap, and fsyncs
    /// them; an error means none of this call's lines may be counted as kept.
    pub fn keep(&mut self, lines: &[Vec<u8>]) -> io::Result<Kept> {
        let mut used = match self.used {
            Some(used) => used,
            None => self.count_used()?,
        };
        let mut written = 0;
        let mut pending = Vec::new();
        for line in lines {
            let size = line.len() as u64;
            if used + size > self.max_bytes {
                // Files may have been removed to make room since they were counted.
                self.flush(&mut pending)?;
                used = self.count_used()?;
                if used + size > self.max_bytes {
                    break;
                }
            }
            if self
                .current
                .as_ref()
                .is_none_or(|(_, n)| *n > 0 && *n + size > FILE_MAX_BYTES)
            {
                self.flush(&mut pending)?;
                self.current = Some((self.create()?, 0));
            }
            if let Some((_, n)) = self.current.as_mut() {
                *n += size;
            }
            pending.extend_from_slice(line);
            used += size;
            written += 1;
        }
        self.flush(&mut pending)?;
        self.used = Some(used);
        Ok(Kept {
            written,
            bytes: used,
        })
    }

    /// Writes and fsyncs `pending` to the current file.
    fn flush(&mut self, pending: &mut Vec<u8>) -> io::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        if let Some((file, _)) = self.current.as_mut() {
            let result = file.write_all(pending).and_then(|()| file.sync_data());
            if result.is_err() {
                // A file left in an unknown state is not appended to again.
                self.current = None;
                self.used = None;
            }
            result?;
        }
        pending.clear();
        Ok(())
    }

    /// A new file named by the time (and a counter if that name is taken), and the directory
    /// entry made durable.
    fn create(&self) -> io::Result<File> {
        fs::create_dir_all(&self.dir)?;
        let millis = chrono::Utc::now().timestamp_millis();
        for n in 0u32.. {
            let name = match n {
                0 => format!("{millis}.ndjson"),
                n => format!("{millis}-{n}.ndjson"),
            };
            match OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(self.dir.join(name))
            {
                Ok(file) => {
                    File::open(&self.dir)?.sync_all()?;
                    return Ok(file);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free dead-letter file name"))
    }

    /// Bytes of the `.ndjson` files in the directory (0 if it does not exist yet).
    fn count_used(&self) -> io::Result<u64> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut used = 0;
        for entry in entries {
            let entry = entry?;
            if entry.path().extension().is_some_and(|e| e == "ndjson") {
                used += entry.metadata()?.len();
            }
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, size: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut line = format!("{i:0>width$}", width = size - 1).into_bytes();
                line.push(b'\n');
                line
            })
            .collect()
    }

    fn file_bytes(dir: &Path) -> Vec<u8> {
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names.iter().flat_map(|p| fs::read(p).unwrap()).collect()
    }

    #[test]
    fn lines_are_appended_in_order_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("dead_letter").join("search");
        let mut files = DeadLetterFiles::new(at.clone(), 100);
        let first = files.keep(&lines(3, 10)).unwrap();
        assert_eq!(
            first,
            Kept {
                written: 3,
                bytes: 30
            }
        );
        // 7 more fit under 100 bytes, the other 3 do not.
        let second = files.keep(&lines(10, 10)).unwrap();
        assert_eq!(
            second,
            Kept {
                written: 7,
                bytes: 100
            }
        );
        let expected: Vec<u8> = [lines(3, 10), lines(7, 10)].concat().concat();
        assert_eq!(file_bytes(&at), expected);
        assert_eq!(files.keep(&lines(1, 10)).unwrap().written, 0);
    }

    #[test]
    fn the_cap_counts_files_of_earlier_runs_and_room_made_by_removing_them() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().to_path_buf();
        DeadLetterFiles::new(at.clone(), 50)
            .keep(&lines(4, 10))
            .unwrap();
        let mut again = DeadLetterFiles::new(at.clone(), 50);
        assert_eq!(
            again.keep(&lines(3, 10)).unwrap(),
            Kept {
                written: 1,
                bytes: 50
            }
        );
        for entry in fs::read_dir(&at).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        assert_eq!(
            again.keep(&lines(3, 10)).unwrap(),
            Kept {
                written: 3,
                bytes: 30
            }
        );
    }

    #[test]
    fn an_unwritable_directory_is_an_error_not_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").unwrap();
        let mut files = DeadLetterFiles::new(blocker.join("sub"), 100);
        assert!(files.keep(&lines(1, 10)).is_err());
    }
}
