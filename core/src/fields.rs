//! An event's fields: a map of `vrl` values, or a positional [`Record`] plus a map of the fields
//! it does not hold.
//!
//! Why records: most AWS logs are positional (ALB, VPC Flow, S3 access, CloudFront…), so every
//! record of a stream has the same field names. As map entries, each record would own a copy of
//! each name (one allocation per field per record, 15–40 per record) and a tree to hold them; a
//! record shares one sorted [`Schema`] between all records of its format and holds just its
//! values. Readers ([`Fields::get`], [`Fields::iter`], the JSON writer) see the same fields
//! either way, in the same (sorted) order. Setting, removing and changing top-level fields
//! ([`Fields::insert`], [`Fields::remove`], [`Fields::get_mut`]) keep the record form (a VRL
//! program renaming a few ALB fields allocates no map of 30); [`Fields::map_mut`] turns a record
//! into a map, for code that needs the whole map.
//!
//! A third form holds normalized (ECS, OCSF) events: a [`PathRecord`] of values at fixed
//! dotted paths (see [`crate::path_record`]), written to JSON straight from its layout. Readers
//! of one field find it in the slots; readers of a whole object (`get("http")`, [`Fields::iter`])
//! see a map made once, on first read; any change turns the fields into that map.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::iter::Peekable;
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;
use serde::ser::{Serialize, SerializeMap, Serializer};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::path_record::{Found, PathRecord};

/// The field names of a positional format, sorted and unique, shared by all its records; and
/// the values that are the same in all of them (such as `aws.log_type`), held once here.
#[derive(Debug, PartialEq)]
pub struct Schema {
    keys: Vec<KeyString>,
    /// Per key, the value of records that set none.
    constants: Vec<Option<Value>>,
    /// Key → position: parsers look up every member name of their input (a binary search of
    /// string compares cost 14 % of a CloudTrail run).
    index: HashMap<Box<str>, usize, FixedState>,
}

impl Schema {
    /// A schema of these names (sorted and deduplicated here).
    pub fn new(mut keys: Vec<KeyString>) -> Self {
        keys.sort();
        keys.dedup();
        let constants = vec![None; keys.len()];
        let mut schema = Self {
            keys,
            constants,
            index: HashMap::default(),
        };
        schema.reindex();
        schema
    }

    fn reindex(&mut self) {
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (Box::from(k.as_str()), i))
            .collect();
    }

    /// The same schema, where records that set no `key` have `value` (the key is added if new).
    pub fn with_constant(mut self, key: KeyString, value: Value) -> Self {
        let i = match self.keys.binary_search(&key) {
            Ok(i) => i,
            Err(i) => {
                self.keys.insert(i, key);
                self.constants.insert(i, None);
                self.reindex();
                i
            }
        };
        if let Some(slot) = self.constants.get_mut(i) {
            *slot = Some(value);
        }
        self
    }

    /// The names, sorted.
    pub fn keys(&self) -> &[KeyString] {
        &self.keys
    }

    /// The position of `key` among [`Self::keys`].
    pub fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }
}

/// One record of a positional format: a value (or nothing) per name of its schema.
#[derive(Clone, Debug)]
pub struct Record {
    schema: Arc<Schema>,
    values: Vec<Option<Value>>,
    /// Bit `i`: the constant of position `i` was removed (the first 64 positions; removing a
    /// later constant turns the fields into a map).
    removed_constants: u64,
}

impl Record {
    /// A record with `values[i]` for `schema.keys()[i]`; missing values are absent, extra ones
    /// are dropped.
    pub fn new(schema: Arc<Schema>, mut values: Vec<Option<Value>>) -> Self {
        values.resize(schema.keys.len(), None);
        Self {
            schema,
            values,
            removed_constants: 0,
        }
    }

    /// The value of `key`, if the record has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.schema.position(key)?;
        self.value(i)
    }

    /// The value at schema position `i`: the record's own, else the schema's constant.
    fn value(&self, i: usize) -> Option<&Value> {
        self.values
            .get(i)
            .and_then(Option::as_ref)
            .or_else(|| self.constant(i))
    }

    /// The schema's constant at position `i`, unless removed from this record.
    fn constant(&self, i: usize) -> Option<&Value> {
        if i < 64 && self.removed_constants & (1 << i) != 0 {
            return None;
        }
        self.schema.constants.get(i).and_then(Option::as_ref)
    }

    /// The present fields, in key order.
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter {
            record: self,
            next: 0,
        }
    }

    /// Number of present fields.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no field is present.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The present fields as a map.
    pub fn into_map(self) -> ObjectMap {
        let Self {
            schema,
            values,
            removed_constants,
        } = self;
        // Sized up front (a filtered iterator would grow the map's staging vector step by step)
        // and in key order, so the map is bulk-built without sorting.
        let mut entries = Vec::with_capacity(values.len());
        let slots = schema.keys.iter().zip(values).zip(&schema.constants);
        for (i, ((key, value), constant)) in slots.enumerate() {
            let removed = i < 64 && removed_constants & (1 << i) != 0;
            let constant = constant.as_ref().filter(|_| !removed);
            if let Some(value) = value.or_else(|| constant.cloned()) {
                entries.push((key.clone(), value));
            }
        }
        entries.into_iter().collect()
    }
}

/// Iterator over a [`Record`]'s present fields, in key order.
pub struct RecordIter<'a> {
    record: &'a Record,
    next: usize,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = (&'a KeyString, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        let keys = &self.record.schema.keys;
        while let Some(key) = keys.get(self.next) {
            let i = self.next;
            self.next += 1;
            if let Some(value) = self.record.value(i) {
                return Some((key, value));
            }
        }
        None
    }
}

/// The fields of an event. See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Fields {
    record: Option<Record>,
    /// Every field when `record` and `paths` are `None`; beside a record, the fields the record
    /// does not hold (no name here has a value in the record); empty beside `paths`.
    map: ObjectMap,
    /// Fields at fixed dotted paths (normalized events), written to JSON without a map; readers
    /// by name see them through a map made on first read.
    paths: Option<Box<PathFields>>,
}

/// A [`PathRecord`] and the map it stands for, made when first read by name.
#[derive(Clone, Debug)]
struct PathFields {
    record: PathRecord,
    map: OnceLock<ObjectMap>,
}

impl PathFields {
    fn map(&self) -> &ObjectMap {
        self.map.get_or_init(|| self.record.to_map())
    }

    fn into_map(self) -> ObjectMap {
        let Self { record, map } = self;
        map.into_inner().unwrap_or_else(|| record.to_map())
    }
}

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// A record's fields plus `others`; where both have a field, the record's wins.
    pub fn with_record(record: Record, mut others: ObjectMap) -> Self {
        if !others.is_empty() {
            others.retain(|key, _| record.get(key).is_none());
        }
        Self {
            record: Some(record),
            map: others,
            paths: None,
        }
    }

    /// These fields plus those of `others` they lack (a parsed record over its event's other
    /// fields).
    pub fn or_insert_all(mut self, others: ObjectMap) -> Self {
        if self.paths.is_some() {
            self.map_mut();
        }
        for (key, value) in others {
            // Only names the record lacks reach the map: the form stays as it is.
            if !self.contains_key(&key) {
                self.map.insert(key, value);
            }
        }
        self
    }

    /// Whether the fields are (still) in record form: no mutation has turned them into a map.
    pub fn is_record(&self) -> bool {
        self.record.is_some()
    }

    /// The fields as a path record, if they are one (no mutation has turned them into a map).
    pub fn path_record(&self) -> Option<&PathRecord> {
        self.paths.as_ref().map(|p| &p.record)
    }

    /// The value of the top-level field `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        if let Some(paths) = &self.paths {
            return match paths.record.find(&[key]) {
                Found::Value(value) => Some(value),
                Found::Absent => None,
                Found::Nested => paths.map().get(key),
            };
        }
        self.record
            .as_ref()
            .and_then(|r| r.get(key))
            .or_else(|| self.map.get(key))
    }

    /// Whether there is a top-level field `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of top-level fields.
    pub fn len(&self) -> usize {
        if let Some(paths) = &self.paths {
            return paths.map().len();
        }
        let in_record = self.record.as_ref().map_or(0, Record::len);
        in_record + self.map.len()
    }

    /// Whether there are no fields (without counting them).
    pub fn is_empty(&self) -> bool {
        if let Some(paths) = &self.paths {
            return paths.map().is_empty();
        }
        self.map.is_empty() && self.record.as_ref().is_none_or(Record::is_empty)
    }

    /// The top-level fields in key order (the order of a map's iteration).
    pub fn iter(&self) -> Iter<'_> {
        if let Some(paths) = &self.paths {
            return Iter {
                record: None,
                map: paths.map().iter().peekable(),
            };
        }
        Iter {
            record: self.record.as_ref().map(|r| r.iter().peekable()),
            map: self.map.iter().peekable(),
        }
    }

    /// The fields as a map to change: a record is turned into map entries first.
    pub fn map_mut(&mut self) -> &mut ObjectMap {
        if let Some(paths) = self.paths.take() {
            self.map = paths.into_map();
        }
        if let Some(record) = self.record.take() {
            let others = std::mem::replace(&mut self.map, record.into_map());
            self.map.extend(others);
        }
        &mut self.map
    }

    /// The fields as a map.
    pub fn into_map(mut self) -> ObjectMap {
        self.map_mut();
        self.map
    }

    /// Sets a top-level field, returning its previous value. A record keeps its form: a name of
    /// its schema is set in its slot, any other name goes to the map beside it.
    pub fn insert(&mut self, key: KeyString, value: Value) -> Option<Value> {
        if self.paths.is_some() {
            self.map_mut();
        }
        let Some(record) = &mut self.record else {
            return self.map.insert(key, value);
        };
        let Some(i) = record.schema.position(&key) else {
            return self.map.insert(key, value);
        };
        let constant = record.constant(i).cloned();
        let previous = record.values.get_mut(i)?.replace(value);
        // The map may hold a name the record left absent (`with_record` keeps those).
        let in_map = self.map.remove(key.as_str());
        previous.or(in_map).or(constant)
    }

    /// Removes a top-level field, returning its value. A record keeps its form (a removed
    /// constant is marked removed, for the first 64 positions of a schema).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if self.paths.is_some() {
            self.map_mut();
        }
        if let Some(record) = &mut self.record {
            let Some(i) = record.schema.position(key) else {
                return self.map.remove(key);
            };
            let constant = record.constant(i).cloned();
            if constant.is_none() || i < 64 {
                let own = record.values.get_mut(i).and_then(Option::take);
                if constant.is_some() {
                    record.removed_constants |= 1 << i;
                    return own.or(constant);
                }
                return own.or_else(|| self.map.remove(key));
            }
        }
        // A miss leaves a record as it is.
        self.get(key)?;
        self.map_mut().remove(key)
    }

    /// Removes a top-level field if `take` says so of its value, returning it: one lookup where
    /// [`Self::get`] then [`Self::remove`] would make two.
    pub fn remove_if(&mut self, key: &str, take: impl FnOnce(&Value) -> bool) -> Option<Value> {
        if let Some(record) = &mut self.record {
            if let Some(i) = record.schema.position(key) {
                let has_constant = matches!(record.schema.constants.get(i), Some(Some(_)));
                if !has_constant {
                    if let Some(slot) = record.values.get_mut(i) {
                        if let Some(value) = slot.as_ref() {
                            return if take(value) { slot.take() } else { None };
                        }
                    }
                    // Absent from the record: the map beside it may have it.
                    return match self.map.get(key) {
                        Some(value) if take(value) => self.map.remove(key),
                        _ => None,
                    };
                }
            }
        }
        if !self.get(key).is_some_and(take) {
            return None;
        }
        self.remove(key)
    }

    /// The value of the top-level field `key`, to change (a record keeps its form).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        if self.paths.is_some() {
            self.map_mut();
        }
        let Some(record) = &mut self.record else {
            return self.map.get_mut(key);
        };
        let Some(i) = record.schema.position(key) else {
            return self.map.get_mut(key);
        };
        let constant = record.constant(i).cloned();
        let slot = record.values.get_mut(i)?;
        if slot.is_none() {
            match constant {
                Some(value) => *slot = Some(value),
                None => return self.map.get_mut(key),
            }
        }
        slot.as_mut()
    }
}

impl From<PathRecord> for Fields {
    fn from(record: PathRecord) -> Self {
        Self {
            record: None,
            map: ObjectMap::new(),
            paths: Some(Box::new(PathFields {
                record,
                map: OnceLock::new(),
            })),
        }
    }
}

/// Iterator over [`Fields`] in key order: the record's fields and the map's, merged.
pub struct Iter<'a> {
    record: Option<Peekable<RecordIter<'a>>>,
    map: Peekable<std::collections::btree_map::Iter<'a, KeyString, Value>>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a KeyString, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        let Some(record) = self.record.as_mut() else {
            return self.map.next();
        };
        let take_record = match (record.peek(), self.map.peek()) {
            (Some((a, _)), Some((b, _))) => a.cmp(b) != Ordering::Greater,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_record {
            record.next()
        } else {
            self.map.next()
        }
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a KeyString, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl From<ObjectMap> for Fields {
    fn from(map: ObjectMap) -> Self {
        Self {
            record: None,
            map,
            paths: None,
        }
    }
}

impl From<Record> for Fields {
    fn from(record: Record) -> Self {
        Self::with_record(record, ObjectMap::new())
    }
}

impl From<Fields> for ObjectMap {
    fn from(fields: Fields) -> Self {
        fields.into_map()
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl PartialEq<ObjectMap> for Fields {
    fn eq(&self, other: &ObjectMap) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(keys: &[&str]) -> Arc<Schema> {
        Arc::new(Schema::new(
            keys.iter().map(|k| KeyString::from(*k)).collect(),
        ))
    }

    fn sample() -> (Fields, ObjectMap) {
        let schema = schema(&["b", "d", "f"]);
        let record = Record::new(
            schema,
            vec![Some(Value::from(1)), None, Some(Value::from("f"))],
        );
        let mut others = ObjectMap::new();
        others.insert("a".into(), Value::from("a"));
        others.insert("b".into(), Value::from("shadowed"));
        others.insert("d".into(), Value::from("d from others"));
        others.insert("z".into(), Value::from(true));
        let mut expected = ObjectMap::new();
        expected.insert("a".into(), Value::from("a"));
        expected.insert("b".into(), Value::from(1));
        expected.insert("d".into(), Value::from("d from others"));
        expected.insert("f".into(), Value::from("f"));
        expected.insert("z".into(), Value::from(true));
        (Fields::with_record(record, others), expected)
    }

    /// [`sample`] where `c` is a constant of the record's schema.
    fn sample_with_constant() -> (Fields, ObjectMap) {
        let (fields, mut expected) = sample();
        let schema = Arc::new(
            Schema::new(["b", "d", "f"].map(KeyString::from).to_vec())
                .with_constant("c".into(), Value::from("constant")),
        );
        let record = Record::new(
            schema,
            vec![Some(Value::from(1)), None, None, Some(Value::from("f"))],
        );
        let mut others = fields.into_map();
        others.retain(|k, _| !matches!(k.as_str(), "b" | "f"));
        expected.insert("c".into(), Value::from("constant"));
        (Fields::with_record(record, others), expected)
    }

    #[test]
    fn a_record_reads_like_the_map_it_stands_for() {
        let (fields, expected) = sample();
        assert_eq!(fields, expected);
        assert_eq!(fields.len(), 5);
        assert_eq!(fields.get("b"), Some(&Value::from(1)));
        assert_eq!(fields.get("d"), Some(&Value::from("d from others")));
        assert_eq!(fields.get("c"), None);
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d", "f", "z"]);
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
        assert_eq!(fields.into_map(), expected);
    }

    #[test]
    fn mutation_keeps_a_record_in_record_form() {
        let (mut fields, mut expected) = sample();
        assert_eq!(fields.remove("nothing"), None);
        assert_eq!(fields.remove("f"), Some(Value::from("f")));
        expected.remove("f");
        assert_eq!(fields.remove("d"), Some(Value::from("d from others")));
        expected.remove("d");
        assert_eq!(fields.insert("d".into(), Value::from(4)), None);
        expected.insert("d".into(), Value::from(4));
        assert_eq!(fields.insert("c".into(), Value::from(3)), None);
        expected.insert("c".into(), Value::from(3));
        if let Some(Value::Integer(b)) = fields.get_mut("b") {
            *b += 1;
        }
        expected.insert("b".into(), Value::from(2));
        assert!(fields.is_record());
        assert_eq!(fields, expected);
    }

    #[test]
    fn removing_a_constant_keeps_the_record_form() {
        let schema = Arc::new(Schema::new(vec!["b".into()]).with_constant("a".into(), 1.into()));
        let mut fields = Fields::from(Record::new(schema.clone(), vec![]));
        assert_eq!(fields.get_mut("a"), Some(&mut Value::from(1)));
        assert!(
            fields.is_record(),
            "a constant is copied into its slot to change"
        );
        assert_eq!(fields.remove("a"), Some(Value::from(1)));
        assert!(fields.is_record());
        assert_eq!(fields.get("a"), None);
        assert_eq!(fields.remove("a"), None);
        fields.insert("a".into(), Value::from(2));
        assert_eq!(fields.get("a"), Some(&Value::from(2)));
        assert_eq!(fields.clone().into_map().len(), 1);
        let mut untouched = Fields::from(Record::new(schema, vec![]));
        assert_eq!(untouched.remove("a"), Some(Value::from(1)));
        assert!(untouched.into_map().is_empty());
    }

    proptest::proptest! {
        /// Any sequence of inserts, removes and in-place changes gives the same fields on a record
        /// as on the map it stands for.
        #[test]
        fn record_mutations_match_map_mutations(
            ops in proptest::collection::vec((0u8..3, 0usize..6, 0i64..5), 0..24),
            constant: bool,
        ) {
            let names = ["a", "b", "c", "d", "f", "z"];
            let (mut fields, mut map) = if constant { sample_with_constant() } else { sample() };
            for (op, name, n) in ops {
                let key = names[name];
                match op {
                    0 => proptest::prop_assert_eq!(
                        fields.insert(key.into(), Value::from(n)),
                        map.insert(key.into(), Value::from(n))
                    ),
                    1 => proptest::prop_assert_eq!(fields.remove(key), map.remove(key)),
                    _ => {
                        if let Some(v) = fields.get_mut(key) {
                            *v = Value::from(n);
                        }
                        if let Some(v) = map.get_mut(key) {
                            *v = Value::from(n);
                        }
                    }
                }
                proptest::prop_assert_eq!(&fields, &map);
            }
        }
    }

    #[test]
    fn constants_fill_fields_a_record_leaves_unset() {
        let schema = Arc::new(
            Schema::new(vec!["b".into(), "c".into()]).with_constant("a".into(), Value::from("k")),
        );
        let set = Record::new(
            Arc::clone(&schema),
            vec![Some(Value::from(0)), Some(Value::from(1))],
        );
        let unset = Record::new(schema, vec![None, None, Some(Value::from(2))]);
        let keys: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["a", "b"],
            "a record's own value wins over the constant"
        );
        assert_eq!(set.get("a"), Some(&Value::from(0)));
        assert_eq!(unset.get("a"), Some(&Value::from("k")));
        assert_eq!(unset.len(), 2);
        let map = unset.into_map();
        assert_eq!(map.get("a"), Some(&Value::from("k")));
        assert_eq!(map.get("c"), Some(&Value::from(2)));
    }

    #[test]
    fn other_fields_join_a_record_without_changing_its_form() {
        let (fields, mut expected) = sample();
        let mut others = ObjectMap::new();
        others.insert("b".into(), Value::from("loses to the record"));
        others.insert("a".into(), Value::from("loses to the map"));
        others.insert("c".into(), Value::from("new"));
        let fields = fields.or_insert_all(others);
        assert!(fields.is_record());
        expected.insert("c".into(), Value::from("new"));
        assert_eq!(fields, expected);
    }

    #[test]
    fn record_values_are_padded_to_the_schema() {
        let record = Record::new(schema(&["a", "b"]), vec![Some(Value::from(1))]);
        assert_eq!(record.get("b"), None);
        assert_eq!(record.iter().count(), 1);
    }
}
