//! The HTTP side: one reqwest client, round-robin endpoints, authentication (basic, API key, AWS
//! SigV4) and the startup health check.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use base64::Engine as _;

use super::config::{Auth, EsCompression, EsTls};

/// A request could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub(super) enum ClientError {
    /// Building the client failed (bad CA file...).
    #[error("{0}")]
    Build(String),
    /// No AWS credentials or region.
    #[error("AWS signing: {0}")]
    Aws(String),
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
    aws: AwsIdentity,
}

/// Credentials and region for SigV4, from the standard AWS chains (environment, profile, web
/// identity / IRSA, ECS container and EC2 instance metadata), loaded on first use and cached
/// until five minutes before they expire.
#[derive(Default)]
struct AwsIdentity {
    config: tokio::sync::OnceCell<aws_config::SdkConfig>,
    cached: std::sync::Mutex<Option<Credentials>>,
}

impl AwsIdentity {
    async fn config(&self) -> &aws_config::SdkConfig {
        self.config
            .get_or_init(|| aws_config::defaults(aws_config::BehaviorVersion::latest()).load())
            .await
    }

    async fn credentials(&self) -> Result<Credentials, ClientError> {
        use aws_credential_types::provider::ProvideCredentials;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(c) = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|c| fresh(c))
        {
            return Ok(c.clone());
        }
        let provider = self
            .config()
            .await
            .credentials_provider()
            .ok_or_else(|| ClientError::Aws("no AWS credential provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| ClientError::Aws(format!("no AWS credentials: {e}")))?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }

    async fn region(&self, configured: &Option<String>) -> Result<String, ClientError> {
        match configured {
            Some(region) => Ok(region.clone()),
            None => self
                .config()
                .await
                .region()
                .map(|r| r.to_string())
                .ok_or_else(|| ClientError::Aws("no region (auth.region or AWS_REGION)".into())),
        }
    }
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
        Ok(Self {
            http,
            endpoints: endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            next: AtomicUsize::new(0),
            auth,
            compression,
            aws: AwsIdentity::default(),
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
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                headers.push(("authorization", format!("Basic {token}")));
            }
            Some(Auth::ApiKey { api_key }) => {
                headers.push(("authorization", format!("ApiKey {api_key}")));
            }
            Some(Auth::Aws { region, service }) => {
                let credentials = self.aws.credentials().await?;
                let region = self.aws.region(region).await?;
                let signed = sign_aws(
                    method.as_str(),
                    url,
                    &headers,
                    &body,
                    credentials,
                    &region,
                    service,
                )?;
                headers.extend(signed);
            }
        }
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok(Answer { status, body })
    }
}

/// SigV4 headers for a request.
fn sign_aws(
    method: &str,
    url: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
    credentials: Credentials,
    region: &str,
    service: &str,
) -> Result<Vec<(&'static str, String)>, ClientError> {
    let identity = credentials.into();
    let settings = SigningSettings::default();
    let params: aws_sigv4::http_request::SigningParams<'_> = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| ClientError::Aws(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| ClientError::Aws(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| ClientError::Aws(e.to_string()))?
        .into_parts();
    let (signed, _) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn sigv4_headers_are_produced() {
        let headers = [("content-type", "application/x-ndjson".to_string())];
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let signed = sign_aws(
            "POST",
            "https://search.example.com/_bulk",
            &headers,
            b"{}\n",
            credentials,
            "eu-west-1",
            "es",
        )
        .unwrap();
        let names: Vec<_> = signed.iter().map(|(k, _)| *k).collect();
        assert!(names.contains(&"authorization"), "{names:?}");
        assert!(names.contains(&"x-amz-date"), "{names:?}");
        let auth = &signed
            .iter()
            .find(|(k, _)| *k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/es/aws4_request"), "{auth}");
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
        let client = Client::new(
            &[format!("http://127.0.0.1:{port}")],
            Some(Auth::Aws {
                region: None,
                service: "es".into(),
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
