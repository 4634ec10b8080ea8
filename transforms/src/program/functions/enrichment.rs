//! The enrichment-table VRL functions: `get_enrichment_table_record` and
//! `find_enrichment_table_records` with Vector's names, parameters and errors (so programs
//! written for Vector carry over), and `geoip`, which returns the object the `geoip` transform
//! writes.
//!
//! The table is named by a literal, checked when the program is compiled: an unknown table (or
//! `geoip` on a table that is not a MaxMind DB) is a compile error, as in Vector. The handle is
//! kept by the compiled program, so a reloaded table is used from the next call on.

use chrono::{DateTime, Utc};
use vrl::compiler::prelude::*;
use vrl::value::kind::Collection;
use weir_core::enrichment::{Case, Condition, EnrichmentTables, LookupError, TableHandle};

use super::ArgumentError;
use crate::enrichment::mmdb::{self, MmdbTable, LOCALES};

/// Most conditions a `wildcard` search expands (2^n lookups).
const MAX_WILDCARD_CONDITIONS: usize = 8;

fn table_parameters() -> &'static [Parameter] {
    const PARAMETERS: &[Parameter] = &[
        Parameter::required("table", kind::BYTES, "The name of the enrichment table (a literal)."),
        Parameter::required(
            "condition",
            kind::OBJECT,
            "Field → value to match; a value `{\"from\": t, \"to\": t}` matches a timestamp column \
             within that range. A MaxMind DB table is searched by `{\"ip\": …}`.",
        ),
        Parameter::optional(
            "select",
            kind::ARRAY,
            "The fields to return. Default: every field.",
        ),
        Parameter::optional(
            "case_sensitive",
            kind::BOOLEAN,
            "Whether string values must match in case (default `true`).",
        ),
        Parameter::optional(
            "wildcard",
            kind::ANY,
            "A value in the table that matches any condition value (a row with `*` in a column \
             matches whatever the condition asks for that column).",
        ),
    ];
    PARAMETERS
}

/// Resolves the literal table name to its handle, from the tables the program is compiled with.
fn table_handle(
    ctx: &FunctionCompileContext,
    arguments: &ArgumentList,
    state: &TypeState,
) -> Result<TableHandle, Box<dyn DiagnosticMessage>> {
    let error = |message: String| {
        Box::new(ArgumentError {
            keyword: "table",
            message,
        }) as Box<dyn DiagnosticMessage>
    };
    let name = arguments
        .required("table")
        .resolve_constant(state)
        .and_then(|v| v.to_str_lossy().map(|s| s.into_owned()))
        .ok_or_else(|| error("must be a literal string".into()))?;
    match ctx.get_external_context::<EnrichmentTables>() {
        Some(tables) => tables.require(&name).cloned().map_err(error),
        // The tables are not known yet (a config checked before they are read): building the
        // component compiles the program again, with them.
        None => Ok(TableHandle::new(&name, Box::new(NotLoaded))),
    }
}

/// The stand-in of a table while a program is only checked: never looked up.
#[derive(Debug)]
struct NotLoaded;

impl weir_core::enrichment::Table for NotLoaded {
    fn kind(&self) -> &'static str {
        "not loaded"
    }

    fn fields(&self) -> Vec<String> {
        Vec::new()
    }

    fn find(
        &self,
        _: &[Condition<'_>],
        _: Option<&[String]>,
        _: Case,
    ) -> Result<Vec<ObjectMap>, LookupError> {
        Err(LookupError::Unsupported("the table is not loaded".into()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The `get_enrichment_table_record` and `find_enrichment_table_records` functions.
#[derive(Clone, Copy, Debug)]
pub struct EnrichmentSearch {
    /// `get_…` (exactly one row, else an error) or `find_…` (every row).
    one: bool,
}

/// `get_enrichment_table_record`.
pub const GET_RECORD: EnrichmentSearch = EnrichmentSearch { one: true };
/// `find_enrichment_table_records`.
pub const FIND_RECORDS: EnrichmentSearch = EnrichmentSearch { one: false };

impl Function for EnrichmentSearch {
    fn identifier(&self) -> &'static str {
        if self.one {
            "get_enrichment_table_record"
        } else {
            "find_enrichment_table_records"
        }
    }

    fn summary(&self) -> &'static str {
        if self.one {
            "the one row of an enrichment table matching a condition"
        } else {
            "every row of an enrichment table matching a condition"
        }
    }

    fn usage(&self) -> &'static str {
        if self.one {
            "Searches the enrichment table `table` for the row matching every field of \
             `condition`; an error when no row or more than one row matches (as in Vector)."
        } else {
            "Searches the enrichment table `table` for the rows matching every field of \
             `condition`: an array, empty when none matches (as in Vector)."
        }
    }

    fn category(&self) -> &'static str {
        Category::Object.as_ref()
    }

    fn return_kind(&self) -> u16 {
        if self.one {
            kind::OBJECT
        } else {
            kind::ARRAY
        }
    }

    fn examples(&self) -> &'static [Example] {
        if self.one {
            super::examples::GET_ENRICHMENT_TABLE_RECORD
        } else {
            super::examples::FIND_ENRICHMENT_TABLE_RECORDS
        }
    }

    fn compile(
        &self,
        state: &TypeState,
        ctx: &mut FunctionCompileContext,
        arguments: ArgumentList,
    ) -> Compiled {
        let table = table_handle(ctx, &arguments, state)?;
        Ok(SearchFn {
            one: self.one,
            table,
            condition: arguments.required("condition"),
            select: arguments.optional("select"),
            case_sensitive: arguments.optional("case_sensitive"),
            wildcard: arguments.optional("wildcard"),
        }
        .as_expr())
    }

    fn parameters(&self) -> &'static [Parameter] {
        table_parameters()
    }
}

#[derive(Clone, Debug)]
struct SearchFn {
    one: bool,
    table: TableHandle,
    condition: Box<dyn Expression>,
    select: Option<Box<dyn Expression>>,
    case_sensitive: Option<Box<dyn Expression>>,
    wildcard: Option<Box<dyn Expression>>,
}

/// A condition's value: an equality or a `{from, to}` range.
enum Wanted {
    Equals(Value),
    Between(DateTime<Utc>, DateTime<Utc>),
}

fn wanted(field: &str, value: Value) -> Result<Wanted, ExpressionError> {
    let Value::Object(range) = &value else {
        return Ok(Wanted::Equals(value));
    };
    match (range.get("from"), range.get("to")) {
        (Some(Value::Timestamp(from)), Some(Value::Timestamp(to))) if range.len() == 2 => {
            Ok(Wanted::Between(*from, *to))
        }
        _ => Err(format!(
            "condition `{field}`: an object must be {{\"from\": <timestamp>, \"to\": <timestamp>}}"
        )
        .into()),
    }
}

impl SearchFn {
    fn rows(&self, ctx: &mut Context) -> Result<Vec<ObjectMap>, ExpressionError> {
        let condition = self.condition.resolve(ctx)?.try_object()?;
        let wanted: Vec<(String, Wanted)> = condition
            .into_iter()
            .map(|(k, v)| wanted(&k, v).map(|w| (k.to_string(), w)))
            .collect::<Result<_, _>>()?;
        let select = match &self.select {
            Some(expr) => Some(
                expr.resolve(ctx)?
                    .try_array()?
                    .into_iter()
                    .map(|v| v.try_bytes_utf8_lossy().map(|s| s.into_owned()))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let case = match &self.case_sensitive {
            Some(expr) if !expr.resolve(ctx)?.try_boolean()? => Case::Insensitive,
            _ => Case::Sensitive,
        };
        let wildcard = match &self.wildcard {
            Some(expr) => Some(expr.resolve(ctx)?),
            None => None,
        };
        let loaded = self.table.load();
        let table = loaded.table.as_ref();
        let search = |values: &[&Value]| -> Result<Vec<ObjectMap>, LookupError> {
            let mut equal = values.iter();
            let conditions: Vec<Condition<'_>> = wanted
                .iter()
                .map(|(field, w)| match w {
                    Wanted::Equals(_) => Condition::Equals {
                        field,
                        value: equal.next().copied().unwrap_or(&Value::Null),
                    },
                    Wanted::Between(from, to) => Condition::Between {
                        field,
                        from: *from,
                        to: *to,
                    },
                })
                .collect();
            table.find(&conditions, select.as_deref(), case)
        };
        let values: Vec<&Value> = wanted
            .iter()
            .filter_map(|(_, w)| match w {
                Wanted::Equals(v) => Some(v),
                Wanted::Between(..) => None,
            })
            .collect();
        let rows = match &wildcard {
            None => search(&values),
            Some(wildcard) => with_wildcard(&values, wildcard, search),
        };
        rows.map_err(|e| ExpressionError::from(e.to_string()))
    }
}

/// Every row matching with each equality value either as given or as the wildcard, each row
/// once, in the order found.
fn with_wildcard(
    values: &[&Value],
    wildcard: &Value,
    search: impl Fn(&[&Value]) -> Result<Vec<ObjectMap>, LookupError>,
) -> Result<Vec<ObjectMap>, LookupError> {
    if values.len() > MAX_WILDCARD_CONDITIONS {
        return Err(LookupError::Unsupported(format!(
            "a wildcard search takes at most {MAX_WILDCARD_CONDITIONS} equality conditions"
        )));
    }
    let mut rows: Vec<ObjectMap> = Vec::new();
    for mask in 0u32..(1 << values.len()) {
        let combination: Vec<&Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| if mask & (1 << i) != 0 { wildcard } else { *v })
            .collect();
        for row in search(&combination)? {
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

impl FunctionExpression for SearchFn {
    fn resolve(&self, ctx: &mut Context) -> Resolved {
        let rows = self.rows(ctx)?;
        if !self.one {
            return Ok(Value::Array(rows.into_iter().map(Value::Object).collect()));
        }
        let mut rows = rows.into_iter();
        match (rows.next(), rows.next()) {
            (Some(row), None) => Ok(Value::Object(row)),
            (None, _) => Err("no rows found".into()),
            (Some(_), Some(_)) => Err("more than one row found".into()),
        }
    }

    fn type_def(&self, _: &TypeState) -> TypeDef {
        if self.one {
            TypeDef::object(Collection::any()).fallible()
        } else {
            TypeDef::array(Collection::from_unknown(Kind::object(Collection::any()))).fallible()
        }
    }
}

/// The `geoip` VRL function.
#[derive(Clone, Copy, Debug)]
pub struct Geoip;

const GEOIP_PARAMETERS: &[Parameter] = &[
    Parameter::required(
        "ip",
        kind::BYTES,
        "An IP address (`1.2.3.4`, `2001:db8::1`, `1.2.3.4:443`, `[2001:db8::1]:443`).",
    ),
    Parameter::required(
        "table",
        kind::BYTES,
        "The `mmdb` enrichment table (a literal).",
    ),
    Parameter::optional(
        "locale",
        kind::BYTES,
        "The language of names: de, en (default), es, fr, ja, pt-BR, ru or zh-CN (a literal).",
    ),
];

impl Function for Geoip {
    fn identifier(&self) -> &'static str {
        "geoip"
    }

    fn summary(&self) -> &'static str {
        "the location and network owner of an IP address"
    }

    fn usage(&self) -> &'static str {
        "The object the `geoip` transform writes for `ip` from the MaxMind DB table `table` \
         (`city_name`, `country_iso_code`, …, `asn`, `as_org`); `{\"private\": true}` for \
         private, loopback and link-local addresses; `null` when the database has no data for \
         the address. An error when `ip` is not an IP address."
    }

    fn category(&self) -> &'static str {
        Category::Ip.as_ref()
    }

    fn return_kind(&self) -> u16 {
        kind::OBJECT | kind::NULL
    }

    fn examples(&self) -> &'static [Example] {
        super::examples::GEOIP
    }

    fn compile(
        &self,
        state: &TypeState,
        ctx: &mut FunctionCompileContext,
        arguments: ArgumentList,
    ) -> Compiled {
        let table = table_handle(ctx, &arguments, state)?;
        let error = |keyword, message: String| {
            Box::new(ArgumentError { keyword, message }) as Box<dyn DiagnosticMessage>
        };
        let loaded = table.load();
        let any = loaded.table.as_any();
        if any.downcast_ref::<MmdbTable>().is_none() && any.downcast_ref::<NotLoaded>().is_none() {
            let message = format!("enrichment table `{}` is not an `mmdb` table", table.name());
            return Err(error("table", message));
        }
        drop(loaded);
        let locale = match arguments.optional("locale") {
            None => "en".to_string(),
            Some(expr) => expr
                .resolve_constant(state)
                .and_then(|v| v.to_str_lossy().map(|s| s.into_owned()))
                .filter(|l| LOCALES.contains(&l.as_str()))
                .ok_or_else(|| {
                    error(
                        "locale",
                        format!("must be a literal, one of {}", LOCALES.join(", ")),
                    )
                })?,
        };
        Ok(GeoipFn {
            ip: arguments.required("ip"),
            table,
            locale,
        }
        .as_expr())
    }

    fn parameters(&self) -> &'static [Parameter] {
        GEOIP_PARAMETERS
    }
}

#[derive(Clone, Debug)]
struct GeoipFn {
    ip: Box<dyn Expression>,
    table: TableHandle,
    locale: String,
}

impl FunctionExpression for GeoipFn {
    fn resolve(&self, ctx: &mut Context) -> Resolved {
        let text = self.ip.resolve(ctx)?.try_bytes_utf8_lossy()?.into_owned();
        let ip = mmdb::parse_ip(&text).ok_or_else(|| format!("`{text}` is not an IP address"))?;
        let loaded = self.table.load();
        let Some(db) = loaded.table.as_any().downcast_ref::<MmdbTable>() else {
            return Ok(Value::Null);
        };
        match db.geo(ip, &self.locale) {
            Ok(Some(object)) => Ok(Value::Object(object)),
            Ok(None) => Ok(Value::Null),
            Err(e) => Err(e.to_string().into()),
        }
    }

    fn type_def(&self, _: &TypeState) -> TypeDef {
        TypeDef::object(Collection::any()).or_null().fallible()
    }
}

/// Tables by name, for compile contexts built in tests.
#[cfg(test)]
pub(crate) fn tables_of(
    tables: std::collections::BTreeMap<&str, Box<dyn weir_core::enrichment::Table>>,
) -> EnrichmentTables {
    EnrichmentTables::new(tables.into_iter().map(|(n, t)| TableHandle::new(n, t)))
}
