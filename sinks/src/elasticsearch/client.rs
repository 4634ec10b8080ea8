//! The HTTP side: one reqwest client, round-robin endpoints, authentication (basic, API key, AWS
//! SigV4) and the startup health check.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use weir_aws::client::sigv4::{RequestSigner, SigningError};
use weir_aws::client::AwsConnection;

use super::config::{Auth, EsCompression, EsTls};

/// A request could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub(super) enum ClientError {
    /// Building the client failed (bad CA file...).
    #[error("{0}")]
    Build(String),
    /// No AWS credentials or region.
    #[error("AWS signing: {0}")]
    Aws(#[from] SigningError),
    /// The request failed before an answer (connect, timeout).
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

/// An HTTP answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: bytes::Bytes,
}

/// The bulk client.
pub(super) struct Client {
    http: reqwest::Client,
    endpoints: Vec<String>,
    next: AtomicUsize,
    auth: Option<Auth>,
    compression: EsCompression,
    /// Signs requests when `auth.strategy = "aws"`.
    signer: Option<RequestSigner>,
}

impl Client {
    pub(super) fn new(
        endpoints: &[String],
        auth: Option<Auth>,
        tls: &EsTls,
        compression: EsCompression,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .danger_accept_invalid_certs(!tls.verify_certificate)
            .danger_accept_invalid_hostnames(!tls.verify_hostname);
        if let Some(path) = &tls.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Build(format!("tls.ca_file {path}: {e}")))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| ClientError::Build(format!("tls.ca_file {path}: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        let signer = match &auth {
            Some(Auth::Aws {
                region,
                service,
                assume_role,
            }) => Some(RequestSigner::new(
                AwsConnection {
                    region: region.clone(),
                    endpoint: None,
                    auth: weir_aws::client::AwsAuth {
                        assume_role: assume_role.clone(),
                    },
                },
                service.clone(),
            )),
            _ => None,
        };
        Ok(Self {
            http,
            endpoints: endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            next: AtomicUsize::new(0),
            auth,
            compression,
            signer,
        })
    }

    fn endpoint(&self) -> &str {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.endpoints.len().max(1);
        self.endpoints.get(i).map_or("", String::as_str)
    }

    /// `POST <endpoint>/_bulk` with `body` (already compressed if configured).
    pub(super) async fn bulk(&self, body: Vec<u8>) -> Result<Answer, ClientError> {
        let url = format!("{}/_bulk", self.endpoint());
        let mut headers = vec![("content-type", "application/x-ndjson".to_string())];
        if self.compression == EsCompression::Gzip {
            headers.push(("content-encoding", "gzip".to_string()));
        }
        self.send(reqwest::Method::POST, &url, headers, body).await
    }

    /// `GET <first endpoint>/`.
    pub(super) async fn root(&self) -> Result<Answer, ClientError> {
        let url = format!("{}/", self.endpoints.first().map_or("", String::as_str));
        self.send(reqwest::Method::GET, &url, Vec::new(), Vec::new())
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        mut headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        match &self.auth {
            None => {}
            Some(Auth::Basic { user, password }) => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()));
                headers.push(("authorization", format!("Basic {token}")));
            }
            Some(Auth::ApiKey { api_key }) => {
                headers.push(("authorization", format!("ApiKey {}", api_key.expose())));
            }
            Some(Auth::Aws { .. }) => {
                if let Some(signer) = &self.signer {
                    let signed = signer.sign(method.as_str(), url, &headers, &body).await?;
                    headers.extend(signed);
                }
            }
        }
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in headers {
            match reqwest::header::HeaderValue::from_str(&value) {
                Ok(mut value) => {
                    // Credentials stay out of reqwest's `Debug` output.
                    value.set_sensitive(name == "authorization");
                    request = request.header(name, value);
                }
                Err(_) => request = request.header(name, value),
            }
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok(Answer { status, body })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use weir_core::secret::Secret;

    /// A server answering one request `200 {}`; joins to the request head it saw.
    fn one_request_server() -> (u16, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                .unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        (port, server)
    }

    /// The request head a client with `auth` sends.
    async fn head_with(auth: Auth) -> String {
        let (port, server) = one_request_server();
        let client = Client::new(
            &[format!("http://127.0.0.1:{port}")],
            Some(auth),
            &EsTls::default(),
            EsCompression::None,
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(client.root().await.unwrap().status, 200);
        server.join().unwrap()
    }

    /// The secrets themselves (not their redacted form) go into the `Authorization` header.
    #[tokio::test]
    async fn basic_and_api_key_auth_send_the_exposed_secret() {
        let basic = head_with(Auth::Basic {
            user: "weir".into(),
            password: Secret::new("hunter2"),
        })
        .await
        .to_ascii_lowercase();
        let token = base64::engine::general_purpose::STANDARD.encode("weir:hunter2");
        assert!(
            basic.contains(&format!(
                "authorization: basic {}",
                token.to_ascii_lowercase()
            )),
            "{basic}"
        );
        let api_key = head_with(Auth::ApiKey {
            api_key: Secret::new("a2V5"),
        })
        .await
        .to_ascii_lowercase();
        assert!(api_key.contains("authorization: apikey a2v5"), "{api_key}");
    }

    /// `auth.strategy = "aws"` signs with what the standard AWS chain finds (here: the
    /// environment; the chain also covers profiles, web identity, ECS and EC2 metadata).
    #[tokio::test]
    async fn sigv4_uses_the_standard_credential_chain() {
        // This test binary's only AWS user; the variables are set before anything reads them.
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDFROMCHAIN");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
        std::env::set_var("AWS_REGION", "eu-central-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let (port, server) = one_request_server();
        let client = Client::new(
            &[format!("http://127.0.0.1:{port}")],
            Some(Auth::Aws {
                region: None,
                service: "es".into(),
                assume_role: None,
            }),
            &EsTls::default(),
            EsCompression::None,
            Duration::from_secs(5),
        )
        .unwrap();
        let answer = client.root().await.unwrap();
        assert_eq!(answer.status, 200);
        let head = server.join().unwrap().to_ascii_lowercase();
        assert!(
            head.contains("credential=akidfromchain/")
                && head.contains("/eu-central-1/es/aws4_request"),
            "{head}"
        );
    }
}
