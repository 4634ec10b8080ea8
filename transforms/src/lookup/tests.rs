use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Utc;
use vrl::value::{ObjectMap, Value};
use weir_core::component::{transform_now, BuildContext, ComponentKind, TransformConfig};
use weir_core::enrichment::{EnrichmentTables, TableHandle};
use weir_core::event::{Event, EventMetadata};

use super::LookupConfig;
use crate::enrichment::CsvTable;

const ACCOUNTS: &str = "id,name,owner\n111122223333,Prod,Team-A\n444455556666,Dev,team-b\n";

fn context() -> BuildContext {
    let table = CsvTable::from_bytes(ACCOUNTS.as_bytes(), b',', &BTreeMap::new()).unwrap();
    let tables = EnrichmentTables::new([TableHandle::new("accounts", Box::new(table))]);
    BuildContext::standalone_with(
        "l",
        ComponentKind::Transform,
        "lookup",
        PathBuf::new(),
        tables,
    )
}

fn event(account: Option<&str>) -> Event {
    let mut fields = ObjectMap::new();
    if let Some(account) = account {
        let mut cloud = ObjectMap::new();
        let mut a = ObjectMap::new();
        a.insert("id".into(), Value::from(account));
        cloud.insert("account".into(), Value::Object(a));
        fields.insert("cloud".into(), Value::Object(cloud));
    }
    Event::new(fields, EventMetadata::new("s".into(), "test", Utc::now()))
}

fn config() -> LookupConfig {
    LookupConfig {
        table: "accounts".into(),
        keys: [("id".to_string(), "cloud.account.id".to_string())].into(),
        select: Some(vec!["name".into()]),
        target: Some("cloud.account".into()),
        case_sensitive: true,
    }
}

#[test]
fn a_hit_merges_the_selected_columns_and_a_miss_changes_nothing() {
    let mut t = config().build(&context()).unwrap();
    let out = transform_now(
        t.as_mut(),
        vec![event(Some("111122223333")), event(Some("999")), event(None)],
    )
    .primary;
    assert_eq!(out.len(), 3);
    assert_eq!(
        out[0].get_path(&["cloud", "account", "name"]),
        Some(&Value::from("Prod"))
    );
    assert_eq!(
        out[0].get_path(&["cloud", "account", "owner"]),
        None,
        "not selected"
    );
    assert_eq!(out[1].get_path(&["cloud", "account", "name"]), None);
    assert!(out[2].fields.is_empty());
}

#[test]
fn case_insensitive_keys_and_the_root_target() {
    let config = LookupConfig {
        keys: [("owner".to_string(), "cloud.account.id".to_string())].into(),
        select: None,
        target: None,
        case_sensitive: false,
        ..config()
    };
    let mut t = config.build(&context()).unwrap();
    let out = transform_now(t.as_mut(), vec![event(Some("TEAM-B"))]).primary;
    assert_eq!(out[0].fields.get("name"), Some(&Value::from("Dev")));
    assert_eq!(out[0].fields.get("id"), Some(&Value::from("444455556666")));
}

#[test]
fn unknown_columns_are_build_errors() {
    let config = LookupConfig {
        select: Some(vec!["nope".into()]),
        ..config()
    };
    let error = config.build(&context()).err().unwrap();
    assert_eq!(error.key, "select");
    assert!(
        error.message.contains("no column `nope`"),
        "{}",
        error.message
    );
}
