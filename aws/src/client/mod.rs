//! AWS client setup shared by every component that talks to AWS (`aws_s3`, `aws_kinesis`, the
//! Elasticsearch sink's SigV4 signing): region, endpoint override, the standard credential chain
//! plus an optional assumed role, client builders (path-style addressing for S3 behind a custom
//! endpoint) and [request signing](sigv4) for plain HTTP clients.
//!
//! Credentials come from the SDK's default chain, in its order: environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared config and
//! credentials files (`AWS_PROFILE`), web identity tokens (EKS IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE`,
//! `AWS_ROLE_ARN`), the ECS container endpoint and the EC2 instance metadata service. With
//! `auth.assume_role`, those credentials are used to assume the given role through STS, and the
//! role's temporary credentials (refreshed before they expire) sign every request.

pub mod errors;
pub mod sigv4;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `auth` of an AWS component.
///
/// ```toml
/// [sources.cloudtrail.auth.assume_role]
/// role_arn = "arn:aws:iam::123456789012:role/weir-reader"
/// external_id = "weir"
/// session_name = "weir-cloudtrail"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsAuth {
    /// A role to assume with the credentials of the default chain. Default: none (the chain's
    /// credentials are used as they are).
    #[serde(default)]
    pub assume_role: Option<AssumeRole>,
}

impl AwsAuth {
    /// Problems with these settings, under the `auth` key of a component's table.
    pub fn problems(&self) -> Vec<weir_core::component::ConfigProblem> {
        match &self.assume_role {
            Some(role) if role.role_arn.trim().is_empty() => {
                vec![weir_core::component::ConfigProblem::new(
                    "auth.assume_role.role_arn",
                    "must not be empty",
                )]
            }
            _ => Vec::new(),
        }
    }
}

/// `auth.assume_role`: the role Weir assumes through STS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssumeRole {
    /// ARN of the role (required).
    #[schemars(
        length(min = 1),
        example = "arn:aws:iam::123456789012:role/weir-reader"
    )]
    pub role_arn: String,
    /// External id the role's trust policy requires, if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Session name shown in CloudTrail (default `weir`).
    #[serde(default)]
    pub session_name: Option<String>,
}

/// Where and as whom an AWS component connects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsConnection {
    /// Region of the main resource (the queue). `None`: the SDK's region chain (`AWS_REGION`,
    /// profile, instance metadata).
    pub region: Option<String>,
    /// Endpoint override (`http://127.0.0.1:5000` for moto, an S3-compatible store).
    pub endpoint: Option<String>,
    /// Credentials.
    pub auth: AwsAuth,
}

impl AwsConnection {
    /// Resolves region and credentials into an SDK config.
    pub async fn sdk_config(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let base = loader.load().await;
        let Some(role) = &self.auth.assume_role else {
            return base;
        };
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
            .session_name(role.session_name.clone().unwrap_or_else(|| "weir".into()))
            .configure(&base);
        if let Some(external_id) = &role.external_id {
            provider = provider.external_id(external_id.clone());
        }
        let provider = provider.build().await;
        base.into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build()
    }
}

/// An SQS client.
pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// A Kinesis Data Streams client that does not retry by itself.
///
/// Every Kinesis call of `aws_kinesis` already sits in a retry loop of the source (readers back
/// off exponentially on `GetShardIterator`/`GetRecords` failures, discovery lists the shards again
/// next round), and that loop counts throttling in `weir_aws_kinesis_throttles_total`. The SDK's
/// standard retries (up to three attempts, throttling errors included) would hide most throttles
/// from the source — the metric would hardly move under throttling — and stack a second back-off
/// on top of the source's.
pub fn kinesis_client(sdk: &SdkConfig) -> aws_sdk_kinesis::Client {
    use aws_sdk_kinesis::config::retry::RetryConfig;
    let config = aws_sdk_kinesis::config::Builder::from(sdk)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

/// A DynamoDB client (the `aws_kinesis` lease table).
pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// S3 clients per region, built on demand from one SDK config: a bucket may live in another
/// region than the queue that announces its objects.
#[derive(Clone)]
pub struct S3Clients {
    sdk: SdkConfig,
    force_path_style: bool,
    by_region: Arc<Mutex<HashMap<String, aws_sdk_s3::Client>>>,
}

impl S3Clients {
    /// Clients from `sdk`; `force_path_style` for custom endpoints (moto, MinIO) that do not serve
    /// virtual-hosted bucket names.
    pub fn new(sdk: SdkConfig, force_path_style: bool) -> Self {
        Self {
            sdk,
            force_path_style,
            by_region: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The client for `region` (`None`: the configured region).
    pub fn client(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let key = region.unwrap_or_default().to_string();
        let mut cache = self.by_region.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                let mut builder = aws_sdk_s3::config::Builder::from(&self.sdk)
                    .force_path_style(self.force_path_style);
                if let Some(region) = region.filter(|r| !r.is_empty()) {
                    builder = builder.region(Region::new(region.to_string()));
                }
                aws_sdk_s3::Client::from_conf(builder.build())
            })
            .clone()
    }
}

impl std::fmt::Debug for S3Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Clients")
            .field("force_path_style", &self.force_path_style)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_clients_follow_the_record_region() {
        let sdk = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .behavior_version(BehaviorVersion::latest())
            .build();
        let clients = S3Clients::new(sdk, true);
        let region = |r: Option<&str>| clients.client(r).config().region().map(|r| r.to_string());
        assert_eq!(region(None).as_deref(), Some("us-east-1"));
        assert_eq!(region(Some("eu-west-1")).as_deref(), Some("eu-west-1"));
        assert_eq!(region(Some("")).as_deref(), Some("us-east-1"));
        // One client per region (none and empty are the configured one), reused.
        assert_eq!(clients.by_region.lock().unwrap().len(), 2);
        let _ = clients.client(Some("eu-west-1"));
        assert_eq!(clients.by_region.lock().unwrap().len(), 2);
    }
}
