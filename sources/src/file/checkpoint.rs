//! Per-file read positions, persisted under `data_dir/<source id>/checkpoints.json`.
//!
//! A file is identified by its device and inode plus a hash of its first line (or first 256 bytes),
//! so a rename keeps its position, while a new file that reuses an inode — or a file truncated and
//! rewritten — starts over. Writes go to a temporary file renamed into place, so a crash mid-write
//! leaves the previous checkpoints intact.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Identity of a file independent of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileKey {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// xxh3 of the file's first line (or first 256 bytes).
    pub head: u64,
}

/// One saved position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The file's identity.
    pub key: FileKey,
    /// Last path it was seen at (informational).
    pub path: PathBuf,
    /// Offset up to which every line was delivered. Under records framing, inside a document:
    /// the offset of the document's first byte (see `skip_records`).
    pub offset: u64,
    /// Records framing: records of the document starting at `offset` that were already delivered
    /// (a restart reads the document from its start and skips them). 0 between documents; absent
    /// in checkpoints written before records framing existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip_records: u64,
    /// Records framing had fallen back to line framing before `offset` (the file turned out not
    /// to hold records documents): the rest of the file is read as lines.
    #[serde(default, skip_serializing_if = "is_false")]
    pub line_fallback: bool,
    /// The whole file was read (gzip files are read once).
    #[serde(default)]
    pub finished: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    checkpoints: Vec<Checkpoint>,
}

/// The checkpoint file of one source.
#[derive(Debug)]
pub struct CheckpointStore {
    path: PathBuf,
    entries: BTreeMap<FileKey, Checkpoint>,
}

impl CheckpointStore {
    /// Loads `dir/checkpoints.json` (missing file: empty store).
    pub fn load(dir: &Path) -> io::Result<Self> {
        let path = dir.join("checkpoints.json");
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                let on_disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
                on_disk
                    .checkpoints
                    .into_iter()
                    .map(|c| (c.key, c))
                    .collect()
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Self { path, entries })
    }

    /// An empty store that writes to `dir/checkpoints.json` (for `ignore_checkpoints`).
    pub fn empty(dir: &Path) -> Self {
        Self {
            path: dir.join("checkpoints.json"),
            entries: BTreeMap::new(),
        }
    }

    /// The saved checkpoint of a file.
    pub fn get(&self, key: &FileKey) -> Option<&Checkpoint> {
        self.entries.get(key)
    }

    /// Records a position.
    pub fn set(&mut self, checkpoint: Checkpoint) {
        self.entries.insert(checkpoint.key, checkpoint);
    }

    /// Writes the store atomically (temp file + rename).
    pub fn save(&self) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let on_disk = OnDisk {
            version: 1,
            checkpoints: self.entries.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&on_disk).map_err(io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CheckpointStore::load(dir.path()).unwrap();
        let key = FileKey {
            dev: 1,
            ino: 2,
            head: 3,
        };
        store.set(Checkpoint {
            key,
            path: "/x".into(),
            offset: 42,
            skip_records: 7,
            line_fallback: false,
            finished: false,
        });
        store.save().unwrap();
        let again = CheckpointStore::load(dir.path()).unwrap();
        assert_eq!(
            again.get(&key).map(|c| (c.offset, c.skip_records)),
            Some((42, 7))
        );
    }

    #[test]
    fn checkpoints_without_the_records_fields_still_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("checkpoints.json"),
            r#"{"version":1,"checkpoints":[{"key":{"dev":1,"ino":2,"head":3},"path":"/x","offset":42,"finished":false}]}"#,
        )
        .unwrap();
        let store = CheckpointStore::load(dir.path()).unwrap();
        let key = FileKey {
            dev: 1,
            ino: 2,
            head: 3,
        };
        let cp = store.get(&key).unwrap();
        assert_eq!(
            (cp.offset, cp.skip_records, cp.line_fallback),
            (42, 0, false)
        );
        // And line-framed positions are written without them.
        store.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join("checkpoints.json")).unwrap();
        assert!(!text.contains("skip_records") && !text.contains("line_fallback"));
    }
}
