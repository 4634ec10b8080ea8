//! Transform `geoip`: where an IP address is (city, region, country, continent, location, time
//! zone) and who holds it (ASN, organisation), from a MaxMind DB enrichment table.
//!
//! The object written (`<field>_geo` by default) has ECS `geo.*` names: `city_name`,
//! `continent_code`, `continent_name`, `country_iso_code`, `country_name`, `region_iso_code`
//! (ISO 3166-2, `US-CA`), `region_name`, `postal_code`, `location.{lat,lon}`, `timezone` from
//! City/Country/Enterprise databases; `asn`, `as_org` from ASN databases (plus `isp`,
//! `organization` from ISP databases); any other database's record as it is. Several `geoip`
//! transforms on one field (a City then an ASN database) merge into one object. A `normalize`
//! transform (`schema = "ecs"`) after this one moves the object of a mapped address into ECS's
//! places (`source.geo.*`, `source.as.*`: see `weir_aws::normalize::ecs::geo`).
//!
//! Private (RFC 1918, unique local), loopback, link-local and shared (CGNAT) addresses are not
//! looked up: they get `{"private": true}` — an internal address is an answer, not a failure.
//! A field that is absent or holds no IP address, and an address the database has no data for,
//! leave the event unchanged; every lookup is counted by result in `weir_geoip_lookups_total`.
//! Lookups keep no state, so batches are enriched on every worker thread.

use std::collections::BTreeMap;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use vrl::value::Value;
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::enrichment::TableHandle;
use weir_core::event::Event;
use weir_core::metrics::{ComponentMetrics, PluginFamilies};

use crate::enrichment::mmdb::{self, MmdbTable, LOCALES};

/// `fields`: the IP fields to look up, as a list (each written to `<field>_geo`) or as a map of
/// field → target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum GeoFields {
    /// Field paths (dotted); each result goes to `<field>_geo` beside it.
    List(Vec<String>),
    /// Field path → target path.
    Map(BTreeMap<String, String>),
}

/// Configuration of the `geoip` transform.
///
/// ```toml
/// [enrichment_tables.city]
/// type = "mmdb"
/// path = "/var/lib/GeoIP/GeoLite2-City.mmdb"
///
/// [transforms.geo]
/// type = "geoip"
/// inputs = ["parse"]
/// table = "city"
/// fields = ["client_ip"]          # → client_ip_geo.country_iso_code, …
/// # fields = { "client_ip" = "client.geo" }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoipConfig {
    /// The `mmdb` enrichment table to look addresses up in (required).
    #[schemars(length(min = 1))]
    pub table: String,
    /// The fields holding IP addresses (`1.2.3.4`, `2001:db8::1`, `1.2.3.4:443`,
    /// `[2001:db8::1]:443`), required.
    pub fields: GeoFields,
    /// The language of names (`city_name`, `country_name`, …): one of the locales MaxMind
    /// databases carry (`de`, `en`, `es`, `fr`, `ja`, `pt-BR`, `ru`, `zh-CN`).
    #[serde(default = "default_locale")]
    pub locale: String,
}

fn default_locale() -> String {
    "en".into()
}

impl GeoipConfig {
    /// (field path, target path) pairs.
    fn pairs(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let split = |p: &str| p.split('.').map(str::to_string).collect::<Vec<_>>();
        match &self.fields {
            GeoFields::List(fields) => fields
                .iter()
                .map(|f| (split(f), split(&format!("{f}_geo"))))
                .collect(),
            GeoFields::Map(map) => map.iter().map(|(f, t)| (split(f), split(t))).collect(),
        }
    }
}

impl PluginCommon for GeoipConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !LOCALES.contains(&self.locale.as_str()) {
            problems.push(ConfigProblem::new(
                "locale",
                format!("unknown locale `{}` ({})", self.locale, LOCALES.join(", ")),
            ));
        }
        let empty = match &self.fields {
            GeoFields::List(l) => l.is_empty(),
            GeoFields::Map(m) => m.is_empty(),
        };
        if empty {
            problems.push(ConfigProblem::new("fields", "must name at least one field"));
        }
        let bad_path = self
            .pairs()
            .into_iter()
            .flat_map(|(f, t)| [f, t])
            .any(|p| p.iter().any(String::is_empty));
        if bad_path {
            problems.push(ConfigProblem::new(
                "fields",
                "a field path has an empty segment",
            ));
        }
        problems
    }
}

/// Checks that `name` is an `mmdb` table of `cx`: the handle, or the build error.
pub(crate) fn mmdb_table(
    cx: &BuildContext,
    key: &str,
    name: &str,
) -> Result<TableHandle, BuildError> {
    let handle = cx
        .tables
        .require(name)
        .map_err(|message| BuildError::new(key, message))?;
    let loaded = handle.load();
    if loaded.table.as_any().downcast_ref::<MmdbTable>().is_none() {
        return Err(BuildError::new(
            key,
            format!(
                "enrichment table `{name}` is a `{}` table, not `mmdb`",
                loaded.table.kind()
            ),
        ));
    }
    Ok(handle.clone())
}

impl TransformConfig for GeoipConfig {
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        let table = mmdb_table(cx, "table", &self.table)?;
        let counters =
            Counters::new(&cx.metrics).map_err(|e| BuildError::new("", e.to_string()))?;
        Ok(Stateless::boxed(Geoip {
            table,
            pairs: self.pairs(),
            locale: self.locale.clone(),
            counters,
        }))
    }
}

/// `weir_geoip_lookups_total` by `result`.
#[derive(Clone)]
struct Families {
    lookups: prometheus::IntCounterVec,
}

/// This instance's series.
struct Counters {
    found: IntCounter,
    not_found: IntCounter,
    private: IntCounter,
    invalid: IntCounter,
    failed: IntCounter,
}

impl Counters {
    fn new(metrics: &ComponentMetrics) -> prometheus::Result<Self> {
        let families = metrics.plugin_families(|registry| {
            let f = PluginFamilies::new(registry);
            Ok(Families {
                lookups: f.counter(
                    "weir_geoip_lookups_total",
                    "IP lookups by result: found, not_found (no data for the address), private (not looked up), invalid (the field holds no IP address), failed (a corrupt record).",
                    &["result"],
                )?,
            })
        })?;
        let series = |r| {
            families
                .lookups
                .with_label_values(&metrics.label_values_with(&[r]))
        };
        Ok(Self {
            found: series("found"),
            not_found: series("not_found"),
            private: series("private"),
            invalid: series("invalid"),
            failed: series("failed"),
        })
    }
}

/// The running transform (see [`Stateless`]).
pub struct Geoip {
    table: TableHandle,
    pairs: Vec<(Vec<String>, Vec<String>)>,
    locale: String,
    counters: Counters,
}

impl Geoip {
    fn enrich(&self, db: &MmdbTable, event: &mut Event) {
        for (field, target) in &self.pairs {
            let ip = match event.get_path(field) {
                None | Some(Value::Null) => continue,
                Some(value @ (Value::Bytes(_) | Value::String(_))) => {
                    value.to_str_lossy().and_then(|text| mmdb::parse_ip(&text))
                }
                Some(_) => None,
            };
            let Some(ip) = ip else {
                self.counters.invalid.inc();
                continue;
            };
            match db.geo(ip, &self.locale) {
                Ok(Some(object)) => {
                    if mmdb::is_private(ip) {
                        self.counters.private.inc();
                    } else {
                        self.counters.found.inc();
                    }
                    event.merge_object_at(target, object);
                }
                Ok(None) => self.counters.not_found.inc(),
                Err(_) => self.counters.failed.inc(),
            }
        }
    }
}

impl BatchTransform for Geoip {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        // One snapshot per batch: a reload mid-batch takes effect at the next batch.
        let loaded = self.table.load();
        let Some(db) = loaded.table.as_any().downcast_ref::<MmdbTable>() else {
            // Only a pipeline reload that redefines the table as another kind gets here: the
            // events go on untouched, counted as failed lookups.
            self.counters.failed.inc_by(events.len() as u64);
            out.primary.extend(events);
            return;
        };
        out.primary.reserve(events.len());
        for mut event in events {
            self.enrich(db, &mut event);
            out.primary.push(event);
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "geoip",
    description:
        "Add the location and network owner of IP fields from a MaxMind DB enrichment table.",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<GeoipConfig>),
    schema: weir_core::component::schema_of::<GeoipConfig>,
};

#[cfg(test)]
mod tests;
