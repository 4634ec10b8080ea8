//! Where a record came from, read from where it was delivered rather than from what it says:
//! the S3 key layouts AWS writes, the CloudWatch Logs group and stream of subscription events,
//! and the ARNs of the resource a record is about.
//!
//! `aws_parse`'s `aws_context` option turns an [`AwsOrigin`] into `cloud.*` and `aws.*` fields.
//! Everything here is a pure function over borrowed text: an origin points into the identity,
//! log group or ARN it was read from, so reading one allocates nothing (`aws_parse` reads it
//! once per stream and keeps the fields it makes).
//!
//! What is read, in order of precedence (a later source only fills what an earlier one left
//! empty; see [`AwsOrigin::or`]):
//!
//! | source | layout | gives |
//! |---|---|---|
//! | S3 key or file path | `…AWSLogs/[<org-id>/]<account>/<folder>/<region>/…` (also the Hive-style `aws-account-id=…/aws-service=…/aws-region=…`) | organization, account, service, region (per folder: see [`from_stream`]) |
//! | | `…<account>/<region>/<bucket>/YYYY/MM/DD/<S3 access log object>` | account, region, `s3`, bucket |
//! | object name | `[conn_log_]<account>_<folder>_<region>_<rest>` | account, service, region, resource |
//! | | `<distribution>.YYYY-MM-DD-HH.<id>[.gz]` (CloudFront: global, no account or region) | `cloudfront`, distribution |
//! | | `…YYYY-MM-DD-HH-MM-SS-<16 hex>[.gz]` (S3 access logs) | `s3` |
//! | CloudWatch Logs | log group `/aws/<service>/…`, `API-Gateway-Execution-Logs_<api>/<stage>`, `aws-waf-logs-…`; CloudTrail's stream `[<org-id>_]<account>_CloudTrail_<region>`; the envelope's `owner` | service, resource, account, region |
//! | ARN in the record | `arn:<partition>:<service>:<region>:<account>:<resource>` | fills only what the origin lacks ([`AwsOrigin::complete`]) |
//!
//! Why not the [format registry](crate::formats::registry)'s detection patterns: they say which
//! *parser* a stream or log group needs, and only for formats Weir parses (there is no EKS
//! format, yet `/aws/eks/<cluster>/cluster` names a service and a cluster). An origin is AWS's
//! naming convention itself, taken apart into its pieces; where the registry's formats have a
//! check of a layout this needs (CloudFront and S3 access object names), it is reused.
//!
//! Nothing here fails on input: text of no known layout gives an empty origin. Only
//! [`Arn::parse`] has an error, for callers that want to know why a text is not an ARN.

use crate::formats::{cloudfront, s3_access};

/// An AWS service, named by its *service namespace*: the word AWS puts in ARNs and IAM actions
/// (`elasticloadbalancing`, `wafv2`, `firehose`). One vocabulary for every source: the delivery
/// folder `vpcflowlogs`, the file name part `waflogs` and the log group `/aws/kinesisfirehose/`
/// all name a service that ARNs call `ec2`, `wafv2` and `firehose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// API Gateway (execution log groups).
    ApiGateway,
    /// CloudFront (standard log objects).
    CloudFront,
    /// CloudTrail (trails in S3, CloudWatch Logs streams).
    CloudTrail,
    /// EC2, whose namespace VPC Flow Logs belong to (`arn:aws:ec2:…:vpc-flow-log/fl-…`).
    Ec2,
    /// EKS (control-plane log groups).
    Eks,
    /// Elastic Load Balancing: ALB, NLB and Classic load balancers.
    ElasticLoadBalancing,
    /// Amazon Data Firehose (error log groups).
    Firehose,
    /// Lambda (function log groups).
    Lambda,
    /// Network Firewall.
    NetworkFirewall,
    /// RDS and Aurora.
    Rds,
    /// Redshift (audit logs).
    Redshift,
    /// Route 53 public DNS query logs.
    Route53,
    /// Route 53 Resolver (VPC DNS query logs).
    Route53Resolver,
    /// S3 (server access logs).
    S3,
    /// AWS WAF v2.
    Wafv2,
}

impl Service {
    /// Every service, for docs and tests.
    pub const ALL: &'static [Service] = &[
        Service::ApiGateway,
        Service::CloudFront,
        Service::CloudTrail,
        Service::Ec2,
        Service::Eks,
        Service::ElasticLoadBalancing,
        Service::Firehose,
        Service::Lambda,
        Service::NetworkFirewall,
        Service::Rds,
        Service::Redshift,
        Service::Route53,
        Service::Route53Resolver,
        Service::S3,
        Service::Wafv2,
    ];

    /// The service namespace (the `aws.service` value).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::ApiGateway => "apigateway",
            Service::CloudFront => "cloudfront",
            Service::CloudTrail => "cloudtrail",
            Service::Ec2 => "ec2",
            Service::Eks => "eks",
            Service::ElasticLoadBalancing => "elasticloadbalancing",
            Service::Firehose => "firehose",
            Service::Lambda => "lambda",
            Service::NetworkFirewall => "network-firewall",
            Service::Rds => "rds",
            Service::Redshift => "redshift",
            Service::Route53 => "route53",
            Service::Route53Resolver => "route53resolver",
            Service::S3 => "s3",
            Service::Wafv2 => "wafv2",
        }
    }

    /// The service a name of AWS's delivery stands for: an `AWSLogs/<account>/<folder>/` folder,
    /// the `<account>_<folder>_` part of an object name, the `<service>` of a `/aws/<service>/`
    /// log group, or the namespace itself (as in an ARN). Case matters, as it does to AWS.
    pub fn from_delivery_name(name: &str) -> Option<Service> {
        Some(match name {
            "CloudTrail" | "CloudTrail-Digest" | "CloudTrail-Insight" | "cloudtrail" => {
                Service::CloudTrail
            }
            "elasticloadbalancing" => Service::ElasticLoadBalancing,
            "vpcflowlogs" | "ec2" => Service::Ec2,
            "vpcdnsquerylogs" | "route53resolver" => Service::Route53Resolver,
            "network-firewall" => Service::NetworkFirewall,
            "WAFLogs" | "waflogs" | "wafv2" => Service::Wafv2,
            "redshift" => Service::Redshift,
            "CloudFront" | "cloudfront" => Service::CloudFront,
            "s3" => Service::S3,
            "lambda" => Service::Lambda,
            "rds" => Service::Rds,
            "apigateway" => Service::ApiGateway,
            "kinesisfirehose" | "firehose" => Service::Firehose,
            "eks" => Service::Eks,
            "route53" => Service::Route53,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resource types an origin names (the `aws.resource.type` values), as ARNs write them
/// where they have a word for it.
pub mod resource_type {
    /// A Redshift, RDS Aurora or EKS cluster.
    pub const CLUSTER: &str = "cluster";
    /// An RDS DB instance (ARN `…:db:<name>`).
    pub const DB: &str = "db";
    /// An RDS Proxy.
    pub const DB_PROXY: &str = "db-proxy";
    /// A Firehose delivery stream.
    pub const DELIVERY_STREAM: &str = "deliverystream";
    /// A CloudFront distribution (its id: distributions have no name).
    pub const DISTRIBUTION: &str = "distribution";
    /// A Network Firewall firewall.
    pub const FIREWALL: &str = "firewall";
    /// A Lambda function.
    pub const FUNCTION: &str = "function";
    /// A Route 53 hosted zone (its domain name, as the log group names it).
    pub const HOSTED_ZONE: &str = "hostedzone";
    /// An ALB, NLB, Gateway or Classic load balancer (its name, without `app/`, `net/`, the id).
    pub const LOAD_BALANCER: &str = "loadbalancer";
    /// An API Gateway REST API (its id).
    pub const REST_API: &str = "restapi";
    /// An S3 bucket.
    pub const BUCKET: &str = "bucket";
    /// A VPC (Route 53 Resolver query logs are delivered per VPC).
    pub const VPC: &str = "vpc";
    /// A VPC flow log (its `fl-…` id).
    pub const VPC_FLOW_LOG: &str = "vpc-flow-log";
    /// A WAF web ACL.
    pub const WEB_ACL: &str = "webacl";
}

/// The resource a record came from: its type (see [`resource_type`], or an ARN's own word) and
/// its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource<'a> {
    /// The resource type (`aws.resource.type`).
    pub kind: &'a str,
    /// The resource's name, or its id where it has no name (`aws.resource.name`).
    pub name: &'a str,
}

impl<'a> Resource<'a> {
    fn new(kind: &'a str, name: &'a str) -> Option<Self> {
        (!name.is_empty()).then_some(Self { kind, name })
    }
}

/// Where a record came from. Every part is optional: a layout gives what it holds (CloudFront's
/// object names hold no account, Lambda's log groups no region).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwsOrigin<'a> {
    /// The AWS Organizations id (`o-…`) of an organization trail.
    pub organization_id: Option<&'a str>,
    /// The 12-digit account id.
    pub account_id: Option<&'a str>,
    /// The region (`eu-west-1`).
    pub region: Option<&'a str>,
    /// The service.
    pub service: Option<Service>,
    /// The resource.
    pub resource: Option<Resource<'a>>,
}

impl<'a> AwsOrigin<'a> {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == AwsOrigin::default()
    }

    /// This origin, its empty parts filled from `other` (the precedence of the sources: `self`
    /// wins).
    pub fn or(self, other: AwsOrigin<'a>) -> AwsOrigin<'a> {
        AwsOrigin {
            organization_id: self.organization_id.or(other.organization_id),
            account_id: self.account_id.or(other.account_id),
            region: self.region.or(other.region),
            service: self.service.or(other.service),
            resource: self.resource.or(other.resource),
        }
    }

    /// This origin completed by an ARN found in the record: the ARN fills the account, region,
    /// service and resource the origin lacks, unless it belongs to another account than the
    /// origin's (then it is someone else's resource and says nothing about this record's origin).
    pub fn complete(self, arn: &Arn<'a>) -> AwsOrigin<'a> {
        let theirs = arn.origin();
        match (self.account_id, theirs.account_id) {
            (Some(ours), Some(other)) if ours != other => self,
            _ => self.or(theirs),
        }
    }
}

/// Whether `text` is a 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` is an AWS Organizations id: `o-` and 10 to 32 lowercase letters or digits.
pub fn is_organization_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Whether `text` has the shape of a region name: `<2 letters>-<words>-<number>` (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-2`), so that a VPC id or a WAF scope in a region's place is
/// not taken for one.
pub fn is_region(text: &str) -> bool {
    let words = text.split('-').count();
    let mut parts = text.split('-').enumerate();
    words >= 3
        && parts.all(|(i, part)| {
            let bytes = part.as_bytes();
            match i {
                0 => bytes.len() == 2 && bytes.iter().all(u8::is_ascii_lowercase),
                i if i + 1 == words => !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit),
                _ => !bytes.is_empty() && bytes.iter().all(u8::is_ascii_lowercase),
            }
        })
}

fn region(text: Option<&str>) -> Option<&str> {
    text.filter(|t| is_region(t))
}

/// A Hive-style `name=value` segment's value (S3 delivery with Hive-compatible prefixes), or
/// the segment as it is.
fn hive<'a>(segment: &'a str, name: &str) -> &'a str {
    segment
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .unwrap_or(segment)
}

/// The origin of a stream identity (`s3://bucket/key`, a file path, or anything else): the
/// `AWSLogs/` layout of its key or path, else the date-partitioned S3 access log layout; then
/// the object name fills what those left empty. Per folder after `AWSLogs/[<org-id>/]<account>/`:
///
/// * `network-firewall/<alert|flow|tls>/<region>/<firewall>/…`;
/// * `vpcdnsquerylogs/<vpc-id>/…` (no region in the key);
/// * `WAFLogs/<region or cloudfront>/<web ACL>/…` (`cloudfront`: a global web ACL, no region);
/// * any other folder: `<folder>/<region>/…` (`CloudTrail`, `CloudTrail-Digest`,
///   `CloudTrail-Insight`, `elasticloadbalancing`, `vpcflowlogs`, `redshift`; an unknown folder
///   gives the account and region without a service).
pub fn from_stream(identity: &str) -> AwsOrigin<'_> {
    let key = match identity.strip_prefix("s3://") {
        Some(rest) => rest.split_once('/').map_or("", |(_, key)| key),
        None => identity,
    };
    let name = key.rsplit('/').next().unwrap_or(key);
    let path = awslogs_key(key)
        .or_else(|| s3_access_partitioned(key))
        .unwrap_or_default();
    path.or(from_object_name(name))
}

/// The `AWSLogs/` layout, at the first `AWSLogs` segment followed by an account.
fn awslogs_key(key: &str) -> Option<AwsOrigin<'_>> {
    let mut segments = key.split('/');
    loop {
        segments.by_ref().find(|s| *s == "AWSLogs")?;
        if let Some(origin) = after_awslogs(segments.clone()) {
            return Some(origin);
        }
    }
}

fn after_awslogs<'a>(mut segments: std::str::Split<'a, char>) -> Option<AwsOrigin<'a>> {
    let mut account = hive(segments.next()?, "aws-account-id");
    let mut origin = AwsOrigin::default();
    if is_organization_id(account) {
        origin.organization_id = Some(account);
        account = hive(segments.next()?, "aws-account-id");
    }
    if !is_account_id(account) {
        return None;
    }
    origin.account_id = Some(account);
    // A folder segment only counts if more follows: the last segment is the object name.
    let mut next = move || {
        let segment = segments.next()?;
        segments.clone().next().map(|_| segment)
    };
    let Some(folder) = next().map(|s| hive(s, "aws-service")) else {
        return Some(origin);
    };
    origin.service = Service::from_delivery_name(folder);
    match origin.service {
        Some(Service::NetworkFirewall) => {
            let _log_type = next();
            origin.region = region(next());
            origin.resource = next().and_then(|n| Resource::new(resource_type::FIREWALL, n));
        }
        Some(Service::Route53Resolver) => {
            origin.resource = next()
                .filter(|s| s.starts_with("vpc-"))
                .and_then(|n| Resource::new(resource_type::VPC, n));
        }
        Some(Service::Wafv2) => {
            origin.region = region(next());
            origin.resource = next().and_then(|n| Resource::new(resource_type::WEB_ACL, n));
        }
        _ => origin.region = region(next().map(|s| hive(s, "aws-region"))),
    }
    Some(origin)
}

/// S3 server access logs with date-based partitioning:
/// `[prefix]<source account>/<source region>/<source bucket>/YYYY/MM/DD/<object>` (the
/// destination prefix may be glued to the account).
fn s3_access_partitioned(key: &str) -> Option<AwsOrigin<'_>> {
    let mut back = key.rsplit('/');
    if !s3_access::is_object_name(back.next()?) {
        return None;
    }
    for width in [2, 2, 4] {
        let part = back.next()?;
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let bucket = back.next()?;
    let region = back.next().filter(|r| is_region(r))?;
    let prefixed = back.next()?;
    let account = prefixed.get(prefixed.len().checked_sub(12)?..)?;
    let glued_digit = prefixed
        .len()
        .checked_sub(13)
        .and_then(|i| prefixed.as_bytes().get(i))
        .is_some_and(u8::is_ascii_digit);
    if !is_account_id(account) || glued_digit {
        return None;
    }
    Some(AwsOrigin {
        account_id: Some(account),
        region: Some(region),
        service: Some(Service::S3),
        resource: Resource::new(resource_type::BUCKET, bucket),
        ..AwsOrigin::default()
    })
}

/// The origin an object (or file) name gives on its own: `[conn_log_]<account>_<folder>_…`
/// names, CloudFront's `<distribution>.YYYY-MM-DD-HH.<id>` and S3 access logs'
/// `…YYYY-MM-DD-HH-MM-SS-<hex>` (these last two checked by their formats' own name checks).
pub fn from_object_name(name: &str) -> AwsOrigin<'_> {
    if let Some(origin) = delivered_name(name.strip_prefix("conn_log_").unwrap_or(name)) {
        return origin;
    }
    if cloudfront::is_object_name(name) {
        return AwsOrigin {
            service: Some(Service::CloudFront),
            resource: name
                .split('.')
                .next()
                .and_then(|d| Resource::new(resource_type::DISTRIBUTION, d)),
            ..AwsOrigin::default()
        };
    }
    if s3_access::is_object_name(name) {
        return AwsOrigin {
            service: Some(Service::S3),
            ..AwsOrigin::default()
        };
    }
    AwsOrigin::default()
}

/// `<account>_<folder>_<region>_<rest>` (`<account>_vpcdnsquerylogs_<vpc-id>_…`,
/// `<account>_network-firewall_<log type>_<region>_<firewall>_…`).
fn delivered_name(name: &str) -> Option<AwsOrigin<'_>> {
    let (account, rest) = name.split_once('_')?;
    let (folder, rest) = rest.split_once('_')?;
    let service = Service::from_delivery_name(folder).filter(|_| is_account_id(account))?;
    let mut origin = AwsOrigin {
        account_id: Some(account),
        service: Some(service),
        ..AwsOrigin::default()
    };
    match service {
        Service::Route53Resolver => {
            let vpc = rest.split('_').next().filter(|v| v.starts_with("vpc-"));
            origin.resource = vpc.and_then(|v| Resource::new(resource_type::VPC, v));
        }
        Service::NetworkFirewall => {
            let mut fields = rest.split('_').skip(1);
            origin.region = region(fields.next());
            origin.resource = fields
                .next()
                .and_then(|f| Resource::new(resource_type::FIREWALL, f));
        }
        _ => {
            let (region_part, rest) = rest.split_once('_').unwrap_or((rest, ""));
            origin.region = region(Some(region_part));
            origin.resource = name_resource(service, rest);
        }
    }
    Some(origin)
}

/// The resource in the part of a delivered name after its region.
fn name_resource(service: Service, rest: &str) -> Option<Resource<'_>> {
    let first = rest.split('_').next().unwrap_or("");
    match service {
        Service::ElasticLoadBalancing => {
            // `app.<name>.<id>`, `net.<name>.<id>`, `gwy.<name>.<id>` or a Classic `<name>`
            // (load balancer names hold neither dots nor underscores).
            let name = match first.split_once('.') {
                Some(("app" | "net" | "gwy", more)) => more.split('.').next().unwrap_or(""),
                _ => first,
            };
            Resource::new(resource_type::LOAD_BALANCER, name)
        }
        Service::Ec2 => {
            Resource::new(resource_type::VPC_FLOW_LOG, first).filter(|r| r.name.starts_with("fl-"))
        }
        Service::Redshift => Resource::new(resource_type::CLUSTER, first),
        Service::Wafv2 => {
            // `<web ACL>_<time>_<hash>.log.gz`: web ACL names may hold underscores.
            let mut back = rest.rsplitn(3, '_');
            let (_hash, _time, acl) = (back.next(), back.next(), back.next());
            acl.and_then(|a| Resource::new(resource_type::WEB_ACL, a))
        }
        _ => None,
    }
}

/// The origin of a CloudWatch Logs event: its log group (AWS's `/aws/<service>/…` groups, API
/// Gateway execution logs, WAF's `aws-waf-logs-…`), then its log stream (CloudTrail's
/// `[<org-id>_]<account>_CloudTrail_<region>[_<n>]`, whose account is the one whose events
/// these are), then the envelope's `owner` (the account of the log group).
pub fn from_cloudwatch<'a>(
    group: &'a str,
    stream: Option<&'a str>,
    owner: Option<&'a str>,
) -> AwsOrigin<'a> {
    let mut origin = from_log_group(group);
    if let Some(stream) = stream {
        origin = origin.or(from_log_stream(group, stream));
    }
    origin.account_id = origin.account_id.or(owner.filter(|o| is_account_id(o)));
    origin
}

/// The origin a log group's name gives.
pub fn from_log_group(group: &str) -> AwsOrigin<'_> {
    if let Some(rest) = group.strip_prefix("API-Gateway-Execution-Logs_") {
        let api = rest.split('/').next().unwrap_or("");
        return AwsOrigin {
            service: Some(Service::ApiGateway),
            resource: Resource::new(resource_type::REST_API, api),
            ..AwsOrigin::default()
        };
    }
    if group.starts_with("aws-waf-logs-") {
        return AwsOrigin {
            service: Some(Service::Wafv2),
            ..AwsOrigin::default()
        };
    }
    let Some(rest) = group.strip_prefix("/aws/") else {
        return AwsOrigin::default();
    };
    let (folder, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(service) = Service::from_delivery_name(folder) else {
        return AwsOrigin::default();
    };
    let mut parts = rest.split('/');
    let (first, second) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut origin = AwsOrigin {
        service: Some(service),
        ..AwsOrigin::default()
    };
    origin.resource = match (service, first) {
        (Service::Lambda, function) => {
            // Lambda@Edge: `/aws/lambda/<region>.<function>` (function names have no dots).
            match function.split_once('.') {
                Some((r, f)) if is_region(r) => {
                    origin.region = Some(r);
                    Resource::new(resource_type::FUNCTION, f)
                }
                _ => Resource::new(resource_type::FUNCTION, function),
            }
        }
        (Service::Rds, "instance") => Resource::new(resource_type::DB, second),
        (Service::Rds, "cluster") | (Service::Redshift, "cluster") => {
            Resource::new(resource_type::CLUSTER, second)
        }
        (Service::Rds, "proxy") => Resource::new(resource_type::DB_PROXY, second),
        (Service::Eks, cluster) => Resource::new(resource_type::CLUSTER, cluster),
        (Service::Firehose, stream) => Resource::new(resource_type::DELIVERY_STREAM, stream),
        (Service::Route53, zone) => Resource::new(resource_type::HOSTED_ZONE, zone),
        _ => None,
    };
    origin
}

/// CloudTrail's log streams: `[<org-id>_]<account>_<CloudTrail or the group>_<region>[_<n>]`.
fn from_log_stream<'a>(group: &str, stream: &'a str) -> AwsOrigin<'a> {
    let read = || -> Option<AwsOrigin<'a>> {
        let (mut account, mut rest) = stream.split_once('_')?;
        let mut organization_id = None;
        if is_organization_id(account) {
            organization_id = Some(account);
            (account, rest) = rest.split_once('_')?;
        }
        let (mut middle, mut tail) = rest.rsplit_once('_')?;
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            (middle, tail) = middle.rsplit_once('_')?;
        }
        let trail = middle == "CloudTrail" || middle == group;
        (trail && is_account_id(account) && is_region(tail)).then_some(AwsOrigin {
            organization_id,
            account_id: Some(account),
            region: Some(tail),
            service: Some(Service::CloudTrail),
            resource: None,
        })
    };
    read().unwrap_or_default()
}

/// An Amazon Resource Name, `arn:<partition>:<service>:<region>:<account>:<resource>`, its
/// parts borrowed from the text. Region and account are empty for global resources (S3
/// buckets, IAM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// The service namespace (`elasticloadbalancing`, `wafv2`).
    pub service: &'a str,
    /// The region, or empty.
    pub region: &'a str,
    /// The account id, or empty.
    pub account_id: &'a str,
    /// Everything after the fifth `:` (`targetgroup/my-targets/73e2…`, `function:f:1`).
    pub resource: &'a str,
}

/// Why a text is not an ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// It does not start with `arn:`.
    #[error("not an ARN: it does not start with `arn:`")]
    NotArn,
    /// Fewer than the six `:`-separated parts.
    #[error("an ARN has six `:`-separated parts, this one {0}")]
    MissingParts(usize),
    /// A part that may not be empty is.
    #[error("the ARN's {0} is empty")]
    Empty(&'static str),
}

impl<'a> Arn<'a> {
    /// Reads an ARN.
    pub fn parse(text: &'a str) -> Result<Self, ArnError> {
        let mut parts = text.splitn(6, ':');
        if parts.next() != Some("arn") {
            return Err(ArnError::NotArn);
        }
        let mut part = |count: usize| parts.next().ok_or(ArnError::MissingParts(count));
        let arn = Arn {
            partition: part(1)?,
            service: part(2)?,
            region: part(3)?,
            account_id: part(4)?,
            resource: part(5)?,
        };
        for (name, value) in [
            ("partition", arn.partition),
            ("service", arn.service),
            ("resource", arn.resource),
        ] {
            if value.is_empty() {
                return Err(ArnError::Empty(name));
            }
        }
        Ok(arn)
    }

    /// The resource's type and name: `targetgroup/my-targets/…` → (`targetgroup`,
    /// `my-targets`), `function:f:1` → (`function`, `f`); load balancers without their
    /// `app/`/`net/` and id, WAF web ACLs without their scope (`regional/`, `global/`); an S3
    /// ARN's bucket. `None` for a resource of no type.
    pub fn resource(&self) -> Option<Resource<'a>> {
        let Some((kind, rest)) = self.resource.split_once(['/', ':']) else {
            return (self.service == "s3")
                .then(|| Resource::new(resource_type::BUCKET, self.resource))
                .flatten();
        };
        let mut names = rest.split(['/', ':']);
        let first = names.next().unwrap_or("");
        match (self.service, kind, first) {
            ("wafv2", "regional" | "global", kind) => Resource::new(kind, names.next()?),
            ("elasticloadbalancing", "loadbalancer", "app" | "net" | "gwy") => {
                Resource::new(kind, names.next()?)
            }
            _ => Resource::new(kind, first),
        }
    }

    /// What the ARN says about an origin: account and region (where they have their shape),
    /// the service (if it is one of [`Service`]) and the resource.
    pub fn origin(&self) -> AwsOrigin<'a> {
        AwsOrigin {
            organization_id: None,
            account_id: Some(self.account_id).filter(|a| is_account_id(a)),
            region: Some(self.region).filter(|r| is_region(r)),
            service: Service::from_delivery_name(self.service),
            resource: self.resource(),
        }
    }
}

#[cfg(test)]
mod tests;
