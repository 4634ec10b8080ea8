//! MaxMind DB lookups on one core, as the `geoip` transform makes them (`MmdbTable::geo`: the
//! lookup, the record decoded, the `geo` object built), on MaxMind's test databases
//! (`tests/services/install.sh` unpacks them under `target/maxmind`):
//!
//! * `geoip/city-ipv4`, `geoip/city-ipv6` — GeoIP2-City-Test, an address inside each IPv4 (IPv6)
//!   network of its source data, in turn;
//! * `geoip/asn-ipv4`, `geoip/asn-ipv6` — GeoLite2-ASN-Test, the same way;
//! * `geoip/city-ipv4-cached`, `geoip/city-ipv6-cached` — the City cases through the record cache
//!   a pipeline's tables have (`cache_size`, default 10,000 records): every record is decoded
//!   once, then each lookup is the tree walk and a copy of the cached object.
//!
//! The test databases are small (hundreds of networks, a shallow search tree): a production
//! City database walks a deeper tree (~up to 128 steps for IPv6, a few dozen in practice) and its
//! records are the same shape, so these figures bound the decoding cost rather than the walk.
//!
//! `cargo bench -p weir-benches --bench enrichment`; criterion reports lookups/s ("elem/s").

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weir_transforms::enrichment::MmdbTable;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn maxmind() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/maxmind")
}

/// A test database, with a record cache of `cache` records (0: none).
fn database(file: &str, cache: usize) -> MmdbTable {
    let path = maxmind().join("test-data").join(file);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/services/install.sh)", path.display()));
    MmdbTable::from_bytes(bytes)
        .expect("a MaxMind test database")
        .with_cache(cache)
}

/// The first address of every network of a source-data file, IPv4 or IPv6.
fn addresses(source: &str, v6: bool) -> Vec<IpAddr> {
    let path = maxmind().join("source-data").join(source);
    let text = std::fs::read_to_string(&path).expect("source data");
    let networks: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).expect("source data JSON");
    networks
        .iter()
        .flat_map(|n| n.keys())
        .filter_map(|cidr| cidr.split('/').next()?.parse::<IpAddr>().ok())
        // IPv4 networks are written in the IPv6 tree's IPv4 subtree: `::81.2.69.142/127`.
        .map(|ip| match ip {
            IpAddr::V6(v6) if v6.segments()[..6] == [0; 6] => {
                IpAddr::V4(std::net::Ipv4Addr::from_bits(v6.to_bits() as u32))
            }
            other => other,
        })
        .filter(|ip| ip.is_ipv6() == v6)
        .filter(|ip| !weir_transforms::enrichment::mmdb::is_private(*ip))
        .collect()
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("geoip");
    const CITY: (&str, &str) = ("GeoIP2-City-Test.mmdb", "GeoIP2-City-Test.json");
    const ASN: (&str, &str) = ("GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN-Test.json");
    // (name, (database, its source data), IPv6, cached records)
    let cases = [
        ("city-ipv4", CITY, false, 0),
        ("city-ipv6", CITY, true, 0),
        ("asn-ipv4", ASN, false, 0),
        ("asn-ipv6", ASN, true, 0),
        ("city-ipv4-cached", CITY, false, 10_000),
        ("city-ipv6-cached", CITY, true, 10_000),
    ];
    for (name, (db, source), v6, cache) in cases {
        let table = database(db, cache);
        let ips = addresses(source, v6);
        assert!(!ips.is_empty(), "{name}: no addresses");
        let found = ips
            .iter()
            .filter(|ip| matches!(table.geo(**ip, "en"), Ok(Some(_))))
            .count();
        eprintln!("{name}: {} addresses, {found} found", ips.len());
        group.throughput(Throughput::Elements(ips.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for ip in &ips {
                    if let Ok(Some(object)) = table.geo(*ip, "en") {
                        n += object.len();
                    }
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
