//! Talking to moto as to AWS: the region and account it serves, the environment a `weir` process
//! needs to sign with static test credentials and read nothing from the machine, and an SDK
//! configuration for the tests' own clients.

use aws_config::SdkConfig;

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// moto's default account id.
pub const ACCOUNT: &str = "123456789012";

/// Environment for a `weir` process talking to moto: static credentials, the region, and no
/// instance metadata or profile files from the machine running the tests.
pub const WEIR_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", REGION),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
];

/// SDK configuration for clients of the moto server at `endpoint` (`http://127.0.0.1:<port>`),
/// loaded on `rt`.
pub fn sdk_config(rt: &tokio::runtime::Runtime, endpoint: &str) -> SdkConfig {
    let credentials = aws_credential_types::Credentials::new("test", "test", None, None, "test");
    rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(credentials)
            .load(),
    )
}

/// An S3 client for moto: path-style addressing (moto serves no virtual-hosted bucket names).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}
