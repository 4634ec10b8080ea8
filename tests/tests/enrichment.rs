//! Acceptance of enrichment tables (`enrichment_tables.<name>`, the `geoip` and `lookup`
//! transforms, the table VRL functions) through real `weir` processes: every network of
//! MaxMind's City, Country and ASN test databases looked up from ALB lines; tables replaced
//! under a running pipeline (good, corrupt, missing, bad CSV cells); `s3://` tables on moto
//! polled by ETag; unreadable tables refused at start; Vector's documented examples of
//! `get_enrichment_table_record` / `find_enrichment_table_records` through `weir vrl --tables`.
//!
//! The expected values are derived here from MaxMind's JSON sources of the test databases
//! (`target/maxmind/source-data`), unpacked with the databases by `tests/services/install.sh`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};
use weir_tests::moto_aws::{sdk_config, REGION, WEIR_ENV};
use weir_tests::services::moto;
use weir_tests::{
    free_port, http_get, metric, missing_and_duplicates, wait_for_metrics, weir_bin,
    workspace_root, Weir,
};

// ---------------------------------------------------------------------------------------------
// MaxMind test data and the expectations derived from it.

/// A file under `target/maxmind`; fails with the fix when the test data is missing.
fn maxmind(relative: &str) -> PathBuf {
    let root = workspace_root().join("target/maxmind");
    let path = root.join(relative);
    assert!(
        path.exists(),
        "{} is missing: run tests/services/install.sh (it unpacks MaxMind's test databases into {})",
        path.display(),
        root.display()
    );
    path
}

fn test_db(name: &str) -> PathBuf {
    maxmind(&format!("test-data/{name}"))
}

/// One network of a database's JSON source, in the IPv6 tree the database has (an IPv4
/// network `a.b.c.d/n` is `::a.b.c.d/(96+n)` there, as MaxMind's writer puts it).
#[derive(Clone, Debug)]
struct Network {
    cidr: String,
    base: u128,
    len: u32,
    record: Json,
}

impl Network {
    fn contains(&self, ip: u128) -> bool {
        (ip ^ self.base).checked_shr(128 - self.len).unwrap_or(0) == 0
    }

    /// The last address of the network.
    fn last(&self) -> u128 {
        self.base | u128::MAX.checked_shr(self.len).unwrap_or(0)
    }
}

/// The key an address has in the tree: IPv4 addresses are `::a.b.c.d` (the test databases
/// have no IPv4-mapped or 6to4 aliases: `::ffff:a.b.c.d` is a different, empty place).
fn tree_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address a log would carry for a tree key: IPv4 for `::a.b.c.d` of an IPv4 network.
fn address(key: u128, len: u32) -> IpAddr {
    if len >= 96 && key >> 32 == 0 {
        IpAddr::V4(Ipv4Addr::from(key as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(key))
    }
}

fn parse_cidr(cidr: &str) -> (u128, u32) {
    let (addr, len) = cidr
        .split_once('/')
        .unwrap_or_else(|| panic!("`{cidr}` is not a network"));
    let len: u32 = len.parse().expect("prefix length");
    let (key, len) = match addr.parse::<IpAddr>().expect("network address") {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), len + 96),
        IpAddr::V6(v6) => (u128::from(v6), len),
    };
    assert!(len <= 128, "{cidr}");
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    (key & mask, len)
}

/// The networks of a JSON source (`[{"<cidr>": record}, …]`), in file order.
fn networks(source: &str) -> Vec<Network> {
    let path = maxmind(&format!("source-data/{source}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Json = serde_json::from_str(&text).unwrap();
    let entries = doc.as_array().expect("a JSON array");
    assert!(!entries.is_empty(), "{} is empty", path.display());
    entries
        .iter()
        .map(|entry| {
            let map = entry.as_object().expect("an object");
            assert_eq!(map.len(), 1, "one network per entry: {entry}");
            let (cidr, record) = map.iter().next().unwrap();
            let (base, len) = parse_cidr(cidr);
            Network {
                cidr: cidr.clone(),
                base,
                len,
                record: record.clone(),
            }
        })
        .collect()
}

/// The record a database built from `networks` holds for `ip`: the most specific network
/// containing it; of equally specific ones (the same network twice), the later one.
fn record_for(networks: &[Network], ip: IpAddr) -> Option<&Network> {
    let key = tree_key(ip);
    networks
        .iter()
        .filter(|n| n.contains(key))
        .max_by_key(|n| n.len)
        .map(|best| {
            networks
                .iter()
                .rev()
                .find(|n| n.len == best.len && n.base == best.base)
                .unwrap()
        })
}

/// An address of `network` that no more specific network covers (the network address, else its
/// last address, else the middle); the network address if there is none (its expectation then
/// comes from the more specific network, see [`record_for`]).
fn probe_address(network: &Network, all: &[Network]) -> IpAddr {
    let covered = |key: u128| all.iter().any(|n| n.len > network.len && n.contains(key));
    let middle = network.base + (network.last() - network.base) / 2;
    let key = [network.base, network.last(), middle]
        .into_iter()
        .find(|k| !covered(*k))
        .unwrap_or(network.base);
    address(key, network.len)
}

/// Private by the `geoip` rules, decided here independently: RFC 1918, 127/8, 169.254/16,
/// 100.64/10, 0.0.0.0, fc00::/7, fe80::/10, ::1, ::, and IPv4-mapped forms of those.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            a == 10
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || a == 127
                || (a == 169 && b == 254)
                || (a == 100 && (64..128).contains(&b))
                || v4 == Ipv4Addr::UNSPECIFIED
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6 == Ipv6Addr::LOCALHOST
                || v6 == Ipv6Addr::UNSPECIFIED
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
        }
    }
}

fn private_object() -> Json {
    json!({"private": true})
}

/// What `geoip` writes for a City/Country record (ECS names, English), `None` if nothing.
fn geo_expected(record: &Json) -> Option<Json> {
    let mut object = Map::new();
    let mut put = |key: &str, value: Option<Json>| {
        if let Some(value) = value {
            object.insert(key.to_string(), value);
        }
    };
    let text = |v: &Json| v.as_str().map(Json::from);
    let english = |v: &Json| text(&v["names"]["en"]);
    put("city_name", english(&record["city"]));
    put("continent_code", text(&record["continent"]["code"]));
    put("continent_name", english(&record["continent"]));
    let country = record["country"]["iso_code"].as_str();
    put("country_iso_code", country.map(Json::from));
    put("country_name", english(&record["country"]));
    if let Some(region) = record["subdivisions"].get(0) {
        let code = match (country, region["iso_code"].as_str()) {
            (Some(c), Some(r)) => Some(Json::from(format!("{c}-{r}"))),
            (None, Some(r)) => Some(Json::from(r)),
            _ => None,
        };
        put("region_iso_code", code);
        put("region_name", english(region));
    }
    put("postal_code", text(&record["postal"]["code"]));
    let location = &record["location"];
    if let (Some(lat), Some(lon)) = (
        location["latitude"].as_f64(),
        location["longitude"].as_f64(),
    ) {
        put("location", Some(json!({"lat": lat, "lon": lon})));
    }
    put("timezone", text(&location["time_zone"]));
    (!object.is_empty()).then_some(Json::Object(object))
}

/// What `geoip` writes for an ASN record, `None` if nothing.
fn asn_expected(record: &Json) -> Option<Json> {
    let mut object = Map::new();
    if let Some(n) = record["autonomous_system_number"].as_u64() {
        object.insert("asn".into(), Json::from(n));
    }
    if let Some(org) = record["autonomous_system_organization"].as_str() {
        object.insert("as_org".into(), Json::from(org));
    }
    (!object.is_empty()).then_some(Json::Object(object))
}

/// A database's JSON source with the way its records become `geoip` objects.
struct Db {
    networks: Vec<Network>,
    expected: fn(&Json) -> Option<Json>,
}

impl Db {
    fn geo(source: &str) -> Self {
        Self {
            networks: networks(source),
            expected: geo_expected,
        }
    }

    fn asn(source: &str) -> Self {
        Self {
            networks: networks(source),
            expected: asn_expected,
        }
    }

    /// What one `geoip` transform on this database writes for `ip` (`None`: nothing).
    fn expect(&self, ip: IpAddr) -> Option<Json> {
        if is_private(ip) {
            return Some(private_object());
        }
        record_for(&self.networks, ip).and_then(|n| (self.expected)(&n.record))
    }
}

/// Two `geoip` transforms writing the same field: the second's keys merged into the first's.
fn merged(first: Option<Json>, second: Option<Json>) -> Option<Json> {
    match (first, second) {
        (Some(Json::Object(mut a)), Some(Json::Object(b))) => {
            a.extend(b);
            Some(Json::Object(a))
        }
        (a, b) => a.or(b),
    }
}

// ---------------------------------------------------------------------------------------------
// ALB lines, pipelines, outputs.

fn corpus(path: &str) -> PathBuf {
    workspace_root().join("../shared/corpus").join(path)
}

/// The documented ALB `http` line, whose client and request URL [`alb_line`] replaces.
fn alb_template() -> String {
    let path = corpus("alb/docs/http.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line = text.lines().next().expect("one ALB line").to_string();
    assert!(line.contains(" 192.168.131.39:2817 "), "{line}");
    assert!(
        line.contains("\"GET http://www.example.com:80/ HTTP/1.1\""),
        "{line}"
    );
    line
}

/// ALB line number `n` (its URL path is `/line-<n>`) from client `ip` (`[v6]:port` for IPv6,
/// as ALB writes it).
fn alb_line(template: &str, n: usize, ip: IpAddr) -> String {
    let client = match ip {
        IpAddr::V4(v4) => format!("{v4}:2817"),
        IpAddr::V6(v6) => format!("[{v6}]:2817"),
    };
    template
        .replacen("192.168.131.39:2817", &client, 1)
        .replacen(
            "http://www.example.com:80/ HTTP",
            &format!("http://www.example.com:80/line-{n:09} HTTP"),
            1,
        )
}

/// The line number an output event came from (its `request_url`).
fn line_number(event: &Json) -> usize {
    let url = event["request_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no request_url: {event}"));
    let pos = url
        .find("line-")
        .unwrap_or_else(|| panic!("no line number: {url}"));
    url[pos + 5..pos + 14].parse().expect("line number")
}

/// The JSON lines of a file (none if it does not exist yet; a partly written last line is left
/// out).
fn json_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Output events by line number; panics on a duplicate.
fn by_line(events: Vec<Json>, what: &str) -> BTreeMap<usize, Json> {
    let mut out = BTreeMap::new();
    for event in events {
        let n = line_number(&event);
        if let Some(previous) = out.insert(n, event) {
            panic!("{what}: line {n} came out twice (first {previous})");
        }
    }
    out
}

fn toml_string(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

fn mmdb_table(name: &str, path: &Path) -> String {
    format!(
        "[enrichment_tables.{name}]\ntype = \"mmdb\"\npath = {}\n\n",
        toml_string(path)
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Every network of the City, Country and ASN test databases.

/// For every network of GeoIP2-City-Test, GeoIP2-Country-Test and GeoLite2-ASN-Test (and a set
/// of private addresses), an ALB line from an address in it goes through file → aws_parse →
/// geoip (City, then ASN on the same field) and → geoip (Country, to another field); each event's
/// objects equal what the JSON sources say about its address in each database.
#[test]
fn every_network_of_the_test_databases_is_found_through_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let city = Db::geo("GeoIP2-City-Test.json");
    let country = Db::geo("GeoIP2-Country-Test.json");
    let asn = Db::asn("GeoLite2-ASN-Test.json");
    let template = alb_template();

    // One line per network of each database, then private addresses.
    let mut probes: Vec<(String, IpAddr)> = Vec::new();
    for (name, db) in [("city", &city), ("country", &country), ("asn", &asn)] {
        for network in &db.networks {
            let ip = probe_address(network, &db.networks);
            probes.push((format!("{name} {}", network.cidr), ip));
        }
    }
    let private: Vec<IpAddr> = [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.131.39",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fc00::7",
        "fe80::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    for ip in &private {
        assert!(is_private(*ip), "{ip}");
        probes.push((format!("private {ip}"), *ip));
    }
    // Public addresses next to the private ranges, and one in no database.
    for ip in ["100.128.0.1", "172.32.0.1", "11.0.0.1", "2001:db8::1"] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(!is_private(ip), "{ip}");
        probes.push((format!("public {ip}"), ip));
    }

    let input = dir.path().join("alb.log");
    let mut text = String::new();
    for (n, (_, ip)) in probes.iter().enumerate() {
        text.push_str(&alb_line(&template, n, *ip));
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();

    let d = dir.path();
    let pipeline = format!(
        "data_dir = {data}\napi.enabled = false\n\n{city}{country}{asn}\
         [sources.in]\ntype = \"file\"\ninclude = [{input}]\nignore_checkpoints = true\n\n\
         [transforms.parse]\ntype = \"aws_parse\"\ninputs = [\"in\"]\n\n\
         [transforms.city]\ntype = \"geoip\"\ninputs = [\"parse\"]\ntable = \"city\"\nfields = [\"client_ip\"]\n\n\
         [transforms.asn]\ntype = \"geoip\"\ninputs = [\"city\"]\ntable = \"asn\"\nfields = [\"client_ip\"]\nlocale = \"en\"\n\n\
         [transforms.country]\ntype = \"geoip\"\ninputs = [\"parse\"]\ntable = \"country\"\nfields = {{ client_ip = \"country_geo\" }}\n\n\
         [sinks.out_city_asn]\ntype = \"file\"\ninputs = [\"asn\"]\npath = {city_out}\n\n\
         [sinks.out_country]\ntype = \"file\"\ninputs = [\"country\"]\npath = {country_out}\n\n\
         [sinks.unparsed]\ntype = \"file\"\ninputs = [\"parse.errors\"]\npath = {errors_out}\n",
        data = toml_string(&d.join("data")),
        city = mmdb_table("city", &test_db("GeoIP2-City-Test.mmdb")),
        country = mmdb_table("country", &test_db("GeoIP2-Country-Test.mmdb")),
        asn = mmdb_table("asn", &test_db("GeoLite2-ASN-Test.mmdb")),
        input = toml_string(&input),
        city_out = toml_string(&d.join("city_asn.ndjson")),
        country_out = toml_string(&d.join("country.ndjson")),
        errors_out = toml_string(&d.join("unparsed.ndjson")),
    );
    std::fs::write(d.join("pipeline.toml"), pipeline).unwrap();
    let mut weir = Weir::start(
        d,
        &["run", "--once", "--no-watch", "-c", "pipeline.toml"],
        &[],
    );
    let status = weir.wait(Duration::from_secs(180));
    let log = weir.log_text();
    assert!(status.success(), "weir failed: {status:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");

    let unparsed = json_lines(&d.join("unparsed.ndjson"));
    assert!(unparsed.is_empty(), "lines aws_parse refused: {unparsed:?}");
    let city_asn = by_line(json_lines(&d.join("city_asn.ndjson")), "city_asn");
    let by_country = by_line(json_lines(&d.join("country.ndjson")), "country");
    assert_eq!(city_asn.len(), probes.len(), "city_asn events\n{log}");
    assert_eq!(by_country.len(), probes.len(), "country events\n{log}");

    let mut failures = Vec::new();
    // Per database whose networks the probes come from: (checked, found, private, nothing).
    let mut counts: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (n, (what, ip)) in probes.iter().enumerate() {
        let origin = what.split(' ').next().unwrap();
        let (a, b) = (&city_asn[&n], &by_country[&n]);
        for event in [a, b] {
            let got = event["client_ip"].as_str().unwrap_or_default();
            if got.parse::<IpAddr>().ok() != Some(*ip) {
                failures.push(format!("line {n} ({what}): client_ip {got:?}, sent {ip}"));
            }
        }
        let want_city_asn = merged(city.expect(*ip), asn.expect(*ip));
        let want_country = country.expect(*ip);
        let got_city_asn = a.get("client_ip_geo").cloned();
        let got_country = b.get("country_geo").cloned();
        if got_city_asn != want_city_asn {
            failures.push(format!(
                "line {n} ({what}, {ip}): City+ASN\n  got  {got_city_asn:?}\n  want {want_city_asn:?}"
            ));
        }
        if got_country != want_country {
            failures.push(format!(
                "line {n} ({what}, {ip}): Country\n  got  {got_country:?}\n  want {want_country:?}"
            ));
        }
        if b.get("client_ip_geo").is_some() || a.get("country_geo").is_some() {
            failures.push(format!("line {n}: a branch got the other branch's field"));
        }
        // The database the probe was drawn from must know its own network.
        let own = match origin {
            "city" => city.expect(*ip),
            "country" => want_country.clone(),
            "asn" => asn.expect(*ip),
            _ => want_city_asn.clone(),
        };
        let slot = counts.entry(origin).or_default();
        slot[0] += 1;
        match own {
            Some(o) if o == private_object() => slot[2] += 1,
            Some(_) => slot[1] += 1,
            None => slot[3] += 1,
        }
    }
    for db in ["city", "country", "asn"] {
        let [checked, found, _, nothing] = counts[db];
        // A network of the database whose record gives no field would make the check vacuous.
        assert!(
            found + 5 >= checked && nothing <= 5,
            "{db}: {checked} networks, only {found} with data"
        );
    }
    assert_eq!(counts["private"][2], private.len());
    eprintln!(
        "checked (probes, with data, private, none) by origin: {counts:?}; networks: City {}, Country {}, ASN {}",
        city.networks.len(),
        country.networks.len(),
        asn.networks.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} lines differ:\n{}",
        failures.len(),
        probes.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Running pipelines: metrics, appended input, delivered output.

const RELOADS: &str = "weir_enrichment_table_reloads_total";
const RELOAD_ERRORS: &str = "weir_enrichment_table_reload_errors_total";

/// Panics with the log if the process has exited.
fn assert_alive(weir: &mut Weir) {
    if let Some(status) = weir.child.try_wait().expect("try_wait") {
        panic!("weir exited ({status}):\n{}", weir.log_text());
    }
}

/// Waits (up to 60 s) until the API answers with both tables' reload counters.
fn wait_tables_up(port: u16, tables: &[&str], weir: &mut Weir) {
    let text = wait_for_metrics(port, Duration::from_secs(60), |t| {
        tables
            .iter()
            .all(|table| metric(t, RELOADS, &[("table", table)]).is_some())
    });
    assert_alive(weir);
    for table in tables {
        assert_eq!(
            metric(&text, RELOADS, &[("table", table)]),
            Some(0.0),
            "table {table}: {text}\n{}",
            weir.log_text()
        );
        assert_eq!(metric(&text, RELOAD_ERRORS, &[("table", table)]), Some(0.0));
    }
}

/// What a reload attempt of one table did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reload {
    Swapped,
    Refused,
}

/// The `(reloads, reload errors)` counters of `table`.
fn counters(port: u16, table: &str) -> (f64, f64) {
    let text = http_get(port, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    (
        metric(&text, RELOADS, &[("table", table)]).unwrap_or(f64::NAN),
        metric(&text, RELOAD_ERRORS, &[("table", table)]).unwrap_or(f64::NAN),
    )
}

/// Waits (up to `timeout`) until one of `table`'s counters moved past `before`; which one.
/// Panics if both moved or the process exits.
fn wait_reload(
    port: u16,
    table: &str,
    before: (f64, f64),
    timeout: Duration,
    weir: &mut Weir,
    what: &str,
) -> Reload {
    let deadline = Instant::now() + timeout;
    loop {
        assert_alive(weir);
        let now = counters(port, table);
        match (now.0 > before.0, now.1 > before.1) {
            (true, false) => {
                assert_eq!(now.0, before.0 + 1.0, "{what}: more than one reload");
                return Reload::Swapped;
            }
            (false, true) => {
                assert_eq!(now.1, before.1 + 1.0, "{what}: more than one error");
                return Reload::Refused;
            }
            (true, true) => {
                panic!("{what}: {table} both reloaded and refused: {before:?} → {now:?}")
            }
            (false, false) => {}
        }
        assert!(
            Instant::now() < deadline,
            "{what}: table {table} neither reloaded nor refused within {timeout:?} (counters {now:?})\n{}",
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Replaces `path` the way deploy tools do: a new file renamed over it.
fn replace_by_rename(path: &Path, bytes: &[u8]) {
    let temp = path.with_file_name(format!(
        ".{}.new",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&temp, bytes).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// The input file the test appends numbered ALB lines to, and what each line should become.
struct Input {
    path: PathBuf,
    template: String,
    /// Per line: the client address, the expected geo object (`None`: no field; outer `None`:
    /// not checked, the table was a "bad" database that verified) and the expected `owner`.
    lines: Vec<(IpAddr, Option<Option<Json>>, Option<Json>)>,
}

impl Input {
    fn new(path: PathBuf) -> Self {
        std::fs::write(&path, "").unwrap();
        Self {
            path,
            template: alb_template(),
            lines: Vec::new(),
        }
    }

    /// Appends one line per address; returns how many lines the file has now.
    fn append(
        &mut self,
        ips: &[IpAddr],
        geo: impl Fn(IpAddr) -> Option<Option<Json>>,
        owner: Option<Json>,
    ) -> usize {
        let mut text = String::new();
        for ip in ips {
            let n = self.lines.len();
            text.push_str(&alb_line(&self.template, n, *ip));
            text.push('\n');
            self.lines.push((*ip, geo(*ip), owner.clone()));
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file.flush().unwrap();
        self.lines.len()
    }
}

/// Waits (up to 60 s) until lines `0..count` are all in `out`; the events by line number.
fn wait_delivered(out: &Path, count: usize, weir: &mut Weir) -> BTreeMap<usize, Json> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = by_line(json_lines(out), "out");
        if (0..count).all(|n| events.contains_key(&n)) {
            return events;
        }
        assert_alive(weir);
        assert!(
            Instant::now() < deadline,
            "lines {:?} of 0..{count} never arrived\n{}",
            (0..count)
                .filter(|n| !events.contains_key(n))
                .take(5)
                .collect::<Vec<_>>(),
            weir.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks every delivered line against its expectation.
fn check_lines(input: &Input, events: &BTreeMap<usize, Json>, geo_field: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for (n, (ip, geo, owner)) in input.lines.iter().enumerate() {
        let Some(event) = events.get(&n) else {
            failures.push(format!("line {n}: missing"));
            continue;
        };
        if let Some(geo) = geo {
            let got = event.get(geo_field).cloned();
            if got != *geo {
                failures.push(format!(
                    "line {n} ({ip}): {geo_field}\n  got  {got:?}\n  want {geo:?}"
                ));
            }
        }
        let got = event.get("owner").cloned();
        if got != *owner {
            failures.push(format!("line {n}: owner\n  got  {got:?}\n  want {owner:?}"));
        }
    }
    failures
}

/// Lines of the log that report a refused table reload.
fn refusals(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("enrichment table not reloaded"))
        .collect()
}

/// Probe addresses (one IPv4, one IPv6) that every one of `dbs` answers, each differently
/// from the one before it in the list (the order the tables are swapped in).
fn probes_differing(dbs: &[&Db]) -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = Vec::new();
    for want_v4 in [true, false] {
        let ip = dbs
            .iter()
            .flat_map(|db| db.networks.iter().map(|n| probe_address(n, &db.networks)))
            .filter(|ip| ip.is_ipv4() == want_v4 && !is_private(*ip))
            .find(|ip| {
                let answers: Vec<Option<Json>> = dbs.iter().map(|db| db.expect(*ip)).collect();
                answers.iter().all(Option::is_some) && answers.windows(2).all(|w| w[0] != w[1])
            })
            .unwrap_or_else(|| {
                panic!(
                    "no address (IPv4: {want_v4}) that each database answers unlike the one before"
                )
            });
        found.push(ip);
    }
    found
}

/// Expectations from `db` for [`Input::append`].
fn geo_of(db: &Db) -> impl Fn(IpAddr) -> Option<Option<Json>> + '_ {
    move |ip| Some(db.expect(ip))
}

fn owners_csv(team: &str, weight: &str) -> String {
    format!(
        "elb,team,weight\napp/my-loadbalancer/50dc6c495c0c9188,{team},{weight}\napp/other-lb/1,other,9\n"
    )
}

fn owner(team: &str, weight: i64) -> Option<Json> {
    Some(json!({"team": team, "weight": weight}))
}

/// The enriching part of the running pipelines: aws_parse → geoip (`geo`) → lookup (`owners`)
/// → file sink `out`.
fn enrich_to_file(input: &Path, out: &Path) -> String {
    format!(
        "[sources.in]\ntype = \"file\"\ninclude = [{input}]\nglob_interval_ms = 200\n\n\
         [transforms.parse]\ntype = \"aws_parse\"\ninputs = [\"in\"]\n\n\
         [transforms.geo]\ntype = \"geoip\"\ninputs = [\"parse\"]\ntable = \"geo\"\nfields = [\"client_ip\"]\n\n\
         [transforms.owner]\ntype = \"lookup\"\ninputs = [\"geo\"]\ntable = \"owners\"\nkeys = {{ elb = \"elb\" }}\n\
         select = [\"team\", \"weight\"]\ntarget = \"owner\"\n\n\
         [sinks.out]\ntype = \"file\"\ninputs = [\"owner\"]\npath = {out}\n",
        input = toml_string(input),
        out = toml_string(out),
    )
}

/// Every file below `dir`, sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// 2. Local tables replaced under a running pipeline.

/// A running pipeline (no `--once`) with an `mmdb` and a `csv` table: lines appended in phases
/// between replacements of the tables carry the table that was in use when they were read.
/// Good replacements (by rename and in place) are swapped in; every bad database of MaxMind's
/// test data, the broken test databases, a truncated database, a deleted file and CSV files
/// with a bad cell, a ragged row or a missing column are refused (or, for a "bad" database that
/// verifies, swapped in and observed) while the process keeps enriching with the last good
/// table; every line comes out exactly once; SIGTERM ends the process with exit 0.
#[test]
fn local_tables_reload_good_files_and_refuse_bad_ones_without_losing_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let city = Db::geo("GeoIP2-City-Test.json");
    let lite = Db::geo("GeoLite2-City-Test.json");
    let country = Db::geo("GeoIP2-Country-Test.json");
    // The order the database is swapped in: City, Country, GeoLite2-City, (bad ones), Country.
    let probes = probes_differing(&[&city, &country, &lite, &country]);
    let city_db = std::fs::read(test_db("GeoIP2-City-Test.mmdb")).unwrap();
    let lite_path = test_db("GeoLite2-City-Test.mmdb");
    let lite_db = std::fs::read(&lite_path).unwrap();
    let country_db = std::fs::read(test_db("GeoIP2-Country-Test.mmdb")).unwrap();
    let mut bad_files = files_below(&maxmind("bad-data"));
    assert!(
        bad_files.len() >= 20,
        "bad-data has {} files",
        bad_files.len()
    );
    for name in [
        "MaxMind-DB-test-broken-pointers-24.mmdb",
        "MaxMind-DB-test-broken-search-tree-24.mmdb",
        "GeoIP2-City-Test-Broken-Double-Format.mmdb",
        "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
    ] {
        bad_files.push(test_db(name));
    }

    let tables = d.join("tables");
    std::fs::create_dir(&tables).unwrap();
    let geo_path = tables.join("geo.mmdb");
    let csv_path = tables.join("owners.csv");
    std::fs::write(&geo_path, &city_db).unwrap();
    std::fs::write(&csv_path, owners_csv("payments", "1")).unwrap();
    let mut input = Input::new(d.join("input.log"));
    let out = d.join("out").join("events.ndjson");
    let port = free_port();
    let pipeline = format!(
        "data_dir = \"data\"\n[api]\naddress = \"127.0.0.1:{port}\"\n\n{geo}\
         [enrichment_tables.owners]\ntype = \"csv\"\npath = {csv}\nschema = {{ weight = \"integer\" }}\n\n{rest}",
        geo = mmdb_table("geo", &geo_path),
        csv = toml_string(&csv_path),
        rest = enrich_to_file(&input.path, &out),
    );
    std::fs::write(d.join("pipeline.toml"), pipeline).unwrap();
    let mut weir = Weir::start(d, &["run", "-c", "pipeline.toml"], &[]);
    wait_tables_up(port, &["geo", "owners"], &mut weir);
    let mut failures = Vec::new();

    // Phase 0: the tables as started.
    let mut count = input.append(&probes.repeat(3), geo_of(&city), owner("payments", 1));
    wait_delivered(&out, count, &mut weir);

    // Phase 1: both replaced by rename.
    let (geo0, csv0) = (counters(port, "geo"), counters(port, "owners"));
    replace_by_rename(&geo_path, &country_db);
    replace_by_rename(&csv_path, owners_csv("checkout", "2").as_bytes());
    let what = "GeoIP2-Country by rename";
    assert_eq!(
        wait_reload(port, "geo", geo0, Duration::from_secs(30), &mut weir, what),
        Reload::Swapped
    );
    let what = "owners.csv by rename";
    assert_eq!(
        wait_reload(
            port,
            "owners",
            csv0,
            Duration::from_secs(30),
            &mut weir,
            what
        ),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(3), geo_of(&country), owner("checkout", 2));
    wait_delivered(&out, count, &mut weir);

    // Phase 2: the database rewritten in place (`cp new.mmdb geo.mmdb`): one reload once the
    // writes settle.
    let geo1 = counters(port, "geo");
    std::fs::copy(&lite_path, &geo_path).unwrap();
    let what = "GeoLite2-City in place";
    assert_eq!(
        wait_reload(port, "geo", geo1, Duration::from_secs(30), &mut weir, what),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(3), geo_of(&lite), owner("checkout", 2));
    wait_delivered(&out, count, &mut weir);

    // Phase 3: bad databases, each renamed over the table; the GeoLite2-City table stays in use.
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    let mut bad_cases: Vec<(String, Option<Vec<u8>>)> = bad_files
        .iter()
        .map(|p| {
            let name = p
                .strip_prefix(maxmind(""))
                .unwrap_or(p)
                .display()
                .to_string();
            (name, Some(std::fs::read(p).unwrap()))
        })
        .collect();
    bad_cases.push((
        "GeoIP2-Country-Test.mmdb truncated to half".into(),
        Some(country_db[..country_db.len() / 2].to_vec()),
    ));
    bad_cases.push((
        "GeoIP2-Country-Test.mmdb without its last byte".into(),
        Some(country_db[..country_db.len() - 1].to_vec()),
    ));
    bad_cases.push(("an empty file".into(), Some(Vec::new())));
    bad_cases.push(("the file deleted".into(), None));
    for (name, bytes) in &bad_cases {
        let before = counters(port, "geo");
        let refusals_before = refusals(&weir.log_text()).len();
        match bytes {
            Some(bytes) => replace_by_rename(&geo_path, bytes),
            None => std::fs::remove_file(&geo_path).unwrap(),
        }
        let result = wait_reload(
            port,
            "geo",
            before,
            Duration::from_secs(60),
            &mut weir,
            name,
        );
        match result {
            Reload::Refused => {
                let log = weir.log_text();
                let lines = refusals(&log);
                match lines.get(refusals_before..) {
                    Some([line]) => {
                        let location = format!("location=\"{}\"", geo_path.display());
                        let clear = line.contains("ERROR")
                            && line.contains("table=\"geo\"")
                            && line.contains(&location)
                            && line.contains("error=");
                        if !clear {
                            failures.push(format!("{name}: not a clear error: {line}"));
                        }
                        if bytes.is_none() && !line.contains("cannot read") {
                            failures.push(format!("{name}: {line}"));
                        }
                        refused.push(format!(
                            "{name}: {}",
                            line.split("error=").nth(1).unwrap_or(line)
                        ));
                    }
                    other => failures.push(format!("{name}: refusals logged: {other:?}")),
                }
                count = input.append(&probes, geo_of(&lite), owner("checkout", 2));
                wait_delivered(&out, count, &mut weir);
            }
            Reload::Swapped => {
                // It verified: events must still flow (whatever the lookups find); then the
                // good table goes back.
                accepted.push(name.clone());
                count = input.append(&probes, |_| None, owner("checkout", 2));
                wait_delivered(&out, count, &mut weir);
                let before = counters(port, "geo");
                replace_by_rename(&geo_path, &lite_db);
                let what = format!("the GeoLite2-City database back after {name}");
                assert_eq!(
                    wait_reload(
                        port,
                        "geo",
                        before,
                        Duration::from_secs(30),
                        &mut weir,
                        &what
                    ),
                    Reload::Swapped
                );
            }
        }
    }

    // Phase 4: a good database after the refusals is swapped in again.
    let geo4 = counters(port, "geo");
    replace_by_rename(&geo_path, &country_db);
    let what = "GeoIP2-Country after the bad files";
    assert_eq!(
        wait_reload(port, "geo", geo4, Duration::from_secs(30), &mut weir, what),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(2), geo_of(&country), owner("checkout", 2));
    wait_delivered(&out, count, &mut weir);

    // Phase 5: bad CSV files keep the `checkout` table; a good one after them is taken.
    let csv_cases: Vec<(&str, Option<String>)> = vec![
        (
            "a bad integer cell",
            Some(owners_csv("broken", "2").replace("other,9", "other,abc")),
        ),
        (
            "a ragged row",
            Some(owners_csv("broken", "2") + "app/x,only-two\n"),
        ),
        (
            "a missing schema column",
            Some("elb,team\napp/my-loadbalancer/50dc6c495c0c9188,broken\n".into()),
        ),
        ("an unterminated quote", Some(owners_csv("\"broken", "2"))),
        ("the file deleted", None),
    ];
    for (name, text) in &csv_cases {
        let before = counters(port, "owners");
        let refusals_before = refusals(&weir.log_text()).len();
        match text {
            Some(text) => replace_by_rename(&csv_path, text.as_bytes()),
            None => std::fs::remove_file(&csv_path).unwrap(),
        }
        let what = format!("owners.csv with {name}");
        let result = wait_reload(
            port,
            "owners",
            before,
            Duration::from_secs(30),
            &mut weir,
            &what,
        );
        if result != Reload::Refused {
            failures.push(format!("{what}: swapped in"));
        }
        let log = weir.log_text();
        match refusals(&log).get(refusals_before..) {
            Some([line])
                if line.contains("ERROR")
                    && line.contains("table=\"owners\"")
                    && line.contains(&format!("location=\"{}\"", csv_path.display())) =>
            {
                refused.push(format!(
                    "{what}: {}",
                    line.split("error=").nth(1).unwrap_or(line)
                ))
            }
            other => failures.push(format!("{what}: refusals logged: {other:?}")),
        }
        count = input.append(&probes, geo_of(&country), owner("checkout", 2));
        wait_delivered(&out, count, &mut weir);
    }
    let csv5 = counters(port, "owners");
    replace_by_rename(&csv_path, owners_csv("platform", "3").as_bytes());
    let what = "owners.csv after the bad files";
    assert_eq!(
        wait_reload(
            port,
            "owners",
            csv5,
            Duration::from_secs(30),
            &mut weir,
            what
        ),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(2), geo_of(&country), owner("platform", 3));
    let events = wait_delivered(&out, count, &mut weir);

    let metrics = http_get(port, "/metrics")
        .map(|(_, t)| t)
        .unwrap_or_default();
    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    assert!(
        status.success(),
        "weir did not exit cleanly: {status:?}\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");

    // Every line once, each with the tables of its phase.
    let events_after = by_line(json_lines(&out), "out");
    let numbers: Vec<usize> = events_after.keys().copied().collect();
    let (missing, duplicates) = missing_and_duplicates(&numbers, count);
    assert!(
        missing.is_empty() && duplicates == 0,
        "missing {missing:?}, {duplicates} duplicates"
    );
    assert_eq!(events_after.len(), count, "events out vs lines in");
    assert_eq!(json_lines(&out).len(), count, "output lines vs input lines");
    assert_eq!(events_after, events);
    failures.extend(check_lines(&input, &events_after, "client_ip_geo"));

    // The counters agree with what was done.
    let geo_reloads = 3.0 + 2.0 * accepted.len() as f64;
    let geo_errors = (bad_cases.len() - accepted.len()) as f64;
    let pairs = [
        (RELOADS, "geo", geo_reloads),
        (RELOAD_ERRORS, "geo", geo_errors),
        (RELOADS, "owners", 2.0),
        (RELOAD_ERRORS, "owners", csv_cases.len() as f64),
    ];
    for (name, table, want) in pairs {
        let got = metric(&metrics, name, &[("table", table)]);
        if got != Some(want) {
            failures.push(format!("{name}{{table={table}}} = {got:?}, want {want}"));
        }
    }
    assert_eq!(
        refusals(&log).len() as f64,
        geo_errors + csv_cases.len() as f64,
        "{log}"
    );
    let geo_lookups: f64 = ["found", "not_found", "private", "invalid", "failed"]
        .iter()
        .map(|r| metric(&metrics, "weir_geoip_lookups_total", &[("result", r)]).unwrap_or(0.0))
        .sum();
    let found = metric(
        &metrics,
        "weir_lookup_lookups_total",
        &[("result", "found")],
    );
    if geo_lookups != count as f64 || found != Some(count as f64) {
        failures.push(format!(
            "lookups: geoip {geo_lookups}, lookup found {found:?}; {count} lines"
        ));
    }
    let unchecked = input.lines.iter().filter(|l| l.1.is_none()).count();
    eprintln!(
        "reload: {count} lines ({unchecked} not checked for geo), probes {probes:?}; {} bad cases refused, {} accepted {accepted:?}:\n  {}",
        refused.len() - csv_cases.len(),
        accepted.len(),
        refused.join("\n  ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 3. `s3://` tables on moto.

/// An S3 client on a private moto server.
struct S3 {
    moto: weir_tests::services::Service,
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
}

impl S3 {
    fn start() -> Self {
        let moto = moto();
        let rt = weir_tests::runtime();
        let sdk = sdk_config(&rt, &moto.url());
        let client = weir_tests::moto_aws::s3_client(&sdk);
        Self { moto, rt, client }
    }

    fn bucket(&self, name: &str) {
        self.rt.block_on(async {
            self.client
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .expect("create bucket");
        });
    }

    fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.rt.block_on(async {
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
                .send()
                .await
                .expect("put object");
        });
    }

    fn delete(&self, bucket: &str, key: &str) {
        self.rt.block_on(async {
            self.client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("delete object");
        });
    }
}

fn s3_table(name: &str, kind: &str, url: &str, endpoint: &str, extra: &str) -> String {
    format!(
        "[enrichment_tables.{name}]\ntype = \"{kind}\"\npath = \"{url}\"\nregion = \"{REGION}\"\n\
         endpoint = \"{endpoint}\"\nrefresh_secs = 1\n{extra}\n"
    )
}

/// `s3://` tables on moto: a missing object is an error at start; changed objects are picked up
/// by the ETag poll (`refresh_secs = 1`) and reach the events read after; corrupt objects keep
/// the table in use, are counted once and not read again until they change; a good object after
/// them is taken; a deleted object keeps the table.
#[test]
fn s3_tables_follow_their_objects_and_refuse_corrupt_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s3 = S3::start();
    s3.bucket("tables");
    let endpoint = s3.moto.url();
    let city = Db::geo("GeoIP2-City-Test.json");
    let lite = Db::geo("GeoLite2-City-Test.json");
    let country = Db::geo("GeoIP2-Country-Test.json");
    // The order the database object changes: City, Country, (corrupt), GeoLite2-City.
    let probes = probes_differing(&[&city, &country, &lite]);
    let city_db = std::fs::read(test_db("GeoIP2-City-Test.mmdb")).unwrap();
    let lite_db = std::fs::read(test_db("GeoLite2-City-Test.mmdb")).unwrap();
    let country_db = std::fs::read(test_db("GeoIP2-Country-Test.mmdb")).unwrap();
    let schema = "schema = { weight = \"integer\" }\n";

    // A table whose object does not exist cannot start the pipeline.
    let input_path = d.join("input.log");
    let out = d.join("out").join("events.ndjson");
    let missing = s3_table("geo", "mmdb", "s3://tables/missing.mmdb", &endpoint, "")
        + &s3_table("owners", "csv", "s3://tables/owners.csv", &endpoint, schema)
        + &enrich_to_file(&input_path, &out);
    s3.put(
        "tables",
        "owners.csv",
        owners_csv("payments", "1").as_bytes(),
    );
    std::fs::write(d.join("missing.toml"), &missing).unwrap();
    let output = Command::new(weir_bin())
        .args(["validate", "missing.toml"])
        .current_dir(d)
        .envs(WEIR_ENV)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let line = line_of(&missing, "geo", "path");
    assert!(
        stderr.contains(&format!("missing.toml:{line}:"))
            && stderr.contains("`enrichment_tables.geo.path`")
            && stderr.contains("s3://tables/missing.mmdb"),
        "{stderr}"
    );

    s3.put("tables", "geo.mmdb", &city_db);
    let port = free_port();
    let pipeline = format!(
        "data_dir = \"data\"\n[api]\naddress = \"127.0.0.1:{port}\"\n\n{}{}{}",
        s3_table("geo", "mmdb", "s3://tables/geo.mmdb", &endpoint, ""),
        s3_table("owners", "csv", "s3://tables/owners.csv", &endpoint, schema),
        enrich_to_file(&input_path, &out),
    );
    std::fs::write(d.join("pipeline.toml"), pipeline).unwrap();
    let mut input = Input::new(input_path);
    let mut weir = Weir::start(d, &["run", "-c", "pipeline.toml"], &WEIR_ENV);
    wait_tables_up(port, &["geo", "owners"], &mut weir);
    let mut count = input.append(&probes.repeat(2), geo_of(&city), owner("payments", 1));
    wait_delivered(&out, count, &mut weir);
    // The first ETag check must have happened before the objects change (it follows the
    // start at once; a poll interval later it has surely run).
    std::thread::sleep(Duration::from_millis(1500));

    // New objects: both swapped in within a few polls.
    let (geo0, csv0) = (counters(port, "geo"), counters(port, "owners"));
    s3.put("tables", "geo.mmdb", &country_db);
    s3.put(
        "tables",
        "owners.csv",
        owners_csv("checkout", "2").as_bytes(),
    );
    let wait = Duration::from_secs(30);
    assert_eq!(
        wait_reload(port, "geo", geo0, wait, &mut weir, "new geo object"),
        Reload::Swapped
    );
    assert_eq!(
        wait_reload(port, "owners", csv0, wait, &mut weir, "new owners object"),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(2), geo_of(&country), owner("checkout", 2));
    wait_delivered(&out, count, &mut weir);

    // Corrupt objects: refused once each, the tables in use stay.
    let (geo1, csv1) = (counters(port, "geo"), counters(port, "owners"));
    let refusals_before = refusals(&weir.log_text()).len();
    s3.put("tables", "geo.mmdb", &lite_db[..lite_db.len() / 2]);
    s3.put(
        "tables",
        "owners.csv",
        owners_csv("broken", "2")
            .replace("other,9", "other,nine")
            .as_bytes(),
    );
    assert_eq!(
        wait_reload(port, "geo", geo1, wait, &mut weir, "truncated geo object"),
        Reload::Refused
    );
    assert_eq!(
        wait_reload(port, "owners", csv1, wait, &mut weir, "bad owners object"),
        Reload::Refused
    );
    count = input.append(&probes.repeat(2), geo_of(&country), owner("checkout", 2));
    wait_delivered(&out, count, &mut weir);
    // Three more polls of the unchanged corrupt objects: not read (nor counted) again.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(counters(port, "geo"), (geo1.0, geo1.1 + 1.0));
    assert_eq!(counters(port, "owners"), (csv1.0, csv1.1 + 1.0));
    let log = weir.log_text();
    let new_refusals = &refusals(&log)[refusals_before..];
    assert_eq!(new_refusals.len(), 2, "{new_refusals:?}");
    assert!(
        new_refusals.iter().any(|l| l.contains("ERROR")
            && l.contains("table=\"geo\"")
            && l.contains("location=\"s3://tables/geo.mmdb\"")),
        "{new_refusals:?}"
    );
    assert!(
        new_refusals.iter().any(|l| l.contains("ERROR")
            && l.contains("table=\"owners\"")
            && l.contains("location=\"s3://tables/owners.csv\"")
            && l.contains("`nine` is not an integer")),
        "{new_refusals:?}"
    );

    // Good objects after the corrupt ones are taken.
    let (geo2, csv2) = (counters(port, "geo"), counters(port, "owners"));
    s3.put("tables", "geo.mmdb", &lite_db);
    s3.put(
        "tables",
        "owners.csv",
        owners_csv("platform", "3").as_bytes(),
    );
    assert_eq!(
        wait_reload(port, "geo", geo2, wait, &mut weir, "good geo object"),
        Reload::Swapped
    );
    assert_eq!(
        wait_reload(port, "owners", csv2, wait, &mut weir, "good owners object"),
        Reload::Swapped
    );
    count = input.append(&probes.repeat(2), geo_of(&lite), owner("platform", 3));
    wait_delivered(&out, count, &mut weir);

    // A deleted object: the table in use stays; the failure is counted once, not at every check.
    let geo3 = counters(port, "geo");
    s3.delete("tables", "geo.mmdb");
    std::thread::sleep(Duration::from_secs(3));
    let geo4 = counters(port, "geo");
    assert_eq!(geo4.0, geo3.0, "a deleted object reloaded the table");
    assert_eq!(geo4.1, geo3.1 + 1.0, "a deleted object is one reload error");
    count = input.append(&probes.repeat(2), geo_of(&lite), owner("platform", 3));
    let events = wait_delivered(&out, count, &mut weir);

    weir.signal(libc::SIGTERM);
    let status = weir.wait(Duration::from_secs(30));
    let log = weir.log_text();
    assert!(
        status.success(),
        "weir did not exit cleanly: {status:?}\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(json_lines(&out).len(), count, "output lines vs input lines");
    let failures = check_lines(&input, &events, "client_ip_geo");
    let deleted_errors = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("geo.mmdb") && l.contains("not reloaded"))
        .count();
    eprintln!(
        "s3: {count} lines; after deleting the object: reload errors {} → {}, {deleted_errors} error lines",
        geo3.1, geo4.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 4. Tables that cannot be read at start.

/// The 1-based line of key `key` of `[enrichment_tables.<table>]` in a TOML text.
fn line_of(text: &str, table: &str, key: &str) -> usize {
    let header = format!("[enrichment_tables.{table}]");
    let start = text
        .lines()
        .position(|l| l.trim() == header)
        .unwrap_or_else(|| panic!("no {header}"));
    start
        + 1
        + text
            .lines()
            .skip(start)
            .position(|l| l.trim_start().starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in {header}"))
}

/// A missing file, a corrupt or truncated database and a CSV file with a bad cell: `weir
/// validate` and `weir run` exit 1 naming `<file>:<line>:` of the table's `path` and its key.
#[test]
fn unreadable_tables_stop_validate_and_run_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_db = test_db("GeoIP2-City-Test.mmdb");
    let bytes = std::fs::read(&good_db).unwrap();
    std::fs::write(d.join("truncated.mmdb"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(d.join("garbage.mmdb"), b"this is not a MaxMind DB\n").unwrap();
    std::fs::write(d.join("good.csv"), owners_csv("payments", "1")).unwrap();
    std::fs::write(
        d.join("bad.csv"),
        owners_csv("payments", "1").replace("other,9", "other,nine"),
    )
    .unwrap();
    let pipeline = |geo: &Path, csv: &Path| {
        format!(
            "data_dir = \"data\"\napi.enabled = false\n\n# the tables\n{}\
             [enrichment_tables.owners]\ntype = \"csv\"\nschema = {{ weight = \"integer\" }}\npath = {}\n\n{}",
            mmdb_table("geo", geo),
            toml_string(csv),
            enrich_to_file(&d.join("input.log"), &d.join("out.ndjson")),
        )
    };
    std::fs::write(d.join("input.log"), "").unwrap();
    let run = |args: &[&str]| {
        let mut weir = Weir::start(d, args, &[("NO_COLOR", "1")]);
        let status = weir.wait(Duration::from_secs(60));
        (status.code(), weir.log_text())
    };

    // The good tables validate: what fails below is the table.
    let good = pipeline(&good_db, &d.join("good.csv"));
    std::fs::write(d.join("good.toml"), &good).unwrap();
    let (code, log) = run(&["validate", "good.toml"]);
    assert_eq!(code, Some(0), "{log}");

    let cases = [
        (
            "geo",
            d.join("no-such.mmdb"),
            d.join("good.csv"),
            "No such file",
        ),
        ("geo", d.join("truncated.mmdb"), d.join("good.csv"), ""),
        ("geo", d.join("garbage.mmdb"), d.join("good.csv"), ""),
        (
            "owners",
            good_db.clone(),
            d.join("bad.csv"),
            "`nine` is not an integer",
        ),
        (
            "owners",
            good_db.clone(),
            d.join("no-such.csv"),
            "No such file",
        ),
    ];
    for (n, (table, geo, csv, detail)) in cases.iter().enumerate() {
        let text = pipeline(geo, csv);
        let file = format!("case-{n}.toml");
        std::fs::write(d.join(&file), &text).unwrap();
        let line = line_of(&text, table, "path");
        let place = format!("{file}:{line}:");
        let key = format!("`enrichment_tables.{table}.path`");
        // A read error names the file; a content error is at the line of its `path`.
        let location = if detail.starts_with("No such") {
            if *table == "geo" { geo } else { csv }
                .display()
                .to_string()
        } else {
            String::new()
        };
        for args in [
            vec!["validate", file.as_str()],
            vec!["run", "-c", file.as_str()],
            vec!["run", "--once", "-c", file.as_str()],
        ] {
            let (code, log) = run(&args);
            assert_eq!(code, Some(1), "{args:?} on case {n}:\n{log}");
            let error = log
                .lines()
                .find(|l| l.contains(&key))
                .unwrap_or_else(|| panic!("{args:?} on case {n}: no error names {key}:\n{log}"));
            assert!(
                error.contains(&place) && error.contains(&location) && error.contains(detail),
                "{args:?} on case {n}: want {place} … {location} … {detail:?}:\n{log}"
            );
        }
    }

    // A geoip transform on a csv table is refused too (not a read error: a build error).
    let text = good.replace("table = \"geo\"", "table = \"owners\"");
    std::fs::write(d.join("kind.toml"), &text).unwrap();
    let (code, log) = run(&["validate", "kind.toml"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("is a `csv` table, not `mmdb`"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// 5. The table VRL functions through `weir vrl --tables`.

/// Vector's documented examples of the table functions, as in
/// `transforms/src/program/functions/examples.rs`: (source, result).
const DOCUMENTED: &[(&str, &str)] = &[
    (
        r#"get_enrichment_table_record!("test", {"surname": "smith", "firstname": "bob"}, case_sensitive: false, select: ["id", "firstname", "surname"])"#,
        r#"{"id": 1, "firstname": "Bob", "surname": "Smith"}"#,
    ),
    (
        r#"get_enrichment_table_record!("test", {"surname": "Smith", "date_of_birth": {"from": t'1985-01-01T00:00:00Z', "to": t'1985-06-30T00:00:00Z'}}, select: ["id", "firstname", "surname"])"#,
        r#"{"id": 1, "firstname": "Bob", "surname": "Smith"}"#,
    ),
    (
        r#"find_enrichment_table_records!("test", {"surname": "smith"}, case_sensitive: false, select: ["id", "firstname", "surname"])"#,
        r#"[{"id": 1, "firstname": "Bob", "surname": "Smith"}, {"id": 2, "firstname": "Fred", "surname": "Smith"}]"#,
    ),
    (
        r#"find_enrichment_table_records!("test", {"surname": "Smith", "date_of_birth": {"from": t'1985-01-01T00:00:00Z', "to": t'1985-12-31T00:00:00Z'}}, select: ["id", "firstname", "surname"])"#,
        r#"[{"id": 1, "firstname": "Bob", "surname": "Smith"}, {"id": 2, "firstname": "Fred", "surname": "Smith"}]"#,
    ),
    (
        r#"geoip!("81.2.69.142:443", "city")"#,
        r#"{"city_name": "London", "continent_code": "EU", "continent_name": "Europe", "country_iso_code": "GB", "country_name": "United Kingdom", "location": {"lat": 51.5142, "lon": -0.0931}, "region_iso_code": "GB-ENG", "region_name": "England", "timezone": "Europe/London"}"#,
    ),
    (r#"geoip!("10.0.12.7", "city")"#, r#"{"private": true}"#),
];

/// Each documented example, run by `weir vrl --tables` on a pipeline file defining the
/// examples' table `test` (and `city`), gives the documented result; a `get_…` whose condition
/// matches two rows fails with exit 1 and "more than one row found".
#[test]
fn documented_table_function_examples_through_weir_vrl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("test.csv");
    std::fs::write(
        &csv,
        "id,firstname,surname,date_of_birth\n1,Bob,Smith,1985-05-20\n2,Fred,Smith,1985-11-01\n3,John,Jones,1990-01-01\n",
    )
    .unwrap();
    let tables = d.join("tables.toml");
    std::fs::write(
        &tables,
        format!(
            "[enrichment_tables.test]\ntype = \"csv\"\npath = {}\nschema = {{ id = \"integer\", date_of_birth = \"timestamp\" }}\n\n{}",
            toml_string(&csv),
            mmdb_table("city", &test_db("GeoIP2-City-Test.mmdb")),
        ),
    )
    .unwrap();
    let input = d.join("in.ndjson");
    std::fs::write(&input, "{}\n").unwrap();
    let vrl = |program: &str| {
        let output = Command::new(weir_bin())
            .arg("vrl")
            .arg("--tables")
            .arg(&tables)
            .args(["--program", program])
            .arg(&input)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let mut failures = Vec::new();
    for (source, result) in DOCUMENTED {
        // `weir vrl` prints the event: the example's value is put in a field of it.
        let (code, stdout, stderr) = vrl(&format!(".result = {source}"));
        let want: Json = serde_json::from_str(result).unwrap();
        let got: Option<Json> = stdout
            .lines()
            .next()
            .and_then(|l| serde_json::from_str::<Json>(l).ok())
            .map(|v| v["result"].clone());
        if code != Some(0) || stdout.lines().count() != 1 || got.as_ref() != Some(&want) {
            failures.push(format!(
                "{source}\n  exit {code:?}\n  got  {stdout}  want {want}\n  stderr {stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Two rows match: an error at the input's place, nothing printed.
    let (code, stdout, stderr) =
        vrl(r#".result = get_enrichment_table_record!("test", {"surname": "Smith"})"#);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("more than one row found"), "{stderr}");
    assert!(stderr.contains("in.ndjson"), "{stderr}");
    // No row: `get_…` fails, `find_…` is empty.
    let (code, _, stderr) =
        vrl(r#".result = get_enrichment_table_record!("test", {"surname": "Nobody"})"#);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no rows found"), "{stderr}");
    let (code, stdout, stderr) =
        vrl(r#".result = find_enrichment_table_records!("test", {"surname": "Nobody"})"#);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), r#"{"result":[]}"#);
    // A table the pipeline file does not define is a compile error.
    let (code, _, stderr) = vrl(r#".result = get_enrichment_table_record!("nope", {"id": 1})"#);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}
