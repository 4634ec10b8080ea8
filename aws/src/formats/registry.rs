//! The format registry: every log format Weir parses, declared once.
//!
//! Each [`Format`] entry says what the format is called, how to make its parser, what its records
//! look like, how `format = "auto"` recognises it and where its corpus samples are. Everything
//! else iterates [`FORMATS`]: detection ([`super::detect`]), `aws_parse`'s `format` option,
//! `weir parse --list-formats`, the generated reference and README table, the corpus and
//! record-form tests, the fuzz target and the parser benches. Adding a format is its module plus
//! one entry here (and its corpus files).
//!
//! **Order matters for detection**: content checks are tried in the order of [`FORMATS`], so a
//! more specific check (a Firehose request body, which may also carry `requestId`) comes before a
//! looser one (Lambda's JSON log lines).

use super::*;
use crate::envelopes::{cloudwatch, firehose_request, s3_notification};
use crate::normalize::Mappings;

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
    /// What one parsed record looks like.
    pub shape: Shape,
    /// How `format = "auto"` recognises the format.
    pub detect: Detection,
    /// Folders of `shared/corpus` (or `corpus-wave2`) holding samples of this format.
    pub corpus: &'static [&'static str],
    /// Its ECS and OCSF output: data stream, product and the mappings (declared in the
    /// format's module, next to its parser; see [`crate::normalize`]).
    pub mappings: Mappings,
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Format {}

/// The form of a format's parsed records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Space/tab-delimited fields at fixed positions: parsed into a positional
    /// [`Record`](weir_core::fields::Record) sharing the format's schema.
    Positional,
    /// A JSON document per record (CloudTrail's top level is also held as a record).
    Json,
    /// Text lines with a format of their own (prefixes, `key: value` pairs).
    Text,
    /// An envelope carrying other records: each parsed record may be parsed again by the format
    /// of what it carries (its log group, its content).
    Envelope,
}

impl Shape {
    /// A word for docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Positional => "positional",
            Shape::Json => "JSON",
            Shape::Text => "text",
            Shape::Envelope => "envelope",
        }
    }
}

/// How a format is recognised by `format = "auto"`, in the order the checks are made.
pub struct Detection {
    /// Stream identities (S3 key, `s3://bucket/key`, file path): any pattern matching wins.
    pub stream: &'static [Pattern],
    /// CloudWatch Logs group names of subscription events: any pattern matching wins.
    pub log_group: &'static [Pattern],
    /// CloudWatch Logs stream names, when no group matched.
    pub log_stream: &'static [Pattern],
    /// A check of a non-JSON record's first bytes (leading whitespace and BOM removed, at most
    /// [`super::detect::SNIFF_BYTES`]).
    pub text: Option<fn(&[u8]) -> bool>,
    /// A check of a JSON record's top-level members (and of the first element of a top-level
    /// `Records` array): never of keys nested deeper.
    pub json: Option<fn(&super::detect::JsonMembers<'_>) -> bool>,
    /// What the content checks look for, in words, for the reference.
    pub content_words: &'static str,
}

impl Detection {
    /// No automatic detection (the format must be named).
    pub const NONE: Detection = Detection {
        stream: &[],
        log_group: &[],
        log_stream: &[],
        text: None,
        json: None,
        content_words: "",
    };
}

/// A pattern on a stream identity or log group name. Written as data, so the reference can show
/// it.
#[derive(Clone, Copy, Debug)]
pub enum Pattern {
    /// The whole text contains this.
    Contains(&'static str),
    /// The last path segment (file or object name) contains this.
    NameContains(&'static str),
    /// The text starts with this.
    Prefix(&'static str),
    /// The text ends with this.
    Suffix(&'static str),
    /// Every one of these.
    All(&'static [Pattern]),
    /// Any one of these.
    Any(&'static [Pattern]),
    /// Not this.
    Not(&'static Pattern),
    /// The last path segment has this shape (described in words, checked by the function).
    NameShape(&'static str, fn(&str) -> bool),
}

impl Pattern {
    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let name = text.rsplit('/').next().unwrap_or(text);
        match self {
            Pattern::Contains(s) => text.contains(s),
            Pattern::NameContains(s) => name.contains(s),
            Pattern::Prefix(s) => text.starts_with(s),
            Pattern::Suffix(s) => text.ends_with(s),
            Pattern::All(all) => all.iter().all(|p| p.matches(text)),
            Pattern::Any(any) => any.iter().any(|p| p.matches(text)),
            Pattern::Not(p) => !p.matches(text),
            Pattern::NameShape(_, check) => check(name),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |f: &mut std::fmt::Formatter<'_>, ps: &[Pattern], sep: &str| {
            for (i, p) in ps.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{p}")?;
            }
            Ok(())
        };
        match self {
            Pattern::Contains(s) => write!(f, "`…{s}…`"),
            Pattern::NameContains(s) => write!(f, "name `…{s}…`"),
            Pattern::Prefix(s) => write!(f, "`{s}…`"),
            Pattern::Suffix(s) => write!(f, "`…{s}`"),
            Pattern::All(ps) => {
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    match p {
                        Pattern::Any(_) => write!(f, "({p})")?,
                        _ => write!(f, "{p}")?,
                    }
                }
                Ok(())
            }
            Pattern::Any(ps) => join(f, ps, " or "),
            Pattern::Not(p) => write!(f, "not {p}"),
            Pattern::NameShape(words, _) => write!(f, "name {words}"),
        }
    }
}

fn boxed<P: RecordParser + Default + 'static>() -> Box<dyn RecordParser> {
    Box::new(P::default())
}

/// Digest files are integrity manifests, not activity: recognised and consumed, not emitted.
fn cloudtrail_skipping_digests() -> Box<dyn RecordParser> {
    Box::new(cloudtrail::CloudTrailParser::skip_digests())
}

const ELB_OBJECT: Pattern = Pattern::Any(&[
    Pattern::Contains("/elasticloadbalancing/"),
    Pattern::NameContains("_elasticloadbalancing_"),
]);

/// The registry, in detection order.
pub static FORMATS: &[Format] = &[
    Format {
        name: firehose_request::LOG_TYPE,
        description: "Firehose HTTP endpoint request bodies (records decoded, CloudWatch envelopes expanded)",
        new_parser: boxed::<firehose_request::FirehoseHttpRequestParser>,
        record_start: None,
        shape: Shape::Envelope,
        detect: Detection { json: Some(firehose_request::detect_json), content_words: "JSON with `requestId` and `records`",
            ..Detection::NONE },
        corpus: &["firehose-http-endpoint"],
        mappings: Mappings::base("aws.firehose_http_request", "aws.firehose_http_request", "Amazon Data Firehose"),
    },
    Format {
        name: cloudwatch::LOG_TYPE,
        description: "CloudWatch Logs subscription envelopes (gzip or JSON)",
        new_parser: boxed::<cloudwatch::CloudWatchLogsParser>,
        record_start: None,
        shape: Shape::Envelope,
        detect: Detection { text: Some(cloudwatch::is_gzip), json: Some(cloudwatch::detect_json), content_words: "gzip magic; JSON with `messageType` or `awslogs`",
            ..Detection::NONE },
        corpus: &["cloudwatch-subscription"],
        mappings: Mappings::base("aws.cloudwatch_logs", "aws.cloudwatch_logs", "Amazon CloudWatch Logs"),
    },
    Format {
        name: s3_notification::LOG_TYPE,
        description: "S3 event notifications (direct, SNS-wrapped, EventBridge, test events)",
        new_parser: boxed::<s3_notification::S3NotificationParser>,
        record_start: None,
        shape: Shape::Json,
        detect: Detection { json: Some(s3_notification::detect_json), content_words: "JSON `Event: s3:TestEvent`, SNS `Type: Notification`, `Records[0].eventSource: aws:s3`, EventBridge `source: aws.s3`",
            ..Detection::NONE },
        corpus: &["s3-event-notifications"],
        mappings: Mappings::base("aws.s3_notification", "aws.s3_notification", "Amazon S3"),
    },
    Format {
        name: cloudtrail::LOG_TYPE,
        description: "CloudTrail events, `Records` documents and Insights events (digest files are recognised and skipped)",
        new_parser: cloudtrail_skipping_digests,
        record_start: None,
        shape: Shape::Json,
        detect: Detection {
            stream: &[
                Pattern::Contains("/CloudTrail/"),
                Pattern::Contains("/CloudTrail-Insight/"),
                Pattern::Contains("/CloudTrail-Digest/"),
                Pattern::NameContains("_CloudTrail_"),
                Pattern::NameContains("_CloudTrail-Digest_"),
                Pattern::NameContains("_CloudTrail-Insight_"),
            ],
            log_stream: &[Pattern::Contains("_CloudTrail_")],
            json: Some(cloudtrail::detect_json),
            content_words: "JSON with `eventVersion`, `digestStartTime` or `Records`",
            ..Detection::NONE
        },
        corpus: &["cloudtrail"],
        mappings: cloudtrail::MAPPINGS,
    },
    Format {
        name: waf::LOG_TYPE,
        description: "AWS WAF v2 logs",
        new_parser: boxed::<waf::WafParser>,
        record_start: None,
        shape: Shape::Json,
        detect: Detection {
            stream: &[Pattern::Contains("aws-waf-logs-")],
            log_group: &[Pattern::Prefix("aws-waf-logs-")],
            json: Some(waf::detect_json),
            content_words: "JSON with `webaclId`",
            ..Detection::NONE
        },
        corpus: &["waf"],
        mappings: waf::MAPPINGS,
    },
    Format {
        name: route53_resolver::LOG_TYPE,
        description: "Route 53 Resolver (VPC) query logs",
        new_parser: boxed::<route53_resolver::Route53ResolverParser>,
        record_start: None,
        shape: Shape::Json,
        detect: Detection {
            stream: &[Pattern::Contains("/vpcdnsquerylogs/")],
            json: Some(route53_resolver::detect_json),
            content_words: "JSON with `query_name`",
            ..Detection::NONE
        },
        corpus: &["route53-resolver-query-logs"],
        mappings: route53_resolver::MAPPINGS,
    },
    Format {
        name: firehose_error::LOG_TYPE,
        description: "Firehose error log events and failed-record objects",
        new_parser: boxed::<firehose_error::FirehoseErrorParser>,
        record_start: None,
        shape: Shape::Json,
        detect: Detection {
            log_group: &[Pattern::Prefix("/aws/kinesisfirehose/")],
            json: Some(firehose_error::detect_json),
            content_words: "JSON with `deliveryStreamARN` or `attemptsMade`",
            ..Detection::NONE
        },
        corpus: &["firehose-error-logs"],
        mappings: firehose_error::MAPPINGS,
    },
    Format {
        name: cloudfront::LOG_TYPE,
        description: "CloudFront standard logs (W3C, columns from `#Fields:`)",
        new_parser: boxed::<cloudfront::CloudFrontParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::NameShape("`<DISTRIBUTION>.YYYY-MM-DD-HH.<id>[.gz]`", cloudfront::is_object_name)],
            text: Some(cloudfront::detect_text),
            content_words: "`#Version:` / `#Fields:`",
            ..Detection::NONE
        },
        corpus: &["cloudfront-standard"],
        mappings: cloudfront::MAPPINGS,
    },
    Format {
        name: lambda::LOG_TYPE,
        description: "Lambda platform lines (START/END/REPORT), runtime lines and JSON-format logs",
        new_parser: boxed::<lambda::LambdaParser>,
        record_start: None,
        shape: Shape::Text,
        detect: Detection {
            log_group: &[Pattern::Prefix("/aws/lambda/")],
            text: Some(lambda::detect_text),
            json: Some(lambda::detect_json),
            content_words: "`START/END/REPORT RequestId:`, `INIT_START`; JSON with `type: platform.*` or `requestId` and `level`",
            ..Detection::NONE
        },
        corpus: &["lambda-cloudwatch"],
        mappings: lambda::MAPPINGS,
    },
    Format {
        name: apigateway::LOG_TYPE,
        description: "API Gateway REST execution logs",
        new_parser: boxed::<apigateway::ApiGatewayExecutionParser>,
        record_start: None,
        shape: Shape::Text,
        detect: Detection {
            log_group: &[Pattern::Prefix("API-Gateway-Execution-Logs_")],
            text: Some(apigateway::detect_text),
            content_words: "`(<request id>) …`",
            ..Detection::NONE
        },
        corpus: &["apigateway"],
        mappings: apigateway::MAPPINGS,
    },
    Format {
        name: redshift::USER_ACTIVITY_LOG_TYPE,
        description: "Redshift user activity audit log (SQL spans lines)",
        new_parser: boxed::<redshift::RedshiftUserActivityParser>,
        record_start: Some(redshift::is_user_activity_start),
        shape: Shape::Text,
        detect: Detection {
            stream: &[Pattern::All(&[Pattern::NameContains("_redshift_"), Pattern::NameContains("_useractivitylog_")])],
            log_group: &[Pattern::All(&[Pattern::Prefix("/aws/redshift/"), Pattern::Suffix("/useractivitylog")])],
            text: Some(redshift::detect_user_activity),
            content_words: "`'YYYY-…`",
            ..Detection::NONE
        },
        corpus: &["redshift-audit"],
        mappings: redshift::USER_ACTIVITY_MAPPINGS,
    },
    Format {
        name: redshift::USER_LOG_TYPE,
        description: "Redshift user audit log",
        new_parser: boxed::<redshift::RedshiftUserParser>,
        record_start: None,
        shape: Shape::Text,
        detect: Detection {
            stream: &[Pattern::All(&[Pattern::NameContains("_redshift_"), Pattern::NameContains("_userlog_")])],
            log_group: &[Pattern::All(&[Pattern::Prefix("/aws/redshift/"), Pattern::Suffix("/userlog")])],
            text: Some(redshift::detect_user),
            content_words: "`|`-separated, opening with a number",
            ..Detection::NONE
        },
        corpus: &["redshift-audit"],
        mappings: redshift::USER_MAPPINGS,
    },
    Format {
        name: redshift::CONNECTION_LOG_TYPE,
        description: "Redshift connection audit log",
        new_parser: boxed::<redshift::RedshiftConnectionParser>,
        record_start: None,
        shape: Shape::Text,
        detect: Detection {
            stream: &[Pattern::All(&[Pattern::NameContains("_redshift_"), Pattern::NameContains("_connectionlog_")])],
            log_group: &[Pattern::All(&[Pattern::Prefix("/aws/redshift/"), Pattern::Suffix("/connectionlog")])],
            text: Some(redshift::detect_connection),
            content_words: "`|`-separated, opening with the event name",
            ..Detection::NONE
        },
        corpus: &["redshift-audit"],
        mappings: redshift::CONNECTION_MAPPINGS,
    },
    Format {
        name: rds::POSTGRESQL_LOG_TYPE,
        description: "RDS / Aurora PostgreSQL log lines",
        new_parser: boxed::<rds::RdsPostgresqlParser>,
        record_start: Some(rds::is_postgresql_record_start),
        shape: Shape::Text,
        detect: Detection {
            log_group: &[Pattern::All(&[Pattern::Prefix("/aws/rds/"), Pattern::Suffix("/postgresql")])],
            text: Some(rds::detect_postgresql),
            content_words: "`YYYY-MM-DD HH:MM:SS UTC:`",
            ..Detection::NONE
        },
        corpus: &["rds"],
        mappings: rds::POSTGRESQL_MAPPINGS,
    },
    Format {
        name: rds::MYSQL_LOG_TYPE,
        description: "RDS / Aurora MySQL error log lines",
        new_parser: boxed::<rds::RdsMysqlParser>,
        record_start: Some(rds::is_mysql_record_start),
        shape: Shape::Text,
        detect: Detection {
            log_group: &[Pattern::All(&[Pattern::Prefix("/aws/rds/"), Pattern::Suffix("/error")])],
            text: Some(rds::detect_mysql),
            content_words: "`YYYY-MM-DDTHH:MM:SS.ffffffZ <thread> [`",
            ..Detection::NONE
        },
        corpus: &["rds"],
        mappings: rds::MYSQL_MAPPINGS,
    },
    Format {
        name: alb::LOG_TYPE,
        description: "Application Load Balancer access logs (all fields through 2025)",
        new_parser: boxed::<alb::AlbParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::All(&[ELB_OBJECT, Pattern::NameContains("_app.")])],
            text: Some(alb::detect_text),
            content_words: "`http|https|h2|grpcs|ws|wss <ISO time>`",
            ..Detection::NONE
        },
        corpus: &["alb"],
        mappings: alb::MAPPINGS,
    },
    Format {
        name: nlb::LOG_TYPE,
        description: "Network Load Balancer TLS access logs",
        new_parser: boxed::<nlb::NlbParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::All(&[ELB_OBJECT, Pattern::NameContains("_net.")])],
            text: Some(nlb::detect_text),
            content_words: "`tls <version>`",
            ..Detection::NONE
        },
        corpus: &["nlb"],
        mappings: nlb::MAPPINGS,
    },
    Format {
        name: route53::LOG_TYPE,
        description: "Route 53 public DNS query logs",
        new_parser: boxed::<route53::Route53QueryParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            log_group: &[Pattern::Prefix("/aws/route53/")],
            text: Some(route53::detect_text),
            content_words: "`1.0 <ISO time>`",
            ..Detection::NONE
        },
        corpus: &["route53-query-logs"],
        mappings: route53::MAPPINGS,
    },
    Format {
        name: elb_classic::LOG_TYPE,
        description: "Classic Load Balancer access logs",
        new_parser: boxed::<elb_classic::ElbClassicParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::All(&[
                ELB_OBJECT,
                Pattern::Not(&Pattern::NameContains("_app.")),
                Pattern::Not(&Pattern::NameContains("_net.")),
            ])],
            text: Some(elb_classic::detect_text),
            content_words: "`<ISO time> <name> <ip:port>`",
            ..Detection::NONE
        },
        corpus: &["elb-classic"],
        mappings: elb_classic::MAPPINGS,
    },
    Format {
        name: s3_access::LOG_TYPE,
        description: "S3 server access logs (all 26 fields, older records that stop early)",
        new_parser: boxed::<s3_access::S3AccessParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::NameShape("ending `YYYY-MM-DD-HH-MM-SS-<16 hex>[.gz]`", s3_access::is_object_name)],
            text: Some(s3_access::detect_text),
            content_words: "`<64-hex owner> <bucket> [`",
            ..Detection::NONE
        },
        corpus: &["s3-access-logs"],
        mappings: s3_access::MAPPINGS,
    },
    Format {
        name: vpc_flow::LOG_TYPE,
        description: "VPC Flow Logs: v2 default, custom formats from the header line, v3–v8 and Transit Gateway fields",
        new_parser: boxed::<vpc_flow::VpcFlowParser>,
        record_start: None,
        shape: Shape::Positional,
        detect: Detection {
            stream: &[Pattern::Contains("/vpcflowlogs/"), Pattern::NameContains("_vpcflowlogs_")],
            text: Some(vpc_flow::detect_text),
            content_words: "header line, or `<version> <12-digit account>`",
            ..Detection::NONE
        },
        corpus: &["vpc-flow-logs"],
        mappings: vpc_flow::MAPPINGS,
    },
];

/// The format called `name`.
pub fn find(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Every format name, for error messages.
pub fn names() -> Vec<&'static str> {
    FORMATS.iter().map(|f| f.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parsers_report_them() {
        let mut seen = std::collections::BTreeSet::new();
        for format in FORMATS {
            assert!(seen.insert(format.name), "{} twice", format.name);
            assert_eq!((format.new_parser)().log_type(), format.name);
            assert!(
                !format.corpus.is_empty(),
                "{}: no corpus folder",
                format.name
            );
        }
    }

    #[test]
    fn every_corpus_folder_exists() {
        let root =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
        for format in FORMATS {
            for folder in format.corpus {
                assert!(root.join(folder).is_dir(), "{}: {folder}", format.name);
            }
        }
    }
}
