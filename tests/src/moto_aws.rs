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

/// An S3 `ObjectCreated:Put` notification of one object, as S3 sends it to SQS.
pub fn s3_notification(bucket: &str, key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket},
               "object": {"key": key, "size": 1}}
    }]})
    .to_string()
}

/// Creates a Kinesis stream of `shards` shards and waits until it is active.
pub async fn create_active_stream(kinesis: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    kinesis
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
    loop {
        let described = kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .expect("describe stream");
        let summary = described.stream_description_summary.expect("summary");
        if summary.stream_status == aws_sdk_kinesis::types::StreamStatus::Active {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Puts an object and announces it on an SQS queue, as S3 event notifications would.
pub async fn put_and_announce(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    (bucket, key): (&str, &str),
    body: Vec<u8>,
) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .expect("put object");
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(s3_notification(bucket, key))
        .send()
        .await
        .expect("send message");
}
