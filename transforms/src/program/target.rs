//! The VRL target over a Weir [`Event`](weir_core::event::Event): `.` is the event's fields, `%` its metadata.
//!
//! Why not a `vrl` object: the fields are often a positional
//! [`Record`](weir_core::fields::Record) (see [`weir_core::fields`]), and converting it to a map
//! and back costs an allocation per field per event. Here a path whose first segment is a field
//! name (`.x`, `.x.y[0]`) goes straight to [`Fields::get`], [`Fields::get_mut`],
//! [`Fields::insert`] and [`Fields::remove`] (which keep the record form), and the rest of the
//! path works on the `Value` found there. Only a program that touches the root as a whole makes
//! one `Value` of the fields:
//!
//! * reading `.` (`encode_json(.)`, `x = .`) builds a read-only view, filled from `&self` the
//!   first time; any later write drops the view, so the next read of `.` sees the write;
//! * writing, changing or deleting `.` itself (or a path that does not start with a field name)
//!   turns the target into the owner of a whole root `Value`, which [`Program::run`] puts back
//!   into the event.
//!
//! `%` paths read a metadata object built (only when first read) from the event's
//! [`EventMetadata`]; the paths are listed in the [module docs](super). Writes to `%` paths and
//! secrets live for the run only.
//!
//! [`Program::run`]: super::Program::run

use std::cell::OnceCell;

use vrl::compiler::{SecretTarget, Target};
use vrl::path::{OwnedSegment, OwnedTargetPath, PathPrefix};
use vrl::value::{KeyString, ObjectMap, Secrets, Value};
use weir_core::event::EventMetadata;
use weir_core::fields::Fields;

/// The event's fields a target is over.
#[derive(Debug)]
pub(super) enum Root<'a> {
    /// Changed in place (`run`).
    Fields(&'a mut Fields),
    /// Read-only (`check`): a write first copies them into a whole root value.
    Borrowed(&'a Fields),
}

impl Root<'_> {
    /// The fields as one object, taken out of the event if they are its own to change.
    fn take_object(&mut self) -> Value {
        match self {
            Root::Fields(fields) => Value::Object(std::mem::take(&mut **fields).into_map()),
            Root::Borrowed(fields) => object_of(fields),
        }
    }
}

/// A [`Target`] over one event (see the module docs).
#[derive(Debug)]
pub(super) struct EventTarget<'a> {
    root: Root<'a>,
    /// The whole root, once `.` itself was assigned, changed or deleted: `root` is stale then.
    owned: Option<Value>,
    /// `.` as one value, for whole-root reads while `owned` is `None`; dropped by every write.
    view: OnceCell<Value>,
    metadata: &'a EventMetadata,
    /// The `%` object, built when first read.
    metadata_view: OnceCell<Value>,
    /// The `%` object once written to (it lives for this run only).
    metadata_owned: Option<Value>,
    secrets: Secrets,
}

impl<'a> EventTarget<'a> {
    /// A target over `root` and `metadata`.
    pub(super) fn new(root: Root<'a>, metadata: &'a EventMetadata) -> Self {
        Self {
            root,
            owned: None,
            view: OnceCell::new(),
            metadata,
            metadata_view: OnceCell::new(),
            metadata_owned: None,
            secrets: Secrets::new(),
        }
    }

    /// The whole root value if the program replaced or rebuilt it (`None`: the fields were
    /// changed in place, or not at all).
    pub(super) fn into_owned_root(self) -> Option<Value> {
        self.owned
    }

    /// `.` as one value (built once from the fields if they are not a whole value yet).
    fn root_value(&self) -> &Value {
        match (&self.owned, &self.root) {
            (Some(value), _) => value,
            (None, Root::Fields(fields)) => self.view.get_or_init(|| object_of(fields)),
            (None, Root::Borrowed(fields)) => self.view.get_or_init(|| object_of(fields)),
        }
    }

    /// `.` as one value to change: the target owns the root from now on.
    fn owned_root(&mut self) -> &mut Value {
        let (view, root) = (&mut self.view, &mut self.root);
        self.owned
            .get_or_insert_with(|| view.take().unwrap_or_else(|| root.take_object()))
    }

    /// Whether a write to `path` goes to the event's fields in place: the path starts with a
    /// field name and the root is still the event's own fields.
    fn in_place(&self, path: &[OwnedSegment]) -> bool {
        self.owned.is_none()
            && matches!(self.root, Root::Fields(_))
            && matches!(path.first(), Some(OwnedSegment::Field(_)))
    }

    /// The event's fields to change in place, with the path's first field and the rest (see
    /// [`Self::in_place`]); the whole-root view is dropped, as it is stale after the write.
    fn fields_for<'p>(
        &mut self,
        path: &'p [OwnedSegment],
    ) -> Option<(&mut Fields, &'p KeyString, &'p [OwnedSegment])> {
        if !self.in_place(path) {
            return None;
        }
        self.view.take();
        match (&mut self.root, path.split_first()) {
            (Root::Fields(fields), Some((OwnedSegment::Field(key), rest))) => {
                Some((&mut **fields, key, rest))
            }
            _ => None,
        }
    }

    fn metadata_value(&self) -> &Value {
        match &self.metadata_owned {
            Some(value) => value,
            None => self
                .metadata_view
                .get_or_init(|| metadata_object(self.metadata)),
        }
    }

    fn metadata_mut(&mut self) -> &mut Value {
        let (view, metadata) = (&mut self.metadata_view, self.metadata);
        self.metadata_owned
            .get_or_insert_with(|| view.take().unwrap_or_else(|| metadata_object(metadata)))
    }

    fn insert_event(&mut self, path: &[OwnedSegment], value: Value) {
        if path.is_empty() {
            // `. = …`: the fields are replaced, so they are not made into a value first (the
            // event's own are overwritten by `Program::run`).
            self.view.take();
            self.owned = Some(value);
            return;
        }
        if let Some((fields, key, rest)) = self.fields_for(path) {
            if rest.is_empty() {
                fields.insert(key.clone(), value);
            } else if let Some(current) = fields.get_mut(key) {
                current.insert(rest, value);
            } else {
                fields.insert(key.clone(), value.at_path(rest));
            }
            return;
        }
        self.owned_root().insert(path, value);
    }

    fn get_mut_event(&mut self, path: &[OwnedSegment]) -> Option<&mut Value> {
        if !self.in_place(path) {
            return self.owned_root().get_mut(path);
        }
        let (fields, key, rest) = self.fields_for(path)?;
        fields.get_mut(key).and_then(|v| v.get_mut(rest))
    }

    fn remove_event(&mut self, path: &[OwnedSegment], compact: bool) -> Option<Value> {
        if !self.in_place(path) {
            return self.owned_root().remove(path, compact);
        }
        let (fields, key, rest) = self.fields_for(path)?;
        if rest.is_empty() {
            return fields.remove(key);
        }
        // As `Value::remove` on the whole root: with `compact`, a field left empty goes too.
        let current = fields.get_mut(key)?;
        let removed = current.remove(rest, compact)?;
        if compact && is_empty_collection(current) {
            fields.remove(key);
        }
        Some(removed)
    }
}

fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The fields as one object value.
fn object_of(fields: &Fields) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    )
}

/// The `%` object of an event's metadata (see the module docs).
fn metadata_object(metadata: &EventMetadata) -> Value {
    let mut map = ObjectMap::new();
    let mut set = |key: &str, value: Value| {
        map.insert(KeyString::from(key), value);
    };
    set("source_id", Value::from(metadata.source_id.as_ref()));
    set("source_type", Value::from(metadata.source_type));
    set(
        "ingest_timestamp",
        Value::Timestamp(metadata.ingest_timestamp),
    );
    if let Some(stream) = &metadata.stream {
        set("stream", Value::from(stream.stream.as_ref()));
        set(
            "offset",
            Value::Integer(i64::try_from(stream.offset).unwrap_or(i64::MAX)),
        );
    }
    if let Some(id) = &metadata.id {
        set("record_id", Value::from(id.as_ref()));
    }
    if let Some(error) = &metadata.error {
        set("error", Value::from(error.as_ref()));
    }
    Value::Object(map)
}

impl Target for EventTarget<'_> {
    fn target_insert(&mut self, path: &OwnedTargetPath, value: Value) -> Result<(), String> {
        match path.prefix {
            PathPrefix::Event => self.insert_event(&path.path.segments, value),
            PathPrefix::Metadata => {
                self.metadata_mut().insert(&path.path, value);
            }
        }
        Ok(())
    }

    fn target_get(&self, path: &OwnedTargetPath) -> Result<Option<&Value>, String> {
        let segments = path.path.segments.as_slice();
        let value = match (path.prefix, &self.owned, &self.root, segments.split_first()) {
            (PathPrefix::Metadata, ..) => self.metadata_value().get(segments),
            (
                PathPrefix::Event,
                None,
                Root::Fields(fields),
                Some((OwnedSegment::Field(key), rest)),
            ) => fields.get(key).and_then(|v| v.get(rest)),
            (
                PathPrefix::Event,
                None,
                Root::Borrowed(fields),
                Some((OwnedSegment::Field(key), rest)),
            ) => fields.get(key).and_then(|v| v.get(rest)),
            (PathPrefix::Event, ..) => self.root_value().get(segments),
        };
        Ok(value)
    }

    fn target_get_mut(&mut self, path: &OwnedTargetPath) -> Result<Option<&mut Value>, String> {
        Ok(match path.prefix {
            PathPrefix::Event => self.get_mut_event(&path.path.segments),
            PathPrefix::Metadata => self.metadata_mut().get_mut(&path.path),
        })
    }

    fn target_remove(
        &mut self,
        path: &OwnedTargetPath,
        compact: bool,
    ) -> Result<Option<Value>, String> {
        Ok(match path.prefix {
            PathPrefix::Event => self.remove_event(&path.path.segments, compact),
            PathPrefix::Metadata => self.metadata_mut().remove(&path.path, compact),
        })
    }
}

impl SecretTarget for EventTarget<'_> {
    fn get_secret(&self, key: &str) -> Option<&str> {
        self.secrets.get(key).map(AsRef::as_ref)
    }

    fn insert_secret(&mut self, key: &str, value: &str) {
        self.secrets.insert(key, value);
    }

    fn remove_secret(&mut self, key: &str) {
        self.secrets.remove(key);
    }
}
