use std::path::PathBuf;

use chrono::Utc;
use vrl::value::{ObjectMap, Value};
use weir_core::component::{transform_now, BuildContext, ComponentKind, TransformConfig};
use weir_core::enrichment::{EnrichmentTables, TableHandle};
use weir_core::event::{Event, EventMetadata};

use super::{GeoFields, GeoipConfig};
use crate::enrichment::test_database;

fn tables() -> EnrichmentTables {
    EnrichmentTables::new([
        TableHandle::new("city", Box::new(test_database("GeoIP2-City-Test.mmdb"))),
        TableHandle::new("asn", Box::new(test_database("GeoLite2-ASN-Test.mmdb"))),
    ])
}

fn config(table: &str, fields: GeoFields) -> GeoipConfig {
    GeoipConfig {
        table: table.into(),
        fields,
        locale: "en".into(),
    }
}

fn run(configs: &[GeoipConfig], ips: &[Value]) -> Vec<Event> {
    let cx = BuildContext::standalone_with(
        "geo",
        ComponentKind::Transform,
        "geoip",
        PathBuf::new(),
        tables(),
    );
    let mut events: Vec<Event> = ips
        .iter()
        .map(|ip| {
            let mut fields = ObjectMap::new();
            fields.insert("client_ip".into(), ip.clone());
            Event::new(fields, EventMetadata::new("s".into(), "test", Utc::now()))
        })
        .collect();
    for config in configs {
        let mut transform = config.build(&cx).unwrap();
        events = transform_now(transform.as_mut(), events).primary;
    }
    events
}

fn list() -> GeoFields {
    GeoFields::List(vec!["client_ip".into()])
}

#[test]
fn city_and_asn_merge_into_one_object_and_private_addresses_are_tagged() {
    let ips = [
        Value::from("81.2.69.142:443"),
        Value::from("10.1.2.3"),
        Value::from("not an ip"),
        Value::from(42),
    ];
    let out = run(&[config("city", list()), config("asn", list())], &ips);
    assert_eq!(out.len(), 4, "every event goes on");
    let geo = |e: &Event, k: &str| e.get_path(&["client_ip_geo", k]).cloned();
    assert_eq!(geo(&out[0], "city_name"), Some(Value::from("London")));
    assert_eq!(geo(&out[0], "country_iso_code"), Some(Value::from("GB")));
    assert_eq!(geo(&out[1], "private"), Some(Value::Boolean(true)));
    assert_eq!(out[2].get_path(&["client_ip_geo"]), None);
    assert_eq!(out[3].get_path(&["client_ip_geo"]), None);
    // 1.128.0.0/11 is Telstra in the ASN test database.
    let out = run(
        &[config("city", list()), config("asn", list())],
        &[Value::from("1.128.0.1")],
    );
    assert_eq!(
        out[0].get_path(&["client_ip_geo", "asn"]),
        Some(&Value::from(1221))
    );
}

#[test]
fn a_field_map_names_the_target() {
    let map = GeoFields::Map([("client_ip".to_string(), "client.geo".to_string())].into());
    let out = run(&[config("city", map)], &[Value::from("2001:480:10::1")]);
    assert_eq!(
        out[0].get_path(&["client", "geo", "city_name"]),
        Some(&Value::from("San Diego"))
    );
}

#[test]
fn the_table_must_exist_and_be_a_maxmind_db() {
    let cx = BuildContext::standalone_with(
        "geo",
        ComponentKind::Transform,
        "geoip",
        PathBuf::new(),
        tables(),
    );
    let error = config("nope", list()).build(&cx).err().unwrap();
    assert!(
        error.message.contains("unknown enrichment table `nope`"),
        "{}",
        error.message
    );
    let locale = GeoipConfig {
        locale: "xx".into(),
        ..config("city", list())
    };
    use weir_core::component::PluginCommon;
    assert_eq!(locale.validate()[0].key, "locale");
}
