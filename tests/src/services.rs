//! The real servers the end-to-end tests talk to: moto (AWS APIs), tansu (Kafka protocol) and
//! osmem-server (Elasticsearch/OpenSearch API).
//!
//! `tests/services/install.sh` (run by `tests/run.sh`) installs them, pinned, into
//! `target/test-venv`. Each test starts its own server process on a free loopback port, so tests
//! never share state and a test may stop and restart its server (outage tests). The process is
//! killed when the [`Service`] is dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, http_get, workspace_root};

/// How long a server may take to answer its readiness probe.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of a program in the test venv; panics with the fix when the venv is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = workspace_root().join("target/test-venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/services/install.sh (tests/run.sh does)",
        path.display()
    );
    path
}

/// How to tell that a freshly started server is ready.
#[derive(Clone, Copy, Debug)]
pub enum Readiness {
    /// A TCP connect succeeds.
    TcpConnect,
    /// `GET <path>` answers with a status below 500.
    HttpGet(&'static str),
}

/// A server process started for one test, on `127.0.0.1:<port>`.
pub struct Service {
    /// The program's name (for messages).
    pub name: String,
    /// Its loopback port.
    pub port: u16,
    program: PathBuf,
    args: Vec<String>,
    readiness: Readiness,
    log: PathBuf,
    child: Option<Child>,
}

impl Service {
    /// Starts `program` (from the test venv) with `args`, where `{port}` is replaced by a free
    /// port, and waits until it is ready.
    pub fn start(program: &str, args: &[&str], readiness: Readiness) -> Self {
        Self::start_on(free_port(), program, args, readiness)
    }

    /// Like [`Service::start`] on a chosen port (to restart a server where clients expect it).
    pub fn start_on(port: u16, program: &str, args: &[&str], readiness: Readiness) -> Self {
        let log = std::env::temp_dir().join(format!("weir-test-{program}-{port}.log"));
        let mut service = Self {
            name: program.to_string(),
            port,
            program: venv_bin(program),
            args: args
                .iter()
                .map(|a| a.replace("{port}", &port.to_string()))
                .collect(),
            readiness,
            log,
            child: None,
        };
        service.restart();
        service
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One JSON request to the server (osmem's Elasticsearch API); its JSON answer. Panics
    /// with the whole response when the answer is not JSON.
    pub fn json(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        use std::io::{Read as _, Write as _};
        let mut stream = TcpStream::connect(self.address()).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let answer = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        serde_json::from_str(answer).unwrap_or_else(|e| panic!("{method} {path}: {e}: {response}"))
    }

    /// Kills the server (an outage); [`Service::restart`] brings it back on the same port.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on its port and waits until it is ready.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(&self.log).expect("service log file");
        let child = Command::new(&self.program)
            .args(&self.args)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// What the server printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{} exited during start-up ({status}):\n{}",
                        self.name,
                        self.log_text()
                    );
                }
            }
            let ready = match self.readiness {
                Readiness::TcpConnect => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
                Readiness::HttpGet(path) => {
                    matches!(http_get(self.port, path), Some((status, _)) if status < 500)
                }
            };
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{} not ready on port {} after {READY_TIMEOUT:?}:\n{}",
            self.name,
            self.port,
            self.log_text()
        );
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// moto in server mode: every AWS API the sources use, at [`Service::url`].
pub fn moto() -> Service {
    Service::start(
        "moto_server",
        &["-H", "127.0.0.1", "-p", "{port}"],
        Readiness::HttpGet("/moto-api/"),
    )
}

/// The tansu Kafka-protocol broker, in-memory storage, at [`Service::address`].
pub fn tansu() -> Service {
    Service::start(
        "tansu",
        &[
            "broker",
            "--listener-url",
            "tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            "tcp://127.0.0.1:{port}",
            "--storage-engine",
            "memory://tansu/",
        ],
        Readiness::TcpConnect,
    )
}

/// tansu behind `proxy`: it advertises the proxy's address, so every client connection (after
/// bootstrap too) goes through the proxy, which then forwards to tansu.
pub fn tansu_behind(proxy: &mut crate::kafka_proxy::KafkaProxy) -> Service {
    let advertised = format!("tcp://{}", proxy.address());
    let broker = Service::start(
        "tansu",
        &[
            "broker",
            "--listener-url",
            "tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            &advertised,
            "--storage-engine",
            "memory://tansu/",
        ],
        Readiness::TcpConnect,
    );
    proxy.forward_to(&broker.address());
    broker
}

/// osmem-server, the Elasticsearch/OpenSearch API, at [`Service::url`].
pub fn osmem() -> Service {
    Service::start(
        "osmem-server",
        &["-addr", "127.0.0.1:{port}", "-no-stdin-watch", "-no-ja"],
        Readiness::HttpGet("/_cluster/health"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each server starts from the venv and answers; this is the check that install.sh worked.
    #[test]
    fn every_test_service_starts_and_answers() {
        let moto = moto();
        assert!(matches!(http_get(moto.port, "/moto-api/"), Some((200, _))));
        let osmem = osmem();
        let (status, body) = http_get(osmem.port, "/_cluster/health").expect("osmem answers");
        assert_eq!(status, 200, "{body}");
        let mut tansu = tansu();
        assert!(TcpStream::connect(tansu.address()).is_ok());
        tansu.stop();
        assert!(TcpStream::connect(tansu.address()).is_err());
        tansu.restart();
        assert!(TcpStream::connect(tansu.address()).is_ok());
    }
}
