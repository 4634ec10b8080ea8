//! Reading a table's bytes: a local file, or an S3 object through the shared AWS setup
//! ([`weir_aws::client`]), with the version it was read at, so a refresh can tell whether
//! anything changed before reading (and parsing) a large database again.

use std::time::SystemTime;

use weir_aws::client::{AwsConnection, S3Clients};

use super::{TableConfig, TableError, TableLocation};

/// The version of a table's file or object a load read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// A local file: its modification time and length.
    File {
        /// `mtime`.
        modified: Option<SystemTime>,
        /// Length in bytes.
        len: u64,
    },
    /// An S3 object: its ETag.
    ETag(String),
}

/// A table's bytes and their version.
#[derive(Debug)]
pub struct Fetched {
    /// The whole file or object.
    pub bytes: Vec<u8>,
    /// Its version.
    pub version: Version,
}

/// Reads a local file.
pub fn read_file(path: &std::path::Path) -> Result<Fetched, TableError> {
    let error = |e: std::io::Error| TableError::Read {
        location: path.display().to_string(),
        message: e.to_string(),
    };
    let bytes = std::fs::read(path).map_err(error)?;
    let meta = std::fs::metadata(path).map_err(error)?;
    Ok(Fetched {
        version: Version::File {
            modified: meta.modified().ok(),
            len: bytes.len() as u64,
        },
        bytes,
    })
}

/// An S3 client for a table's settings.
pub async fn s3_client(config: &TableConfig) -> aws_sdk_s3::Client {
    let connection = AwsConnection {
        region: config.region.clone(),
        endpoint: config.endpoint.clone(),
        auth: config.auth.clone(),
    };
    let sdk = connection.sdk_config().await;
    S3Clients::new(sdk, config.endpoint.is_some()).client(None)
}

fn s3_error(bucket: &str, key: &str, error: impl std::error::Error) -> TableError {
    TableError::Read {
        location: format!("s3://{bucket}/{key}"),
        message: aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
    }
}

/// The object's current ETag (a `HeadObject`: no body is read).
pub async fn s3_etag(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, TableError> {
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_error(bucket, key, e))?;
    Ok(head.e_tag().unwrap_or_default().to_string())
}

/// Reads an S3 object.
pub async fn read_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Fetched, TableError> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_error(bucket, key, e))?;
    let etag = object.e_tag().unwrap_or_default().to_string();
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| s3_error(bucket, key, e))?
        .into_bytes()
        .to_vec();
    Ok(Fetched {
        bytes,
        version: Version::ETag(etag),
    })
}

/// Reads a table's bytes, blocking. An S3 object is read on a thread of its own with a runtime
/// of its own: loading happens while the pipeline file is checked, which may be inside the
/// async runtime (a reload) or before there is one (`weir validate`).
pub fn fetch_blocking(
    config: &TableConfig,
    location: &TableLocation,
) -> Result<Fetched, TableError> {
    let (bucket, key) = match location {
        TableLocation::Local(path) => return read_file(path),
        TableLocation::S3 { bucket, key } => (bucket.clone(), key.clone()),
    };
    let config = config.clone();
    let read = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TableError::Read {
                location: format!("s3://{bucket}/{key}"),
                message: format!("cannot start a runtime: {e}"),
            })?;
        runtime.block_on(async {
            let client = s3_client(&config).await;
            read_s3(&client, &bucket, &key).await
        })
    };
    std::thread::scope(|scope| {
        scope
            .spawn(read)
            .join()
            .unwrap_or_else(|_| Err(TableError::Invalid("the S3 read panicked".into())))
    })
}
