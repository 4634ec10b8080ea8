//! The envelopes AWS wraps log records in between the service that writes them and Weir.
//!
//! Each is decoded into the records it carries; the CloudWatch Logs, Firehose request and S3
//! notification envelopes are also [registered formats](crate::formats::registry), so a captured
//! payload can be parsed like any log file.

pub mod cloudwatch;
pub mod firehose_request;
pub mod kpl;
pub mod s3_notification;
