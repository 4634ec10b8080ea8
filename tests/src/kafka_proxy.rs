//! A fault-injecting TCP proxy for the Kafka protocol, to put in front of a real broker (tansu)
//! for the outages a broker cannot stage by itself: down (every connection cut, new ones closed
//! at once), a storm of retriable `Produce` errors (Kafka's answer where HTTP has `429`), and a
//! broker that accepts connections and never answers.
//!
//! Restarting tansu is no way to stage an outage: it keeps its data in memory, so a restart
//! forgets what was delivered before it and nothing can be counted afterwards. Behind this proxy
//! the broker keeps running and keeps every record, so a test can read the whole topic back.
//!
//! The broker must advertise the proxy's address (see [`crate::services::tansu_behind`]), or
//! clients would reach it directly after their first metadata request. The proxy reads the
//! client's requests frame by frame (a 4-byte size, then the request); it decodes `Produce`
//! requests only, to answer them itself during an error storm, and forwards every other byte
//! untouched.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the proxy does; change it at any time with [`KafkaProxy::set`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KafkaFault {
    /// Forward everything.
    #[default]
    None,
    /// Cut every open connection and close new ones unanswered: to the client the broker is
    /// down.
    Down,
    /// Read requests and answer nothing (neither do the broker's answers to earlier requests get
    /// through). When the fault ends, the hung connections are closed.
    Hang,
    /// Answer every `Produce` request itself, without forwarding it, with this error code for
    /// each of its partitions and a throttle time; everything else is forwarded.
    ProduceErrors {
        /// The Kafka error code, e.g. [`NOT_ENOUGH_REPLICAS`] (retriable).
        error_code: i16,
        /// The `throttle_time_ms` of each answer.
        throttle_ms: i32,
    },
}

/// Kafka's `NOT_ENOUGH_REPLICAS`: retriable; the batch was not written.
pub const NOT_ENOUGH_REPLICAS: i16 = 19;

/// What the proxy did.
#[derive(Clone, Debug, Default)]
pub struct KafkaStats {
    /// Connections accepted.
    pub connections: usize,
    /// Connections closed at once because the broker was down.
    pub refused: usize,
    /// Request frames read from clients.
    pub requests: usize,
    /// `Produce` requests answered with an injected error.
    pub produce_errors: usize,
    /// Frames (either way) swallowed while hanging.
    pub swallowed: usize,
    /// `Produce` versions seen (to tell which encodings were exercised).
    pub produce_versions: std::collections::BTreeSet<i16>,
}

#[derive(Default)]
struct Shared {
    fault: Mutex<KafkaFault>,
    stats: Mutex<KafkaStats>,
    /// Both ends of every open connection, to cut them when the fault changes.
    open: Mutex<Vec<TcpStream>>,
}

impl Shared {
    fn fault(&self) -> KafkaFault {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, change: impl FnOnce(&mut KafkaStats)) {
        change(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn cut_all(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A running proxy on `127.0.0.1:<port>`; it forwards to the upstream given to
/// [`KafkaProxy::forward_to`].
pub struct KafkaProxy {
    /// The proxy's port: what the broker advertises and clients bootstrap from.
    pub port: u16,
    listener: Option<TcpListener>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl KafkaProxy {
    /// Binds the proxy's port. It accepts nothing until [`KafkaProxy::forward_to`]: the broker
    /// behind it must be started knowing this port first.
    pub fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind Kafka proxy");
        let port = listener.local_addr().expect("proxy address").port();
        Self {
            port,
            listener: Some(listener),
            shared: Arc::default(),
            stop: Arc::default(),
        }
    }

    /// Starts forwarding to `upstream` (`127.0.0.1:<port>`).
    pub fn forward_to(&mut self, upstream: &str) {
        let listener = self.listener.take().expect("forward_to is called once");
        let (shared, stop, upstream) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.stop),
            upstream.to_string(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                accept(client, &upstream, &shared);
            }
        });
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sets the fault. Going down cuts every open connection; so does the end of a hang (the
    /// hung connections have requests that will never be answered).
    pub fn set(&self, fault: KafkaFault) {
        let before = std::mem::replace(
            &mut *self.shared.fault.lock().unwrap_or_else(|e| e.into_inner()),
            fault,
        );
        if fault == KafkaFault::Down || (before == KafkaFault::Hang && fault != before) {
            self.shared.cut_all();
        }
    }

    /// What happened so far.
    pub fn stats(&self) -> KafkaStats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for KafkaProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        self.shared.cut_all();
    }
}

fn accept(client: TcpStream, upstream: &str, shared: &Arc<Shared>) {
    shared.count(|s| s.connections += 1);
    if shared.fault() == KafkaFault::Down {
        shared.count(|s| s.refused += 1);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let clones = (
        client.try_clone(),
        server.try_clone(),
        client.try_clone(),
        server.try_clone(),
    );
    let (Ok(client_read), Ok(server_read), Ok(client_keep), Ok(server_keep)) = clones else {
        return;
    };
    shared
        .open
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend([client_keep, server_keep]);
    let to_client = Arc::new(Mutex::new(client));
    let (s, out) = (Arc::clone(shared), Arc::clone(&to_client));
    std::thread::spawn(move || {
        let mut server = server;
        let _ = requests(client_read, &mut server, &out, &s);
        close(&out);
        let _ = server.shutdown(Shutdown::Both);
    });
    let s = Arc::clone(shared);
    std::thread::spawn(move || {
        let _ = answers(server_read, &to_client, &s);
    });
}

/// Closes a connection's client end once its requests stop.
fn close(client: &Mutex<TcpStream>) {
    let _ = client
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .shutdown(Shutdown::Both);
}

/// Reads one frame (size prefix included in the result).
fn read_frame(from: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut size = [0u8; 4];
    from.read_exact(&mut size)?;
    let len = i32::from_be_bytes(size);
    if !(0..=256 << 20).contains(&len) {
        return Err(std::io::Error::other(format!("frame size {len}")));
    }
    let mut frame = vec![0u8; 4 + len as usize];
    frame[..4].copy_from_slice(&size);
    from.read_exact(&mut frame[4..])?;
    Ok(frame)
}

fn write_frame(to: &Mutex<TcpStream>, frame: &[u8]) -> std::io::Result<()> {
    to.lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_all(frame)
}

/// Client → broker.
fn requests(
    mut client: TcpStream,
    server: &mut TcpStream,
    to_client: &Mutex<TcpStream>,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut hung = false;
    loop {
        let frame = read_frame(&mut client)?;
        shared.count(|s| s.requests += 1);
        match shared.fault() {
            KafkaFault::Down => return Ok(()),
            KafkaFault::Hang => {
                hung = true;
                shared.count(|s| s.swallowed += 1);
                continue;
            }
            KafkaFault::None if hung => return Ok(()),
            KafkaFault::ProduceErrors {
                error_code,
                throttle_ms,
            } => {
                if let Some(produce) = ProduceRequest::decode(&frame[4..]) {
                    shared.count(|s| {
                        s.produce_versions.insert(produce.version);
                        s.produce_errors += 1;
                    });
                    if produce.acks != 0 {
                        write_frame(to_client, &produce.error_response(error_code, throttle_ms))?;
                    }
                    continue;
                }
            }
            KafkaFault::None => {}
        }
        if let Some(produce) = ProduceRequest::decode(&frame[4..]) {
            shared.count(|s| {
                s.produce_versions.insert(produce.version);
            });
        }
        server.write_all(&frame)?;
    }
}

/// Broker → client.
fn answers(
    mut server: TcpStream,
    to_client: &Mutex<TcpStream>,
    shared: &Shared,
) -> std::io::Result<()> {
    loop {
        let frame = read_frame(&mut server)?;
        if shared.fault() == KafkaFault::Hang {
            shared.count(|s| s.swallowed += 1);
            continue;
        }
        write_frame(to_client, &frame)?;
    }
}

/// The parts of a `Produce` request (versions 3 to 12) an error answer needs.
struct ProduceRequest {
    version: i16,
    correlation_id: i32,
    acks: i16,
    /// Topic name → partition indexes.
    topics: Vec<(Vec<u8>, Vec<i32>)>,
}

const PRODUCE: i16 = 0;
/// `Produce` is flexible (compact encodings, tagged fields) from version 9.
const FIRST_FLEXIBLE: i16 = 9;

impl ProduceRequest {
    /// Decodes a request body (after the size); `None` for anything but a `Produce` request of
    /// a version this proxy knows (v13 names topics by id).
    fn decode(request: &[u8]) -> Option<Self> {
        let mut r = Reader(request);
        let (api_key, version, correlation_id) = (r.i16()?, r.i16()?, r.i32()?);
        if api_key != PRODUCE || !(3..=12).contains(&version) {
            return None;
        }
        let flexible = version >= FIRST_FLEXIBLE;
        r.nullable_string()?; // client id: a classic string in every header version
        if flexible {
            r.tagged_fields()?;
        }
        r.string(flexible)?; // transactional id
        let acks = r.i16()?;
        r.i32()?; // timeout
        let mut topics = Vec::new();
        for _ in 0..r.array_len(flexible)? {
            let name = r.string(flexible)?.to_vec();
            let mut partitions = Vec::new();
            for _ in 0..r.array_len(flexible)? {
                partitions.push(r.i32()?);
                r.bytes(flexible)?; // records
                if flexible {
                    r.tagged_fields()?;
                }
            }
            if flexible {
                r.tagged_fields()?;
            }
            topics.push((name, partitions));
        }
        Some(Self {
            version,
            correlation_id,
            acks,
            topics,
        })
    }

    /// The answer a broker gives when no partition took its batch: `error_code` everywhere.
    fn error_response(&self, error_code: i16, throttle_ms: i32) -> Vec<u8> {
        let flexible = self.version >= FIRST_FLEXIBLE;
        let mut w = Writer(vec![0; 4]);
        w.i32(self.correlation_id);
        if flexible {
            w.uvarint(0); // response header tagged fields
        }
        w.array_len(self.topics.len(), flexible);
        for (name, partitions) in &self.topics {
            w.string(name, flexible);
            w.array_len(partitions.len(), flexible);
            for &index in partitions {
                w.i32(index);
                w.i16(error_code);
                w.i64(-1); // base offset
                w.i64(-1); // log append time
                w.i64(-1); // log start offset (v5+; every version handled here)
                if self.version >= 8 {
                    w.array_len(0, flexible); // record errors
                    if flexible {
                        w.uvarint(0); // null error message
                    } else {
                        w.i16(-1);
                    }
                }
                if flexible {
                    w.uvarint(0);
                }
            }
            if flexible {
                w.uvarint(0);
            }
        }
        w.i32(throttle_ms);
        if flexible {
            w.uvarint(0);
        }
        let len = (w.0.len() - 4) as i32;
        w.0[..4].copy_from_slice(&len.to_be_bytes());
        w.0
    }
}

/// Big-endian reads over a request; `None` past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A classic nullable string (`i16` length, -1 for null).
    fn nullable_string(&mut self) -> Option<&'a [u8]> {
        let len = self.i16()?;
        self.take(usize::try_from(len).unwrap_or(0))
    }

    /// A (nullable) string, compact in flexible versions.
    fn string(&mut self, flexible: bool) -> Option<&'a [u8]> {
        if !flexible {
            return self.nullable_string();
        }
        let len = self.uvarint()?;
        self.take(usize::try_from(len.saturating_sub(1)).ok()?)
    }

    /// Nullable bytes: `i32` length, or compact in flexible versions.
    fn bytes(&mut self, flexible: bool) -> Option<&'a [u8]> {
        let len = if flexible {
            usize::try_from(self.uvarint()?.saturating_sub(1)).ok()?
        } else {
            usize::try_from(self.i32()?).unwrap_or(0)
        };
        self.take(len)
    }

    fn array_len(&mut self, flexible: bool) -> Option<usize> {
        if flexible {
            usize::try_from(self.uvarint()?.saturating_sub(1)).ok()
        } else {
            usize::try_from(self.i32()?).ok()
        }
    }

    fn tagged_fields(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.take(size)?;
        }
        Some(())
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn array_len(&mut self, len: usize, flexible: bool) {
        if flexible {
            self.uvarint(len as u64 + 1);
        } else {
            self.i32(len as i32);
        }
    }

    fn string(&mut self, s: &[u8], flexible: bool) {
        if flexible {
            self.uvarint(s.len() as u64 + 1);
        } else {
            self.i16(s.len() as i16);
        }
        self.0.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn produce_v(version: i16) -> Vec<u8> {
        let flexible = version >= FIRST_FLEXIBLE;
        let mut w = Writer(Vec::new());
        w.i16(PRODUCE);
        w.i16(version);
        w.i32(77);
        w.string(b"rdkafka", false);
        if flexible {
            w.uvarint(0);
        }
        if flexible {
            w.uvarint(0); // null transactional id
        } else {
            w.i16(-1);
        }
        w.i16(-1); // acks=all
        w.i32(30_000);
        w.array_len(1, flexible);
        w.string(b"topic", flexible);
        w.array_len(2, flexible);
        for index in [0, 3] {
            w.i32(index);
            if flexible {
                w.uvarint(4);
            } else {
                w.i32(3);
            }
            w.0.extend_from_slice(b"abc");
            if flexible {
                w.uvarint(0);
            }
        }
        if flexible {
            w.uvarint(0);
            w.uvarint(0);
        }
        w.0
    }

    #[test]
    fn produce_requests_of_classic_and_flexible_versions_decode() {
        for version in [3, 7, 8, 9, 10, 12] {
            let request = ProduceRequest::decode(&produce_v(version)).expect("decodes");
            assert_eq!(request.correlation_id, 77);
            assert_eq!(request.acks, -1);
            assert_eq!(request.topics, vec![(b"topic".to_vec(), vec![0, 3])]);
        }
        assert!(ProduceRequest::decode(&produce_v(13)).is_none());
        assert!(ProduceRequest::decode(&produce_v(9)[..20]).is_none());
    }

    #[test]
    fn error_response_of_a_flexible_version_is_framed_and_compact() {
        let request = ProduceRequest::decode(&produce_v(9)).unwrap();
        let response = request.error_response(NOT_ENOUGH_REPLICAS, 250);
        let len = i32::from_be_bytes(response[..4].try_into().unwrap()) as usize;
        assert_eq!(len, response.len() - 4);
        let mut r = Reader(&response[4..]);
        assert_eq!(r.i32(), Some(77));
        r.tagged_fields().unwrap();
        assert_eq!(r.array_len(true), Some(1));
        assert_eq!(r.string(true), Some(&b"topic"[..]));
        assert_eq!(r.array_len(true), Some(2));
        assert_eq!(r.i32(), Some(0));
        assert_eq!(r.i16(), Some(NOT_ENOUGH_REPLICAS));
    }
}
