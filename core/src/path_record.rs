//! Fields written at fixed dotted paths: one value slot per path of a shared [`PathLayout`],
//! nested objects only in the JSON (or map) they are written to.
//!
//! Why: a normalized (ECS, OCSF) event is deeply nested — `http.request.method`,
//! `event.category`, `src_endpoint.ip` — and every record of a format has the same paths. As
//! `vrl` maps, each record would allocate a B-tree node per nested object (a node holds eleven
//! entries, so a one-field object costs as much as an eleven-field one), a key per name, and
//! walk dotted paths by string compares; at 20–30 objects per event that made normalizing cost
//! six times the parsing, and the JSON writer stalled on the scattered nodes. A path record
//! keeps one vector of values per record, in slots named once by the layout its format's
//! records share, and writes the nesting straight from the layout's tree.
//!
//! A slot holds a [`Value`] or whole [`Fields`] (the fields a mapping left of a parsed record,
//! kept as they are — record form and all — under a path such as `aws.elb`). A slot whose path
//! is also the prefix of other slots holds an object whose members are merged with theirs;
//! where both have a name, the slot of the longer path wins (builders keep the other value
//! elsewhere before that can happen).
//!
//! Layouts are learned: [`PathRecordBuilder`] puts values by `&'static str` path, finds their
//! slot by the position the previous record used (a pointer compare) or by the layout's index,
//! and keeps paths the layout lacks aside; [`PathRecordBuilder::finish`] then returns a layout
//! extended with them, for the caller to share with the next records.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::fields::Fields;
use crate::json;

/// The paths of a family of path records, and the tree their JSON is written from.
#[derive(Debug, Default)]
pub struct PathLayout {
    paths: Vec<&'static str>,
    index: HashMap<&'static str, usize, FixedState>,
    /// The same index by the paths' addresses and lengths: mappings pass the literals the
    /// layout was learned from, found here without comparing their bytes.
    by_address: HashMap<(usize, usize), usize, FixedState>,
    root: Node,
}

/// One object level of a layout: the slot at its own path, and its members (sorted).
#[derive(Debug, Default)]
struct Node {
    slot: Option<usize>,
    children: Vec<Child>,
}

/// A member of a layout's object.
#[derive(Debug)]
struct Child {
    name: KeyString,
    /// `"name":` as JSON, written as is (the key's escaping done once, not per record).
    json_key: Box<[u8]>,
    node: Node,
}

impl Node {
    fn add(&mut self, path: &str, slot: usize) {
        let mut node = self;
        for part in path.split('.') {
            let at = match node
                .children
                .binary_search_by(|c| c.name.as_str().cmp(part))
            {
                Ok(at) => at,
                Err(at) => {
                    let mut json_key = Vec::with_capacity(part.len() + 3);
                    json::write_str(part.as_bytes(), &mut json_key);
                    json_key.push(b':');
                    let child = Child {
                        name: KeyString::from(part),
                        json_key: json_key.into(),
                        node: Node::default(),
                    };
                    node.children.insert(at, child);
                    at
                }
            };
            node = &mut node.children[at].node;
        }
        node.slot = Some(slot);
    }
}

impl PathLayout {
    /// A layout of these paths (a repeated path keeps its first slot).
    pub fn new(paths: impl IntoIterator<Item = &'static str>) -> Self {
        let mut layout = Self::default();
        for path in paths {
            layout.push(path);
        }
        layout
    }

    fn push(&mut self, path: &'static str) {
        if self.index.contains_key(path) {
            return;
        }
        let slot = self.paths.len();
        self.paths.push(path);
        self.index.insert(path, slot);
        self.by_address
            .insert((path.as_ptr() as usize, path.len()), slot);
        self.root.add(path, slot);
    }

    /// This layout plus `more` paths, after its own (so its slots keep their numbers).
    pub fn extended(&self, more: impl IntoIterator<Item = &'static str>) -> Self {
        Self::new(self.paths.iter().copied().chain(more))
    }

    /// The slot of `path`.
    pub fn slot(&self, path: &str) -> Option<usize> {
        // Static paths are never freed: a text at a layout path's address and length is it.
        self.by_address
            .get(&(path.as_ptr() as usize, path.len()))
            .or_else(|| self.index.get(path))
            .copied()
    }

    /// The object node at `path`.
    fn node_at(&self, path: &str) -> Option<&Node> {
        let mut node = &self.root;
        for part in path.split('.') {
            let at = node
                .children
                .binary_search_by(|c| c.name.as_str().cmp(part))
                .ok()?;
            node = &node.children[at].node;
        }
        Some(node)
    }

    /// The paths, by slot.
    pub fn paths(&self) -> &[&'static str] {
        &self.paths
    }
}

/// What a slot holds.
#[derive(Clone, Debug, PartialEq)]
pub enum PathValue {
    /// A value (an object is merged with the slots under its path).
    Value(Value),
    /// Fields kept whole, written as an object (merged like one); boxed, so that value slots
    /// stay small.
    Fields(Box<Fields>),
}

/// A record of values at the paths of a [`PathLayout`]. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct PathRecord {
    layout: Arc<PathLayout>,
    slots: Vec<Option<PathValue>>,
}

impl PathRecord {
    /// Appends the record as a compact JSON object: the same bytes as [`json::write_object`] of
    /// [`Self::to_map`].
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if !self.write_node(&self.layout.root, None, out) {
            out.extend_from_slice(b"{}");
        }
    }

    /// Writes `node`'s object (with `own`, the object at its slot, merged in); false if it had
    /// nothing to write (then nothing was written).
    fn write_node(&self, node: &Node, own: Option<&PathValue>, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.push(b'{');
        let mut any = false;
        let mut own_members = members_of(own);
        let mut pending = own_members.as_mut().and_then(|m| m.next());
        for Child {
            name,
            json_key,
            node: child,
        } in &node.children
        {
            // The object's own members before this one.
            while let Some((key, value)) = pending {
                if key.as_str() >= name.as_str() {
                    break;
                }
                write_member(&mut any, key, |out| json::write_value(value, out), out);
                pending = own_members.as_mut().and_then(|m| m.next());
            }
            let mark = out.len();
            if any {
                out.push(b',');
            }
            out.extend_from_slice(json_key);
            if self.write_child(child, out) {
                any = true;
                if pending.is_some_and(|(key, _)| key.as_str() == name.as_str()) {
                    pending = own_members.as_mut().and_then(|m| m.next());
                }
            } else {
                out.truncate(mark);
            }
        }
        while let Some((key, value)) = pending {
            write_member(&mut any, key, |out| json::write_value(value, out), out);
            pending = own_members.as_mut().and_then(|m| m.next());
        }
        if !any && own.is_none() {
            out.truncate(start);
            return false;
        }
        out.push(b'}');
        true
    }

    /// Writes one member's value; false if there was none.
    fn write_child(&self, child: &Node, out: &mut Vec<u8>) -> bool {
        let own = child
            .slot
            .and_then(|s| self.slots.get(s))
            .and_then(Option::as_ref);
        match own {
            Some(PathValue::Value(value)) if !matches!(value, Value::Object(_)) => {
                // A leaf (members under a leaf's path would replace it: builders avoid that).
                if child.children.is_empty() || !self.write_node(child, None, &mut Vec::new()) {
                    json::write_value(value, out);
                    return true;
                }
                self.write_node(child, None, out)
            }
            own => self.write_node(child, own, out),
        }
    }

    /// The record as a map (what [`Self::write_json`] writes).
    pub fn to_map(&self) -> ObjectMap {
        match self.node_value(&self.layout.root, None) {
            Some(Value::Object(map)) => map,
            _ => ObjectMap::new(),
        }
    }

    fn node_value(&self, node: &Node, own: Option<&PathValue>) -> Option<Value> {
        let mut map = match own {
            Some(PathValue::Value(Value::Object(map))) => map.clone(),
            Some(PathValue::Fields(fields)) => Fields::clone(fields).into_map(),
            _ => ObjectMap::new(),
        };
        let mut any = own.is_some();
        for Child {
            name, node: child, ..
        } in &node.children
        {
            let own = child
                .slot
                .and_then(|s| self.slots.get(s))
                .and_then(Option::as_ref);
            let value = match own {
                Some(PathValue::Value(value)) if !matches!(value, Value::Object(_)) => {
                    match self.node_value(child, None) {
                        Some(nested) if !child.children.is_empty() => Some(nested),
                        _ => Some(value.clone()),
                    }
                }
                own => self.node_value(child, own),
            };
            if let Some(value) = value {
                any = true;
                map.insert(name.clone(), value);
            }
        }
        any.then_some(Value::Object(map))
    }

    /// The value at `path` (one name per level), found in the slots: readers of one field
    /// (a sink's `message`, `data_stream.dataset`) need not make the whole map.
    pub fn find(&self, path: &[impl AsRef<str>]) -> Found<'_> {
        let mut node = &self.layout.root;
        for (i, name) in path.iter().enumerate() {
            let name = name.as_ref();
            let Ok(at) = node
                .children
                .binary_search_by(|c| c.name.as_str().cmp(name))
            else {
                // Not a path of the layout, and no object slot on the way (see below).
                return Found::Absent;
            };
            node = &node.children[at].node;
            match node
                .slot
                .and_then(|s| self.slots.get(s))
                .and_then(Option::as_ref)
            {
                Some(PathValue::Value(value))
                    if node.children.is_empty() && !matches!(value, Value::Object(_)) =>
                {
                    return if i + 1 == path.len() {
                        Found::Value(value)
                    } else {
                        Found::Absent
                    };
                }
                // An object slot: its members are not in the layout.
                Some(_) => return Found::Nested,
                None => {}
            }
        }
        Found::Nested
    }

    /// The layout.
    pub fn layout(&self) -> &Arc<PathLayout> {
        &self.layout
    }
}

/// Whether `path` is `prefix` or a path under it.
fn is_at_or_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// What [`PathRecord::find`] found.
#[derive(Debug, PartialEq)]
pub enum Found<'a> {
    /// The value at the path.
    Value(&'a Value),
    /// Nothing is at the path.
    Absent,
    /// The path names an object (or passes through an object slot): the map has the answer.
    Nested,
}

/// The members of an object slot, in key order.
fn members_of(own: Option<&PathValue>) -> Option<Members<'_>> {
    match own? {
        PathValue::Value(Value::Object(map)) => Some(Members::Map(map.iter())),
        PathValue::Fields(fields) => Some(Members::Fields(fields.iter())),
        PathValue::Value(_) => None,
    }
}

/// An object slot's members: an enum, not a boxed iterator (one allocation per object written).
enum Members<'a> {
    Map(std::collections::btree_map::Iter<'a, KeyString, Value>),
    Fields(crate::fields::Iter<'a>),
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a KeyString, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Map(members) => members.next(),
            Self::Fields(members) => members.next(),
        }
    }
}

fn write_member(
    any: &mut bool,
    key: &KeyString,
    value: impl FnOnce(&mut Vec<u8>),
    out: &mut Vec<u8>,
) {
    if *any {
        out.push(b',');
    }
    *any = true;
    json::write_str(key.as_bytes(), out);
    out.push(b':');
    value(out);
}

impl PartialEq for PathRecord {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

/// Builds a [`PathRecord`] value by value. See the [module docs](self).
#[derive(Debug)]
pub struct PathRecordBuilder {
    layout: Arc<PathLayout>,
    slots: Vec<Option<PathValue>>,
    /// The slot after the last one put: records of a format put their paths in the same order.
    next: usize,
    /// Values at paths the layout lacks.
    unplaced: Vec<(&'static str, PathValue)>,
}

impl PathRecordBuilder {
    /// An empty record of `layout` (which may be empty: it is learned).
    pub fn new(layout: Arc<PathLayout>) -> Self {
        let slots = vec![None; layout.paths.len()];
        Self {
            layout,
            slots,
            next: 0,
            unplaced: Vec::new(),
        }
    }

    fn slot_of(&mut self, path: &'static str) -> Option<usize> {
        let expected = self.layout.paths.get(self.next).copied();
        let slot = match expected {
            Some(p) if std::ptr::eq(p, path) => Some(self.next),
            _ => self.layout.slot(path),
        }?;
        self.next = slot + 1;
        Some(slot)
    }

    /// Sets the value at `path` (replacing one there).
    pub fn put(&mut self, path: &'static str, value: PathValue) {
        match self.slot_of(path) {
            Some(slot) => self.slots[slot] = Some(value),
            None => match self.unplaced.iter_mut().find(|(p, _)| *p == path) {
                Some((_, old)) => *old = value,
                None => self.unplaced.push((path, value)),
            },
        }
    }

    /// What is at exactly `path`.
    pub fn slot_value(&self, path: &str) -> Option<&PathValue> {
        match self.layout.slot(path) {
            Some(slot) => self.slots.get(slot)?.as_ref(),
            None => self
                .unplaced
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, v)| v),
        }
    }

    /// What is at exactly `path`, to change.
    pub fn slot_value_mut(&mut self, path: &str) -> Option<&mut PathValue> {
        match self.layout.slot(path) {
            Some(slot) => self.slots.get_mut(slot)?.as_mut(),
            None => self
                .unplaced
                .iter_mut()
                .find(|(p, _)| *p == path)
                .map(|(_, v)| v),
        }
    }

    /// Removes what is at exactly `path`.
    pub fn remove(&mut self, path: &str) -> Option<PathValue> {
        match self.layout.slot(path) {
            Some(slot) => self.slots.get_mut(slot)?.take(),
            None => {
                let at = self.unplaced.iter().position(|(p, _)| *p == path)?;
                Some(self.unplaced.remove(at).1)
            }
        }
    }

    /// Whether any value is set at `path` or under it.
    pub fn has_under(&self, path: &str) -> bool {
        self.layout.node_at(path).is_some_and(|n| self.any_set(n))
            || self.unplaced.iter().any(|(p, _)| is_at_or_under(p, path))
    }

    /// Whether a slot of `node` or of a node under it is set.
    fn any_set(&self, node: &Node) -> bool {
        node.slot
            .is_some_and(|s| self.slots.get(s).is_some_and(Option::is_some))
            || node.children.iter().any(|c| self.any_set(&c.node))
    }

    /// The names of the members of `path` that have a value set at or under them: for checking
    /// which member names an object merged at `path` must not use.
    pub fn names_under<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let placed = self
            .layout
            .node_at(path)
            .into_iter()
            .flat_map(|n| &n.children)
            .filter(|c| self.any_set(&c.node))
            .map(|c| c.name.as_str());
        let unplaced = self.unplaced.iter().filter_map(move |(p, _)| {
            let rest = p.strip_prefix(path)?.strip_prefix('.')?;
            rest.split('.').next()
        });
        placed.chain(unplaced)
    }

    /// The record, and the layout extended with paths it lacked (to use for the next records)
    /// if there were any.
    pub fn finish(self) -> (PathRecord, Option<Arc<PathLayout>>) {
        let Self {
            layout,
            mut slots,
            unplaced,
            ..
        } = self;
        if unplaced.is_empty() {
            return (PathRecord { layout, slots }, None);
        }
        let layout = Arc::new(layout.extended(unplaced.iter().map(|(p, _)| *p)));
        slots.resize(layout.paths.len(), None);
        for (path, value) in unplaced {
            if let Some(slot) = layout.slot(path) {
                slots[slot] = Some(value);
            }
        }
        let record = PathRecord {
            layout: layout.clone(),
            slots,
        };
        (record, Some(layout))
    }
}

#[cfg(test)]
mod tests;
