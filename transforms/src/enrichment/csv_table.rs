//! `type = "csv"`: a CSV file with a header row, its columns typed by `schema`, read with the
//! `csv` crate.
//!
//! The whole file is parsed and every cell converted to its column's type before the table is
//! used: a bad cell (`abc` in an `integer` column) refuses the file with its row and column, so
//! a reload never swaps in a half-good table.
//!
//! Lookups by equality use an index per set of key fields (and case rule), built on the first
//! lookup that needs it and kept for the table's life; a reloaded table builds its own. Keys
//! compare as text: an `integer` column holding `42` matches a condition value `"42"` or `42`,
//! since events often carry ids as strings.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::enrichment::{Case, Condition, LookupError, Table};

use super::{ColumnType, TableError};

/// Equality keys → row numbers, for one set of fields and case rule.
type Index = HashMap<String, Vec<usize>>;

/// The indexes built so far, by (key columns, case rule).
type Indexes = HashMap<(Vec<usize>, Case), Arc<Index>>;

/// A CSV table in memory.
#[derive(Debug)]
pub struct CsvTable {
    columns: Vec<KeyString>,
    rows: Vec<Vec<Value>>,
    indexes: RwLock<Indexes>,
}

impl CsvTable {
    /// Parses `bytes` (header row first); columns not in `schema` are strings.
    pub fn from_bytes(
        bytes: &[u8],
        delimiter: u8,
        schema: &BTreeMap<String, ColumnType>,
    ) -> Result<Self, TableError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| TableError::Invalid(format!("cannot read the header row: {e}")))?
            .clone();
        let columns: Vec<KeyString> = headers.iter().map(|h| KeyString::from(h.trim())).collect();
        if columns.is_empty() || columns.iter().all(|c| c.is_empty()) {
            return Err(TableError::Invalid("the header row is empty".into()));
        }
        if let Some(missing) = schema
            .keys()
            .find(|name| !columns.iter().any(|c| c.as_str() == name.as_str()))
        {
            return Err(TableError::Invalid(format!(
                "`schema` types column `{missing}`, which the header row does not have"
            )));
        }
        let types: Vec<ColumnType> = columns
            .iter()
            .map(|c| schema.get(c.as_str()).cloned().unwrap_or_default())
            .collect();
        let mut rows = Vec::new();
        for (n, record) in reader.records().enumerate() {
            // Line numbers as an editor shows them: the header is line 1.
            let line = n + 2;
            let record = record.map_err(|e| TableError::Invalid(format!("line {line}: {e}")))?;
            let mut row = Vec::with_capacity(columns.len());
            for ((cell, column), kind) in record.iter().zip(&columns).zip(&types) {
                let value = kind.convert(cell).map_err(|message| {
                    TableError::Invalid(format!("line {line}, column `{column}`: {message}"))
                })?;
                row.push(value);
            }
            rows.push(row);
        }
        Ok(Self {
            columns,
            rows,
            indexes: RwLock::new(HashMap::new()),
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn column(&self, field: &str) -> Result<usize, LookupError> {
        self.columns
            .iter()
            .position(|c| c.as_str() == field)
            .ok_or_else(|| LookupError::UnknownField {
                table: "csv".into(),
                field: field.to_string(),
            })
    }

    /// The index of `columns` under `case`, built on first use.
    fn index(&self, columns: &[usize], case: Case) -> Arc<Index> {
        let key = (columns.to_vec(), case);
        if let Some(index) = self
            .indexes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Arc::clone(index);
        }
        let mut index = Index::new();
        for (n, row) in self.rows.iter().enumerate() {
            let values = columns.iter().map(|&c| &row[c]);
            if let Some(joined) = joined_key(values, case) {
                index.entry(joined).or_default().push(n);
            }
        }
        let index = Arc::new(index);
        self.indexes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, Arc::clone(&index));
        index
    }

    fn select(&self, row: &[Value], select: Option<&[String]>) -> ObjectMap {
        self.columns
            .iter()
            .zip(row)
            .filter(|(c, _)| select.is_none_or(|s| s.iter().any(|s| s.as_str() == c.as_str())))
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect()
    }
}

/// The text form a value is matched by (`None`: it never matches, e.g. `null`).
fn key_text(value: &Value, case: Case) -> Option<String> {
    let text = match value {
        Value::Bytes(_) | Value::String(_) => value.to_str_lossy()?.into_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Timestamp(t) => t.to_rfc3339(),
        _ => return None,
    };
    Some(match case {
        Case::Sensitive => text,
        Case::Insensitive => text.to_lowercase(),
    })
}

/// One key of several values, joined by a separator no CSV key holds.
fn joined_key<'a>(values: impl Iterator<Item = &'a Value>, case: Case) -> Option<String> {
    let mut joined = String::new();
    for (n, value) in values.enumerate() {
        if n > 0 {
            joined.push('\u{1f}');
        }
        joined.push_str(&key_text(value, case)?);
    }
    Some(joined)
}

impl Table for CsvTable {
    fn kind(&self) -> &'static str {
        "csv"
    }

    fn fields(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.to_string()).collect()
    }

    fn find(
        &self,
        conditions: &[Condition<'_>],
        select: Option<&[String]>,
        case: Case,
    ) -> Result<Vec<ObjectMap>, LookupError> {
        let mut equal_columns = Vec::new();
        let mut equal_values = Vec::new();
        let mut ranges = Vec::new();
        for condition in conditions {
            let column = self.column(condition.field())?;
            match condition {
                Condition::Equals { value, .. } => {
                    equal_columns.push(column);
                    equal_values.push(*value);
                }
                Condition::Between { from, to, .. } => ranges.push((column, *from, *to)),
            }
        }
        let in_ranges = |row: &[Value]| {
            ranges.iter().all(|(c, from, to)| match &row[*c] {
                Value::Timestamp(t) => from <= t && t <= to,
                _ => false,
            })
        };
        let rows: Vec<&Vec<Value>> = if equal_columns.is_empty() {
            self.rows.iter().filter(|r| in_ranges(r)).collect()
        } else {
            let Some(key) = joined_key(equal_values.into_iter(), case) else {
                return Ok(Vec::new());
            };
            let index = self.index(&equal_columns, case);
            index
                .get(&key)
                .map(|rows| {
                    rows.iter()
                        .map(|&n| &self.rows[n])
                        .filter(|r| in_ranges(r))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(rows.into_iter().map(|r| self.select(r, select)).collect())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl ColumnType {
    /// The value of one cell; an empty cell of a typed column is `null`.
    fn convert(&self, cell: &str) -> Result<Value, String> {
        let text = cell.trim();
        if text.is_empty() && !matches!(self, ColumnType::String) {
            return Ok(Value::Null);
        }
        match self {
            ColumnType::String => Ok(Value::from(cell)),
            ColumnType::Integer => text
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("`{text}` is not an integer")),
            ColumnType::Float => text
                .parse::<f64>()
                .ok()
                .and_then(|f| ordered_float::NotNan::new(f).ok())
                .map(Value::Float)
                .ok_or_else(|| format!("`{text}` is not a number")),
            ColumnType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "1" => Ok(Value::Boolean(true)),
                "false" | "f" | "no" | "n" | "0" => Ok(Value::Boolean(false)),
                _ => Err(format!("`{text}` is not a boolean")),
            },
            ColumnType::Timestamp(format) => parse_time(text, format.as_deref())
                .map(Value::Timestamp)
                .ok_or_else(|| match format {
                    Some(f) => format!("`{text}` does not have the format `{f}`"),
                    None => format!("`{text}` is not an RFC 3339 timestamp or a YYYY-MM-DD date"),
                }),
        }
    }
}

/// A timestamp: with `format` (strftime), a date-time or a date (midnight UTC); without, RFC
/// 3339 or `YYYY-MM-DD`.
fn parse_time(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    match format {
        Some(format) => DateTime::parse_from_str(text, format)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, format)
                    .ok()
                    .map(|t| t.and_utc())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(text, format)
                    .ok()
                    .and_then(midnight)
            }),
        None => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(midnight)
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEOPLE: &str = "id,firstname,surname,date_of_birth,vip\n\
        1,Bob,Smith,1985-05-20,true\n\
        2,Fred,Smith,1985-11-01,false\n\
        3,Ann,Jones,1990-01-01,\n";

    fn people() -> CsvTable {
        let schema = BTreeMap::from([
            ("id".to_string(), ColumnType::Integer),
            ("date_of_birth".to_string(), ColumnType::Timestamp(None)),
            ("vip".to_string(), ColumnType::Boolean),
        ]);
        CsvTable::from_bytes(PEOPLE.as_bytes(), b',', &schema).unwrap()
    }

    fn ids(rows: &[ObjectMap]) -> Vec<i64> {
        rows.iter()
            .map(|r| match r["id"] {
                Value::Integer(i) => i,
                _ => -1,
            })
            .collect()
    }

    #[test]
    fn cells_take_their_column_types() {
        let table = people();
        assert_eq!(table.len(), 3);
        let rows = table
            .find(
                &[Condition::Equals {
                    field: "id",
                    value: &Value::from("3"),
                }],
                None,
                Case::Sensitive,
            )
            .unwrap();
        assert_eq!(rows[0]["vip"], Value::Null);
        assert_eq!(rows[0]["firstname"], Value::from("Ann"));
        assert!(matches!(rows[0]["date_of_birth"], Value::Timestamp(_)));
    }

    #[test]
    fn equality_case_and_date_ranges() {
        let table = people();
        let smith = Value::from("smith");
        let by_surname = |case| {
            table
                .find(
                    &[Condition::Equals {
                        field: "surname",
                        value: &smith,
                    }],
                    None,
                    case,
                )
                .unwrap()
        };
        assert!(by_surname(Case::Sensitive).is_empty());
        assert_eq!(ids(&by_surname(Case::Insensitive)), vec![1, 2]);
        let from = parse_time("1985-01-01T00:00:00Z", None).unwrap();
        let to = parse_time("1985-06-30T00:00:00Z", None).unwrap();
        let rows = table
            .find(
                &[
                    Condition::Equals {
                        field: "surname",
                        value: &Value::from("Smith"),
                    },
                    Condition::Between {
                        field: "date_of_birth",
                        from,
                        to,
                    },
                ],
                Some(&["id".to_string()]),
                Case::Sensitive,
            )
            .unwrap();
        assert_eq!(ids(&rows), vec![1]);
        assert_eq!(rows[0].len(), 1, "only the selected column");
    }

    #[test]
    fn a_bad_cell_or_schema_refuses_the_file_with_its_place() {
        let schema = BTreeMap::from([("id".to_string(), ColumnType::Integer)]);
        let bad = "id,name\n1,a\nx,b\n";
        let error = CsvTable::from_bytes(bad.as_bytes(), b',', &schema).unwrap_err();
        assert!(error.to_string().contains("line 3, column `id`"), "{error}");
        let schema = BTreeMap::from([("nope".to_string(), ColumnType::Integer)]);
        let error = CsvTable::from_bytes(b"id\n1\n", b',', &schema).unwrap_err();
        assert!(error.to_string().contains("`nope`"), "{error}");
        let ragged = "id,name\n1\n";
        assert!(CsvTable::from_bytes(ragged.as_bytes(), b',', &BTreeMap::new()).is_err());
    }

    #[test]
    fn an_unknown_field_is_an_error() {
        let error = people()
            .find(
                &[Condition::Equals {
                    field: "age",
                    value: &Value::from(1),
                }],
                None,
                Case::Sensitive,
            )
            .unwrap_err();
        assert!(matches!(error, LookupError::UnknownField { .. }));
    }
}
