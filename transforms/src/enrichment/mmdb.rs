//! `type = "mmdb"`: a MaxMind DB file (GeoIP2/GeoLite2 City, Country, ASN, ISP, Anonymous IP, …)
//! read with the `maxminddb` crate.
//!
//! The database is read into memory, not memory-mapped: a reload must survive a file replaced in
//! place (`cp new.mmdb GeoIP2-City.mmdb` truncates and rewrites the inode a mapping points at,
//! and the next lookup through the mapping would fault with SIGBUS and kill the process). In
//! memory, the old table stays valid until its last lookup ends, whatever happens to the file.
//! The cost is the file's size in RAM (twice that for a moment during a reload).
//!
//! A new database is checked completely ([`maxminddb::Reader::verify`]: the search tree, every
//! record and the metadata) before it is used, so a corrupt replacement is refused at reload
//! rather than failing lookups later.
//!
//! City records are decoded into [`GeoRecord`], which holds only what the `geo` object needs:
//! `registered_country`, `represented_country`, `traits` and every `geoname_id` are skipped
//! unread. That halves the decoding of a record (criterion `geoip/city-*`), which is most of a
//! lookup.
//!
//! The objects built are kept in a bounded cache ([`MmdbTable::with_cache`], the table's
//! `cache_size`) keyed by the *record* the search tree points to, not by address: a database
//! stores each distinct record once (every network of a city shares it), and a load balancer
//! sees the same clients again and again, so a busy pipeline decodes each record about once
//! and later lookups cost the tree walk and a copy of the object. A reload brings a new table
//! and so an empty cache: no answer of the old database outlives it.

use std::any::Any;
use std::net::IpAddr;

use maxminddb::{geoip2, Reader};
use serde::Deserialize;
use vrl::value::{KeyString, ObjectMap, Value};
use weir_core::enrichment::{Case, Condition, LookupError, Table};

use super::TableError;

/// The condition field a MaxMind DB is queried by.
pub const IP_FIELD: &str = "ip";

/// Which record layout the database has, from its metadata's `database_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// City, Country and Enterprise databases (city, country, continent, subdivisions, location).
    Geo,
    /// GeoLite2-ASN: the autonomous system.
    Asn,
    /// GeoIP2-ISP: the autonomous system, ISP and organisation.
    Isp,
    /// Anything else (Anonymous IP, Connection Type, Domain, custom databases): the record as
    /// it is.
    Other,
}

impl DatabaseKind {
    fn of(database_type: &str) -> Self {
        if database_type.contains("ASN") {
            DatabaseKind::Asn
        } else if database_type.contains("ISP") {
            DatabaseKind::Isp
        } else if ["City", "Country", "Enterprise"]
            .iter()
            .any(|k| database_type.contains(k))
        {
            DatabaseKind::Geo
        } else {
            DatabaseKind::Other
        }
    }
}

/// The locales MaxMind databases carry names in.
pub const LOCALES: &[&str] = &["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"];

/// A MaxMind DB in memory.
pub struct MmdbTable {
    reader: Reader<Vec<u8>>,
    kind: DatabaseKind,
    /// Built objects by (data section offset of the record, position of the locale in
    /// [`LOCALES`], or `LOCALES.len()` for a locale not in it: such a locale names nothing, so
    /// they all build the same object).
    cache: Option<quick_cache::sync::Cache<(usize, u8), ObjectMap>>,
}

impl std::fmt::Debug for MmdbTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmdbTable")
            .field("database_type", &self.reader.metadata().database_type)
            .field("kind", &self.kind)
            .finish()
    }
}

impl MmdbTable {
    /// Reads and verifies a database.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TableError> {
        let reader = Reader::from_source(bytes).map_err(|e| TableError::Invalid(e.to_string()))?;
        reader
            .verify()
            .map_err(|e| TableError::Invalid(format!("the database does not verify: {e}")))?;
        let kind = DatabaseKind::of(&reader.metadata().database_type);
        Ok(Self {
            reader,
            kind,
            cache: None,
        })
    }

    /// The same table keeping the objects of up to `records` records (see the module docs);
    /// 0 keeps none.
    pub fn with_cache(mut self, records: usize) -> Self {
        self.cache = (records > 0).then(|| quick_cache::sync::Cache::new(records));
        self
    }

    /// The record layout.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The `database_type` of the metadata (`GeoIP2-City`, `GeoLite2-ASN`, …).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The `geoip` object for `ip` (see the `geoip` transform for its fields): `None` when the
    /// database has no data for it. Private, loopback and link-local addresses are not looked
    /// up: they give `{"private": true}`.
    pub fn geo(&self, ip: IpAddr, locale: &str) -> Result<Option<ObjectMap>, LookupError> {
        if is_private(ip) {
            let mut object = ObjectMap::new();
            object.insert("private".into(), Value::Boolean(true));
            return Ok(Some(object));
        }
        let corrupt = |e: maxminddb::MaxMindDbError| LookupError::Corrupt(e.to_string());
        let result = self.reader.lookup(ip).map_err(corrupt)?;
        let (Some(cache), Some(offset)) = (&self.cache, result.offset()) else {
            return self.build(&result, locale);
        };
        let locale_key = LOCALES
            .iter()
            .position(|l| *l == locale)
            .unwrap_or(LOCALES.len()) as u8;
        let key = (offset, locale_key);
        if let Some(object) = cache.get(&key) {
            return Ok(Some(object));
        }
        let object = self.build(&result, locale)?;
        if let Some(object) = &object {
            cache.insert(key, object.clone());
        }
        Ok(object)
    }

    /// Decodes the record `result` points to and builds its object.
    fn build(
        &self,
        result: &maxminddb::LookupResult<'_, Vec<u8>>,
        locale: &str,
    ) -> Result<Option<ObjectMap>, LookupError> {
        let corrupt = |e: maxminddb::MaxMindDbError| LookupError::Corrupt(e.to_string());
        let object = match self.kind {
            DatabaseKind::Geo => result
                .decode::<GeoRecord>()
                .map_err(corrupt)?
                .map(|city| geo_object(&city, locale)),
            DatabaseKind::Asn => result.decode::<geoip2::Asn>().map_err(corrupt)?.map(|asn| {
                let mut object = ObjectMap::new();
                insert(
                    &mut object,
                    "asn",
                    asn.autonomous_system_number.map(Value::from),
                );
                insert_str(&mut object, "as_org", asn.autonomous_system_organization);
                object
            }),
            DatabaseKind::Isp => result.decode::<geoip2::Isp>().map_err(corrupt)?.map(|isp| {
                let mut object = ObjectMap::new();
                insert(
                    &mut object,
                    "asn",
                    isp.autonomous_system_number.map(Value::from),
                );
                insert_str(&mut object, "as_org", isp.autonomous_system_organization);
                insert_str(&mut object, "isp", isp.isp);
                insert_str(&mut object, "organization", isp.organization);
                object
            }),
            DatabaseKind::Other => match result.decode::<Value>().map_err(corrupt)? {
                Some(Value::Object(map)) => Some(map),
                Some(other) => {
                    let mut object = ObjectMap::new();
                    object.insert("value".into(), other);
                    Some(object)
                }
                None => None,
            },
        };
        Ok(object.filter(|o| !o.is_empty()))
    }

    /// The whole record for `ip`, as the database holds it (what `get_enrichment_table_record`
    /// returns for a MaxMind DB, as in Vector).
    pub fn record(&self, ip: IpAddr) -> Result<Option<ObjectMap>, LookupError> {
        let result = self
            .reader
            .lookup(ip)
            .map_err(|e| LookupError::Corrupt(e.to_string()))?;
        match result
            .decode::<Value>()
            .map_err(|e| LookupError::Corrupt(e.to_string()))?
        {
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => {
                let mut object = ObjectMap::new();
                object.insert("value".into(), other);
                Ok(Some(object))
            }
            None => Ok(None),
        }
    }
}

/// The parts of a City, Country or Enterprise record the `geo` object is made of (the layout of
/// [`geoip2::City`], the rest left out).
#[derive(Debug, Default, Deserialize)]
pub struct GeoRecord<'a> {
    #[serde(borrow, default)]
    city: Named<'a>,
    #[serde(borrow, default)]
    continent: Coded<'a>,
    #[serde(borrow, default)]
    country: Coded<'a>,
    #[serde(borrow, default)]
    subdivisions: Vec<Coded<'a>>,
    #[serde(borrow, default)]
    postal: Postal<'a>,
    #[serde(borrow, default)]
    location: Location<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: geoip2::Names<'a>,
}

/// A continent (`code`), country or subdivision (`iso_code`) and its names.
#[derive(Debug, Default, Deserialize)]
struct Coded<'a> {
    #[serde(default)]
    code: Option<&'a str>,
    #[serde(default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: geoip2::Names<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct Postal<'a> {
    #[serde(default)]
    code: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
struct Location<'a> {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    time_zone: Option<&'a str>,
}

/// The geo object of a City/Country/Enterprise record: ECS `geo.*` names.
fn geo_object(city: &GeoRecord<'_>, locale: &str) -> ObjectMap {
    let mut object = ObjectMap::new();
    insert_str(&mut object, "city_name", name(&city.city.names, locale));
    insert_str(&mut object, "continent_code", city.continent.code);
    insert_str(
        &mut object,
        "continent_name",
        name(&city.continent.names, locale),
    );
    insert_str(&mut object, "country_iso_code", city.country.iso_code);
    insert_str(
        &mut object,
        "country_name",
        name(&city.country.names, locale),
    );
    if let Some(region) = city.subdivisions.first() {
        // ECS (and Elastic's geoip processor) write the ISO 3166-2 code: `US-CA`, not `CA`.
        let code = match (city.country.iso_code, region.iso_code) {
            (Some(country), Some(region)) => Some(Value::from(format!("{country}-{region}"))),
            (None, Some(region)) => Some(Value::from(region)),
            _ => None,
        };
        insert(&mut object, "region_iso_code", code);
        insert_str(&mut object, "region_name", name(&region.names, locale));
    }
    insert_str(&mut object, "postal_code", city.postal.code);
    if let (Some(lat), Some(lon)) = (city.location.latitude, city.location.longitude) {
        let mut location = ObjectMap::new();
        location.insert("lat".into(), float(lat));
        location.insert("lon".into(), float(lon));
        object.insert("location".into(), Value::Object(location));
    }
    insert_str(&mut object, "timezone", city.location.time_zone);
    object
}

fn name<'a>(names: &geoip2::Names<'a>, locale: &str) -> Option<&'a str> {
    match locale {
        "de" => names.german,
        "en" => names.english,
        "es" => names.spanish,
        "fr" => names.french,
        "ja" => names.japanese,
        "pt-BR" => names.brazilian_portuguese,
        "ru" => names.russian,
        "zh-CN" => names.simplified_chinese,
        _ => None,
    }
}

fn float(f: f64) -> Value {
    ordered_float::NotNan::new(f).map_or(Value::Null, Value::Float)
}

fn insert(object: &mut ObjectMap, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(KeyString::from(key), value);
    }
}

fn insert_str(object: &mut ObjectMap, key: &str, value: Option<&str>) {
    insert(object, key, value.map(Value::from));
}

/// Private (RFC 1918, unique local), loopback, link-local, unspecified and CGNAT shared
/// addresses: no database has a location for them, and their owner is the user's own network.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// An IP address from the forms parsed fields hold it in: `1.2.3.4`, `2001:db8::1`,
/// `1.2.3.4:443`, `[2001:db8::1]:443` (surrounding spaces ignored).
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') {
        return host.parse().ok();
    }
    None
}

impl Table for MmdbTable {
    fn kind(&self) -> &'static str {
        "mmdb"
    }

    fn fields(&self) -> Vec<String> {
        vec![IP_FIELD.to_string()]
    }

    fn find(
        &self,
        conditions: &[Condition<'_>],
        select: Option<&[String]>,
        _case: Case,
    ) -> Result<Vec<ObjectMap>, LookupError> {
        let [Condition::Equals { field, value }] = conditions else {
            return Err(LookupError::Unsupported(
                "a MaxMind DB table is looked up by one condition, `ip`".into(),
            ));
        };
        if *field != IP_FIELD {
            return Err(LookupError::UnknownField {
                table: "mmdb".into(),
                field: field.to_string(),
            });
        }
        let text = match value {
            Value::Bytes(_) | Value::String(_) => value.to_str_lossy().unwrap_or_default(),
            other => {
                return Err(LookupError::InvalidValue(format!(
                    "`ip` must be a string, not {}",
                    other.kind_str()
                )))
            }
        };
        let ip = parse_ip(&text)
            .ok_or_else(|| LookupError::InvalidValue(format!("`{text}` is not an IP address")))?;
        let Some(mut record) = self.record(ip)? else {
            return Ok(Vec::new());
        };
        if let Some(select) = select {
            record.retain(|k, _| select.iter().any(|s| s.as_str() == k.as_str()));
        }
        Ok(vec![record])
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_come_in_the_forms_logs_write_them() {
        let v4: IpAddr = "81.2.69.142".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_ip("81.2.69.142"), Some(v4));
        assert_eq!(parse_ip(" 81.2.69.142:443 "), Some(v4));
        assert_eq!(parse_ip("2001:db8::1"), Some(v6));
        assert_eq!(parse_ip("[2001:db8::1]:443"), Some(v6));
        for bad in ["", "-", "81.2.69", "host:443", "[2001:db8::1", "1.2.3.4:x"] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_private() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["81.2.69.142", "8.8.8.8", "2001:480::1", "100.128.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_kind_comes_from_the_database_type() {
        assert_eq!(DatabaseKind::of("GeoIP2-City"), DatabaseKind::Geo);
        assert_eq!(DatabaseKind::of("GeoLite2-Country"), DatabaseKind::Geo);
        assert_eq!(DatabaseKind::of("GeoIP2-Enterprise"), DatabaseKind::Geo);
        assert_eq!(DatabaseKind::of("GeoLite2-ASN"), DatabaseKind::Asn);
        assert_eq!(DatabaseKind::of("GeoIP2-ISP"), DatabaseKind::Isp);
        assert_eq!(DatabaseKind::of("GeoIP2-Anonymous-IP"), DatabaseKind::Other);
    }

    /// Every database of MaxMind's test data (`bad-data/`: deliberately broken; `test-data/`:
    /// good ones and broken ones): refused at load, or answering lookups — never a panic.
    #[test]
    fn no_database_of_the_test_data_panics() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/maxmind");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("bad-data"), root.join("test-data")];
        while let Some(dir) = dirs.pop() {
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
                panic!("{}: {e} (run tests/services/install.sh)", dir.display())
            });
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "mmdb") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 40, "only {} databases found", files.len());
        let ips: Vec<IpAddr> = [
            "1.1.1.1",
            "81.2.69.142",
            "2001:480:10::1",
            "::1.2.3.4",
            "216.160.83.56",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let (mut refused, mut loaded) = (0, 0);
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            match MmdbTable::from_bytes(bytes) {
                Err(_) => refused += 1,
                Ok(table) => {
                    loaded += 1;
                    for ip in &ips {
                        let _ = table.geo(*ip, "en");
                        let _ = table.record(*ip);
                    }
                }
            }
        }
        let bad = files
            .iter()
            .filter(|f| f.to_string_lossy().contains("bad-data"))
            .count();
        assert!(
            refused >= bad,
            "{refused} refused, {bad} in bad-data/ ({loaded} loaded)"
        );
    }

    fn test_database(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/maxmind/test-data")
            .join(name);
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run tests/services/install.sh)", path.display()))
    }

    /// The cache answers what decoding answers, for every locale, an address seen again and
    /// another address of the same record; a new table (a reload) starts empty.
    #[test]
    fn the_record_cache_answers_what_decoding_answers() {
        for database in ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"] {
            let bytes = test_database(database);
            let plain = MmdbTable::from_bytes(bytes.clone()).unwrap();
            let cached = MmdbTable::from_bytes(bytes).unwrap().with_cache(100);
            let ips = [
                "81.2.69.142",
                "81.2.69.160",
                "81.2.69.142",
                "2001:480::1",
                "216.160.83.56",
                "1.128.0.1",
                "1.128.0.2",
                "203.0.113.1",
            ];
            let mut answered = 0;
            for locale in LOCALES.iter().copied().chain(["it", "ko"]) {
                for _ in 0..2 {
                    for ip in ips {
                        let ip: IpAddr = ip.parse().unwrap();
                        let want = plain.geo(ip, locale).unwrap();
                        answered += usize::from(want.is_some());
                        assert_eq!(cached.geo(ip, locale).unwrap(), want, "{database} {ip}");
                    }
                }
            }
            assert!(answered > 0, "{database}: no address answered");
            let cache = cached.cache.as_ref().unwrap();
            assert!(!cache.is_empty(), "{database}: nothing cached");
            let reloaded = MmdbTable::from_bytes(test_database(database)).unwrap();
            let reloaded = reloaded.with_cache(100);
            assert!(reloaded.cache.as_ref().unwrap().is_empty());
        }
        let off = MmdbTable::from_bytes(test_database("GeoIP2-City-Test.mmdb")).unwrap();
        assert!(off.with_cache(0).cache.is_none());
    }

    #[test]
    fn garbage_is_not_a_database() {
        assert!(MmdbTable::from_bytes(b"not a database".to_vec()).is_err());
        assert!(MmdbTable::from_bytes(Vec::new()).is_err());
    }
}
