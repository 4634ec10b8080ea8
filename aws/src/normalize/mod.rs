//! Normalized output: a parsed (native) record rewritten into **ECS 9.x** or **OCSF 1.1.0**.
//!
//! Native records use AWS's own field names; Elastic's dashboards and detection rules read ECS,
//! Security Lake and OCSF-based SIEMs read OCSF. [`normalize`] turns one native record into one
//! record of the chosen [`OutputSchema`]:
//!
//! * the record's format is looked up in the [registry](crate::formats::registry) by its
//!   `aws.log_type`, and its [`Mappings`] (declared next to the format's parser) say where each
//!   native field goes;
//! * a format with no mapping for the schema still gets the schema's required base fields
//!   ([`ecs`]: `@timestamp`, `ecs.version`, `event.{kind,dataset}`, `data_stream.*`,
//!   `cloud.provider`; [`ocsf`]: Base Event 0 with `class_uid` … `metadata` and `cloud`);
//! * **nothing is dropped**: a mapping *takes* the native fields it moves into schema places (see
//!   [`fields::take`]); whatever it did not take is kept, under `aws.<name>.*` for ECS (Elastic's
//!   convention: `aws.cloudtrail.*`, `aws.elb.*`, `aws.vpcflow.*`) and under `unmapped` for OCSF
//!   (Security Lake's). A mapping takes a field only when the schema place holds the same
//!   information; values it derives (an outcome from an action, a version from a protocol
//!   string) are copies, and the native field stays.
//!
//! Names follow the schema (dots are nested objects). Times: ECS dates are
//! `Value::Timestamp`s, as the parsers' own times are (written as RFC 3339 UTC strings); OCSF
//! `timestamp_t` attributes are epoch milliseconds (integers), each with its `*_dt` sibling of
//! the `datetime` profile as a `Value::Timestamp` (RFC 3339 when written), and the profile is
//! listed in `metadata.profiles`.

pub mod ecs;
pub mod fields;
pub mod ocsf;
#[cfg(test)]
mod tests;
pub mod url;
#[cfg(any(test, feature = "schema-validation"))]
pub mod validate;

use vrl::value::ObjectMap;
use weir_core::fields::Fields;
use weir_core::path_record::PathRecordBuilder;

use crate::formats::registry::{self, Format};

/// The schema events come out in.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutputSchema {
    /// The parsers' own fields (AWS's names), unchanged.
    #[default]
    Native,
    /// Elastic Common Schema 9.x (the field set of [`ecs::ECS_VERSION`]).
    Ecs,
    /// Open Cybersecurity Schema Framework [`ocsf::OCSF_VERSION`].
    Ocsf,
}

impl OutputSchema {
    /// Every schema, for docs and tests.
    pub const ALL: [OutputSchema; 3] = [Self::Native, Self::Ecs, Self::Ocsf];

    /// The option value (`native`, `ecs`, `ocsf`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Ecs => "ecs",
            Self::Ocsf => "ocsf",
        }
    }
}

impl std::fmt::Display for OutputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format's mapping into one schema: takes what it maps from the native record (the first
/// argument) and writes schema fields into the output (the second). What it leaves in the native
/// record is kept by [`normalize`] (see the [module docs](self)).
pub type MapFn = fn(&mut Fields, &mut PathRecordBuilder);

/// What a format declares about its normalized output, in its [registry](registry) entry.
#[derive(Clone, Copy, Debug)]
pub struct Mappings {
    /// ECS: data stream and where native fields are kept.
    pub ecs: EcsMapping,
    /// OCSF: product and mapping.
    pub ocsf: OcsfMapping,
}

/// A format's ECS declaration.
#[derive(Clone, Copy, Debug)]
pub struct EcsMapping {
    /// `event.dataset` and `data_stream.dataset`, named as Elastic's `aws` integration names
    /// its data streams (`aws.cloudtrail`, `aws.elb_logs`, …) so that `data_stream` writes go
    /// to the `logs-aws.<dataset>-<namespace>` streams Elastic's dashboards read.
    pub dataset: &'static str,
    /// Where the native fields the mapping did not take are kept: `aws.<name>` (`aws.elb`, as
    /// Elastic names them).
    pub native_path: &'static str,
    /// The mapping; `None`: only the base fields are set, every native field is kept.
    pub map: Option<MapFn>,
}

/// A format's OCSF declaration.
#[derive(Clone, Copy, Debug)]
pub struct OcsfMapping {
    /// `metadata.product.name` (the vendor is always AWS).
    pub product: &'static str,
    /// The mapping; `None`: a Base Event (class 0) with every native field under `unmapped`.
    pub map: Option<MapFn>,
    /// The classes the mapping produces, in words, for `--list-formats` and the reference.
    pub classes: &'static str,
}

impl Mappings {
    /// A format without mappings: base fields only, in both schemas.
    pub const fn base(
        ecs_dataset: &'static str,
        native_path: &'static str,
        ocsf_product: &'static str,
    ) -> Self {
        Self {
            ecs: EcsMapping {
                dataset: ecs_dataset,
                native_path,
                map: None,
            },
            ocsf: OcsfMapping {
                product: ocsf_product,
                map: None,
                classes: "Base Event 0 (no mapping yet)",
            },
        }
    }

    /// Whether the format has a field mapping (beyond the base fields) for `schema`.
    pub fn maps(&self, schema: OutputSchema) -> bool {
        match schema {
            OutputSchema::Native => true,
            OutputSchema::Ecs => self.ecs.map.is_some(),
            OutputSchema::Ocsf => self.ocsf.map.is_some(),
        }
    }
}

/// The declaration for records whose `aws.log_type` is missing or names no registered format
/// (events parsed elsewhere): Elastic's generic "Custom AWS Logs" data stream.
pub const UNKNOWN_FORMAT: Mappings = Mappings::base("aws_logs.generic", "aws.generic", "AWS");

/// The record's `aws.log_type`, if it has one.
pub fn log_type_of(record: &impl fields::Lookup) -> Option<&str> {
    fields::get_str(record, "aws.log_type")
}

/// The registered format of a record, by its `aws.log_type`.
pub fn format_of(record: &Fields) -> Option<&'static Format> {
    log_type_of(record).and_then(registry::find)
}

/// `record` in `schema`: `Native` returns it unchanged; `Ecs` and `Ocsf` apply the mapping its
/// format declares (found by `aws.log_type`), or the schema's base fields for a format without
/// one (or a record of no known format), keeping every native field the mapping did not take.
///
/// The result is a [`PathRecord`](weir_core::path_record::PathRecord) of the layout its format's
/// records share in that schema (learned from the records normalized so far; see [`layouts`]).
pub fn normalize_fields(schema: OutputSchema, record: Fields) -> Fields {
    if schema == OutputSchema::Native {
        return record;
    }
    let format = format_of(&record);
    let mappings = format.map_or(UNKNOWN_FORMAT, |f| f.mappings);
    let key = (format.map_or("", |f| f.name), schema);
    let mut out = PathRecordBuilder::new(layouts::current(key));
    match schema {
        OutputSchema::Native => {}
        OutputSchema::Ecs => ecs::normalize(&mappings.ecs, record, &mut out),
        OutputSchema::Ocsf => ocsf::normalize(&mappings.ocsf, record, &mut out),
    }
    let (normalized, learned) = out.finish();
    if let Some(layout) = learned {
        layouts::learned(key, layout);
    }
    normalized.into()
}

/// [`normalize_fields`] of a map, as a map.
pub fn normalize(schema: OutputSchema, record: ObjectMap) -> ObjectMap {
    match schema {
        OutputSchema::Native => record,
        _ => normalize_fields(schema, record.into()).into_map(),
    }
}

/// The output layouts of each format in each schema, shared by all threads.
///
/// A layout grows while records bring paths it lacks (a mapping writes a bounded set of literal
/// paths, so it stops growing after the first records of each kind); reading it costs one
/// lock-free load per record.
pub mod layouts {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock};

    use arc_swap::ArcSwap;
    use foldhash::fast::FixedState;
    use weir_core::path_record::PathLayout;

    use super::OutputSchema;

    /// A format's name (`""` for records of no known format) and schema.
    pub type Key = (&'static str, OutputSchema);

    /// Looked up once per record: foldhash, not SipHash (1 % of a VPC Flow ECS run).
    type Layouts = HashMap<Key, Arc<PathLayout>, FixedState>;

    static LAYOUTS: LazyLock<ArcSwap<Layouts>> = LazyLock::new(ArcSwap::default);

    /// The layout records of `key` start from (empty before the first).
    pub fn current(key: Key) -> Arc<PathLayout> {
        LAYOUTS.load().get(&key).cloned().unwrap_or_default()
    }

    /// Shares a layout a record extended, unless a larger one is shared already.
    pub fn learned(key: Key, layout: Arc<PathLayout>) {
        LAYOUTS.rcu(|all| {
            let mut all = Layouts::clone(all);
            let larger = all
                .get(&key)
                .is_some_and(|have| have.paths().len() >= layout.paths().len());
            if !larger {
                all.insert(key, layout.clone());
            }
            all
        });
    }
}
