//! SigV4 signing of plain HTTP requests, for components that talk to AWS endpoints without an SDK
//! client (the Elasticsearch sink against Amazon OpenSearch Service).
//!
//! Credentials come from the same [`AwsConnection`] setup as every SDK client (the standard chain,
//! web identity, `assume_role`), are loaded on first use and are cached until five minutes before
//! they expire.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;

use super::AwsConnection;

/// A request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// No credentials could be had from the chain (or the assumed role).
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    /// No region was configured and the chain has none.
    #[error("no region (auth.region or AWS_REGION)")]
    Region,
    /// The signer rejected the request (a malformed URL or header).
    #[error("{0}")]
    Sign(String),
}

/// Signs requests for one AWS service with the credentials of one [`AwsConnection`].
pub struct RequestSigner {
    connection: AwsConnection,
    service: String,
    config: tokio::sync::OnceCell<SdkConfig>,
    cached: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSigner")
            .field("service", &self.service)
            .field("region", &self.connection.region)
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    /// A signer for `service` (`es`, `aoss`) connecting as `connection` says.
    pub fn new(connection: AwsConnection, service: impl Into<String>) -> Self {
        Self {
            connection,
            service: service.into(),
            config: tokio::sync::OnceCell::new(),
            cached: Mutex::new(None),
        }
    }

    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| self.connection.sdk_config())
            .await
    }

    async fn credentials(&self) -> Result<Credentials, SigningError> {
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
            .ok_or_else(|| SigningError::Credentials("no credential provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| SigningError::Credentials(e.to_string()))?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }

    async fn region(&self) -> Result<String, SigningError> {
        match &self.connection.region {
            Some(region) => Ok(region.clone()),
            None => self
                .config()
                .await
                .region()
                .map(|r| r.to_string())
                .ok_or(SigningError::Region),
        }
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`…) to add to a
    /// request with these `headers` and `body`.
    pub async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, SigningError> {
        let credentials = self.credentials().await?;
        let region = self.region().await?;
        sign_with(
            method,
            url,
            headers,
            body,
            credentials,
            &region,
            &self.service,
        )
    }
}

/// SigV4 headers for a request, signed with `credentials` for `service` in `region`.
pub fn sign_with(
    method: &str,
    url: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
    credentials: Credentials,
    region: &str,
    service: &str,
) -> Result<Vec<(&'static str, String)>, SigningError> {
    let identity = credentials.into();
    let params: aws_sigv4::http_request::SigningParams<'_> = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SigningError::Sign(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .into_parts();
    let (signed, _) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_headers_are_produced() {
        let headers = [("content-type", "application/x-ndjson".to_string())];
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let signed = sign_with(
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
}
