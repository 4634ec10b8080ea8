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
                let signed = sign_aws(method.as_str(), url, &headers, &body, region, service)?;
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
    region: &Option<String>,
    service: &str,
) -> Result<Vec<(&'static str, String)>, ClientError> {
    let region = region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .ok_or_else(|| ClientError::Aws("no region (auth.region or AWS_REGION)".into()))?;
    let credentials = aws_credentials()?;
    let identity = credentials.into();
    let settings = SigningSettings::default();
    let params: aws_sigv4::http_request::SigningParams<'_> = SigningParams::builder()
        .identity(&identity)
        .region(&region)
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

/// Credentials from the environment, else from the shared credentials file.
fn aws_credentials() -> Result<Credentials, ClientError> {
    if let (Ok(key), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        let token = std::env::var("AWS_SESSION_TOKEN").ok();
        return Ok(Credentials::new(key, secret, token, None, "environment"));
    }
    let path = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|_| {
            std::env::var("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials"))
        })
        .map_err(|_| ClientError::Aws("no credentials in the environment and no HOME".into()))?;
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ClientError::Aws(format!(
            "no credentials in the environment, and {}: {e}",
            path.display()
        ))
    })?;
    parse_credentials_file(&text, &profile).ok_or_else(|| {
        ClientError::Aws(format!(
            "profile `{profile}` in {} has no aws_access_key_id/aws_secret_access_key",
            path.display()
        ))
    })
}

/// The keys of `profile` in an INI-style credentials file.
fn parse_credentials_file(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut key, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => key = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials::new(key?, secret?, token, None, "profile"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_profiles() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[other]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=T\n";
        let c = parse_credentials_file(text, "other").unwrap();
        assert_eq!(c.access_key_id(), "C");
        assert_eq!(c.session_token(), Some("T"));
        assert_eq!(
            parse_credentials_file(text, "default")
                .unwrap()
                .access_key_id(),
            "A"
        );
        assert!(parse_credentials_file(text, "missing").is_none());
    }

    #[test]
    fn sigv4_headers_are_produced() {
        let headers = [("content-type", "application/x-ndjson".to_string())];
        let region = Some("eu-west-1".to_string());
        // Environment credentials are process-wide; use the file path instead.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id=AKIDEXAMPLE\naws_secret_access_key=secret\n",
        )
        .unwrap();
        let creds =
            parse_credentials_file(&std::fs::read_to_string(&file).unwrap(), "default").unwrap();
        let identity = creds.into();
        let params: aws_sigv4::http_request::SigningParams<'_> = SigningParams::builder()
            .identity(&identity)
            .region(region.as_deref().unwrap())
            .name("es")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            "https://search.example.com/_bulk",
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(b"{}\n"),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let names: Vec<_> = instructions.headers().map(|(k, _)| k.to_string()).collect();
        assert!(names.contains(&"authorization".to_string()), "{names:?}");
        assert!(names.contains(&"x-amz-date".to_string()), "{names:?}");
        let auth = instructions
            .headers()
            .find(|(k, _)| *k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/es/aws4_request"), "{auth}");
    }
}
