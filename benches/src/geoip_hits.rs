//! The `alb-geoip-hits` workload: `gen.py`'s ALB lines with every client address replaced by
//! one that MaxMind's GeoIP2-City test database has a location for.
//!
//! Why: `gen.py`'s client addresses are 30 % private (not looked up) and 70 % addresses the
//! test database knows nothing of, so `alb-geoip` on `alb.log` mostly measures a miss. With a
//! production City database nearly every public address is a hit, and a hit is the expensive
//! path (a record decoded, an object of a dozen fields added and written). This file makes
//! every line a hit: addresses are taken in turn from the networks of the database's source
//! data (IPv4 and IPv6), so the workload has as many distinct records as the test database
//! (a few hundred), much like the repeated clients of real load balancer traffic.

use std::io::{BufRead, BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The source data the test database was built from (`tests/services/install.sh`).
const SOURCE: &str = "target/maxmind/source-data/GeoIP2-City-Test.json";

/// Writes `out`: `alb`'s lines with their client (`ip:port`, the fourth field) replaced.
pub fn derive(root: &Path, alb: &Path, out: &Path) -> Result<()> {
    let addresses = addresses(&root.join(SOURCE))?;
    let input = std::fs::File::open(alb).with_context(|| format!("open {}", alb.display()))?;
    let tmp = out.with_extension("partial");
    let mut writer = BufWriter::new(std::fs::File::create(&tmp)?);
    for (n, line) in std::io::BufReader::new(input).lines().enumerate() {
        let line = line?;
        let fields: Vec<&str> = line.splitn(5, ' ').collect();
        let [a, b, c, _client, rest] = fields.as_slice() else {
            bail!("{}:{}: not an ALB line", alb.display(), n + 1);
        };
        let client = match addresses[n % addresses.len()] {
            IpAddr::V4(v4) => format!("{v4}:{}", 1024 + n % 60000),
            IpAddr::V6(v6) => format!("[{v6}]:{}", 1024 + n % 60000),
        };
        writeln!(writer, "{a} {b} {c} {client} {rest}")?;
    }
    writer.flush()?;
    drop(writer);
    std::fs::rename(&tmp, out)?;
    Ok(())
}

/// The first address of every network with a country or city, public ones only.
fn addresses(source: &Path) -> Result<Vec<IpAddr>> {
    let text = std::fs::read_to_string(source)
        .with_context(|| format!("{} (run tests/services/install.sh first)", source.display()))?;
    let networks: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&text)?;
    let addresses: Vec<IpAddr> = networks
        .iter()
        .flatten()
        .filter(|(_, record)| record.get("country").is_some() || record.get("city").is_some())
        .filter_map(|(cidr, _)| cidr.split('/').next()?.parse::<IpAddr>().ok())
        // IPv4 networks are written in the IPv6 tree's IPv4 subtree: `::81.2.69.142/127`.
        .map(|ip| match ip {
            IpAddr::V6(v6) if v6.segments()[..6] == [0; 6] => {
                IpAddr::V4(std::net::Ipv4Addr::from_bits(v6.to_bits() as u32))
            }
            other => other,
        })
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !(v4.is_private() || v4.is_loopback() || v4.is_unspecified()),
            IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified()),
        })
        .collect();
    if addresses.is_empty() {
        bail!("{}: no networks with a location", source.display());
    }
    Ok(addresses)
}
