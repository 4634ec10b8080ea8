//! Every format of the catalogue by name: how to make its parser and whether its records span lines.
//! `aws_parse`, `weir parse` and the corpus tests all take formats from here.

use super::*;

/// One supported log format.
pub struct Format {
    /// The `aws.log_type` name, also the `format = "…"` option value.
    pub name: &'static str,
    /// One line for docs.
    pub description: &'static str,
    /// A fresh parser (one per stream, since some keep header context).
    pub new_parser: fn() -> Box<dyn RecordParser>,
    /// For formats whose records span several lines in line-framed input: whether a line starts a
    /// new record. `None`: one line is one record.
    pub record_start: Option<fn(&[u8]) -> bool>,
}

fn boxed<P: RecordParser + Default + 'static>() -> Box<dyn RecordParser> {
    Box::new(P::default())
}

/// Digest files are integrity manifests, not activity: recognised and consumed, not emitted.
fn cloudtrail_skipping_digests() -> Box<dyn RecordParser> {
    Box::new(cloudtrail::CloudTrailParser::skip_digests())
}

/// The catalogue.
pub const FORMATS: &[Format] = &[
    Format { name: "cloudtrail", description: "CloudTrail events, `Records` documents and Insights events (digest files are recognised and skipped)", new_parser: cloudtrail_skipping_digests, record_start: None },
    Format { name: "vpc_flow", description: "VPC Flow Logs: v2 default, custom formats from the header line, v3–v8 and Transit Gateway fields", new_parser: boxed::<vpc_flow::VpcFlowParser>, record_start: None },
    Format { name: "alb", description: "Application Load Balancer access logs (all fields through 2025)", new_parser: boxed::<alb::AlbParser>, record_start: None },
    Format { name: "nlb", description: "Network Load Balancer TLS access logs", new_parser: boxed::<nlb::NlbParser>, record_start: None },
    Format { name: "elb_classic", description: "Classic Load Balancer access logs", new_parser: boxed::<elb_classic::ElbClassicParser>, record_start: None },
    Format { name: "s3_access", description: "S3 server access logs (all 26 fields, older records that stop early)", new_parser: boxed::<s3_access::S3AccessParser>, record_start: None },
    Format { name: "cloudfront", description: "CloudFront standard logs (W3C, columns from `#Fields:`)", new_parser: boxed::<cloudfront::CloudFrontParser>, record_start: None },
    Format { name: "route53_query", description: "Route 53 public DNS query logs", new_parser: boxed::<route53::Route53QueryParser>, record_start: None },
    Format { name: "route53_resolver", description: "Route 53 Resolver (VPC) query logs", new_parser: boxed::<route53_resolver::Route53ResolverParser>, record_start: None },
    Format { name: "waf", description: "AWS WAF v2 logs", new_parser: boxed::<waf::WafParser>, record_start: None },
    Format { name: "redshift_connection", description: "Redshift connection audit log", new_parser: boxed::<redshift::RedshiftConnectionParser>, record_start: None },
    Format { name: "redshift_user", description: "Redshift user audit log", new_parser: boxed::<redshift::RedshiftUserParser>, record_start: None },
    Format { name: "redshift_user_activity", description: "Redshift user activity audit log (SQL spans lines)", new_parser: boxed::<redshift::RedshiftUserActivityParser>, record_start: Some(redshift::is_user_activity_start) },
    Format { name: "rds_postgresql", description: "RDS / Aurora PostgreSQL log lines", new_parser: boxed::<rds::RdsPostgresqlParser>, record_start: Some(rds::is_postgresql_record_start) },
    Format { name: "rds_mysql", description: "RDS / Aurora MySQL error log lines", new_parser: boxed::<rds::RdsMysqlParser>, record_start: Some(rds::is_mysql_record_start) },
    Format { name: "lambda", description: "Lambda platform lines (START/END/REPORT), runtime lines and JSON-format logs", new_parser: boxed::<lambda::LambdaParser>, record_start: None },
    Format { name: "apigateway_execution", description: "API Gateway REST execution logs", new_parser: boxed::<apigateway::ApiGatewayExecutionParser>, record_start: None },
    Format { name: "firehose_error", description: "Firehose error log events and failed-record objects", new_parser: boxed::<firehose::FirehoseErrorParser>, record_start: None },
    Format { name: "cloudwatch_logs", description: "CloudWatch Logs subscription envelopes (gzip or JSON)", new_parser: boxed::<cloudwatch::CloudWatchLogsParser>, record_start: None },
    Format { name: "firehose_http_request", description: "Firehose HTTP endpoint request bodies (records decoded, CloudWatch envelopes expanded)", new_parser: boxed::<firehose_http::FirehoseHttpRequestParser>, record_start: None },
    Format { name: "s3_notification", description: "S3 event notifications (direct, SNS-wrapped, EventBridge, test events)", new_parser: boxed::<s3_notification::S3NotificationParser>, record_start: None },
];

/// The format called `name`.
pub fn find(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Every format name, for error messages.
pub fn names() -> Vec<&'static str> {
    FORMATS.iter().map(|f| f.name).collect()
}
