#![no_main]
//! An enrichment table's file, whatever its bytes: loading refuses it or gives a table whose
//! lookups answer — never a panic. The first byte picks the kind (even: MaxMind DB, odd: CSV);
//! the seeds are MaxMind's test databases, good and deliberately broken (`seed` writes them).
use std::net::IpAddr;

use weir_core::enrichment::{Case, Condition, Table};
use weir_transforms::enrichment::{ColumnType, CsvTable, MmdbTable};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((kind, file)) = data.split_first() else {
        return;
    };
    if kind % 2 == 0 {
        let Ok(table) = MmdbTable::from_bytes(file.to_vec()) else {
            return;
        };
        let ips: [IpAddr; 3] = [
            "81.2.69.142".parse().unwrap(),
            "2001:480:10::1".parse().unwrap(),
            "1.128.0.1".parse().unwrap(),
        ];
        for ip in ips {
            let _ = table.geo(ip, "en");
            let _ = table.record(ip);
        }
    } else {
        let schema = [("id".to_string(), ColumnType::Integer)].into();
        let Ok(table) = CsvTable::from_bytes(file, b',', &schema) else {
            return;
        };
        for field in table.fields() {
            let value = weir_core::Value::from("1");
            let condition = [Condition::Equals { field: &field, value: &value }];
            let _ = table.find(&condition, None, Case::Insensitive);
        }
    }
});
