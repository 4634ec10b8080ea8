//! The parts of a request URL, for the schemas that hold them apart (ECS `url.*`, OCSF
//! `http_request.url.*`).

use vrl::value::Value;

use super::fields::{get_str, put, text, Lookup, Output};

/// A URL split into its parts; each borrows from the URL text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `https`, without `://`.
    pub scheme: Option<&'a str>,
    /// The host name or address (IPv6 without brackets).
    pub host: Option<&'a str>,
    /// The port, when the URL names one.
    pub port: Option<i64>,
    /// The path (`/` when the URL has an authority and nothing after it).
    pub path: Option<&'a str>,
    /// The query, without `?`.
    pub query: Option<&'a str>,
}

/// Splits `url` (`scheme://host[:port]/path?query#fragment`, or a path alone); anything it
/// cannot read is left `None`. The fragment is not kept (browsers do not send it).
pub fn split(url: &str) -> UrlParts<'_> {
    let mut parts = UrlParts::default();
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && scheme.bytes().all(is_scheme_byte) => {
            parts.scheme = Some(scheme);
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, rest) = rest.split_at(end);
            let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
            let (host, port) = split_host_port(authority);
            parts.host = Some(host).filter(|h| !h.is_empty());
            parts.port = port;
            rest
        }
        _ => url,
    };
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    parts.path = match (path.is_empty(), parts.host.is_some()) {
        (false, _) => Some(path),
        (true, true) => Some("/"),
        (true, false) => None,
    };
    parts.query = query.filter(|q| !q.is_empty());
    parts
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.'
}

/// Where a schema keeps a URL's parts (`None`: the mapping takes that part from elsewhere).
#[derive(Clone, Copy, Debug)]
pub struct UrlPlaces {
    /// The scheme (`https`).
    pub scheme: Option<&'static str>,
    /// The host name.
    pub host: Option<&'static str>,
    /// The port (an integer).
    pub port: Option<&'static str>,
    /// The path.
    pub path: &'static str,
    /// The query, without its `?`.
    pub query: &'static str,
}

/// ECS `url.*`.
pub const ECS_URL: UrlPlaces = UrlPlaces {
    scheme: Some("url.scheme"),
    host: Some("url.domain"),
    port: Some("url.port"),
    path: "url.path",
    query: "url.query",
};

/// OCSF `http_request.url.*`.
pub const OCSF_URL: UrlPlaces = UrlPlaces {
    scheme: Some("http_request.url.scheme"),
    host: Some("http_request.url.hostname"),
    port: Some("http_request.url.port"),
    path: "http_request.url.path",
    query: "http_request.url.query_string",
};

/// Puts the parts of the URL text at `from` of the native record at `places` (copies: the URL
/// itself stays for the mapping to move whole).
pub fn put_parts(native: &impl Lookup, from: &str, out: &mut impl Output, places: &UrlPlaces) {
    let Some(original) = get_str(native, from) else {
        return;
    };
    let parts = split(original);
    let texts = [
        (places.scheme, parts.scheme),
        (places.host, parts.host),
        (Some(places.path), parts.path),
        (Some(places.query), parts.query),
    ];
    for (place, part) in texts {
        if let (Some(place), Some(part)) = (place, part) {
            put(out, place, text(part));
        }
    }
    if let (Some(place), Some(port)) = (places.port, parts.port) {
        put(out, place, Value::Integer(port));
    }
}

/// A `Host` header's (or URL authority's) host and port: `host:port`, `[v6]:port`, `host` or
/// `[v6]` (IPv6 without brackets).
pub fn host_port(authority: &str) -> (&str, Option<i64>) {
    split_host_port(authority)
}

/// `host:port`, `[v6]:port`, `host` or `[v6]`.
fn split_host_port(authority: &str) -> (&str, Option<i64>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':').and_then(port_of)),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port_of(port) {
            Some(p) => (host, Some(p)),
            None => (authority, None),
        },
        _ => (authority, None),
    }
}

fn port_of(text: &str) -> Option<i64> {
    text.parse::<u16>().ok().map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_urls_load_balancers_log() {
        let p = split("https://www.example.com:443/a/b?x=1&y=2#f");
        assert_eq!(p.scheme, Some("https"));
        assert_eq!(p.host, Some("www.example.com"));
        assert_eq!(p.port, Some(443));
        assert_eq!(p.path, Some("/a/b"));
        assert_eq!(p.query, Some("x=1&y=2"));
        let p = split("http://[2001:db8::1]:80");
        assert_eq!(
            (p.host, p.port, p.path),
            (Some("2001:db8::1"), Some(80), Some("/"))
        );
        let p = split("/only/path?q");
        assert_eq!(
            (p.scheme, p.host, p.path, p.query),
            (None, None, Some("/only/path"), Some("q"))
        );
        let p = split("http://host:notaport/");
        assert_eq!((p.host, p.port), (Some("host:notaport"), None));
        assert_eq!(split(""), UrlParts::default());
    }
}
