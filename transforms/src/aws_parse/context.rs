//! `aws_context`: the fields of where a record came from (see [`weir_aws::context`] for what is
//! read from which layout), set on each event `aws_parse` emits.
//!
//! | field | value |
//! |---|---|
//! | `cloud.provider` | `aws` |
//! | `cloud.account.id` | the 12-digit account |
//! | `cloud.region` | the region |
//! | `aws.service` | the service namespace (`elasticloadbalancing`, `lambda`, `wafv2`, …) |
//! | `aws.resource.type`, `aws.resource.name` | the resource (`loadbalancer`/`my-lb`, `function`/`checkout`) |
//! | `aws.organization.id` | the organization of an organization trail |
//!
//! Sources, first wins: the CloudWatch Logs group, stream and owner of a subscription event; the
//! stream identity (S3 key, file path); then, only to complete an origin already known, the ARN
//! of the record's own resource (ALB `target_group_arn`, WAF `webaclId`, Firehose
//! `deliveryStreamARN`). A stream of no known origin gets nothing: not even `cloud.provider`,
//! since nothing about its origin is known (and so that on such streams `aws_parse` gives what
//! `parse_aws` gives).
//!
//! A CloudWatch origin counts when the event came in with it (the Kinesis and Firehose sources
//! unpack envelopes and set `cloudwatch.*`) or when `aws_parse` unpacked the envelope from a
//! stream (a file, an S3 object). An envelope handed over alone, with no stream identity, is
//! parsed as `parse_aws` parses it, without context.
//!
//! Fields are added, never replaced: a record with its own `cloud.region` keeps it, and the
//! other context fields are filled in beside it. Context describes the event, so it goes to the
//! event's root also when `target` nests the parsed record.
//!
//! Cost: a stream's context is read once, when the stream is first seen, and kept as ready-made
//! values (see [`Context`]); each event then costs a clone of those values (one `cloud` object,
//! a few `aws` members). A CloudWatch origin is looked up by its group, stream and owner, and
//! made once per run of events that share them.

use std::sync::Arc;

use vrl::value::{KeyString, ObjectMap, Value};
use weir_aws::context::{self, Arn, AwsOrigin, Resource, Service};
use weir_core::fields::Fields;

/// Record fields that hold the ARN of the record's own resource (not of a caller, a processor
/// or a certificate): they may complete an origin's account, region and resource.
const ARN_FIELDS: &[&str] = &["target_group_arn", "webaclId", "deliveryStreamARN"];

/// One origin's context, owned, with the values it sets made once.
#[derive(Debug)]
pub(super) struct Context {
    origin: Owned,
    /// `cloud`, whole (most events have none of their own: one clone).
    cloud: Value,
    /// `aws.*` members: `service`, `resource`, `organization`.
    aws: ObjectMap,
}

/// An [`AwsOrigin`] that owns its text, so that a context outlives what it was read from.
#[derive(Debug, Default, PartialEq, Eq)]
struct Owned {
    organization_id: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    service: Option<Service>,
    resource: Option<(String, String)>,
}

impl Owned {
    fn new(origin: &AwsOrigin<'_>) -> Self {
        let own = |s: Option<&str>| s.map(str::to_string);
        Self {
            organization_id: own(origin.organization_id),
            account_id: own(origin.account_id),
            region: own(origin.region),
            service: origin.service,
            resource: origin
                .resource
                .map(|r| (r.kind.to_string(), r.name.to_string())),
        }
    }

    fn borrow(&self) -> AwsOrigin<'_> {
        AwsOrigin {
            organization_id: self.organization_id.as_deref(),
            account_id: self.account_id.as_deref(),
            region: self.region.as_deref(),
            service: self.service,
            resource: self
                .resource
                .as_ref()
                .map(|(kind, name)| Resource { kind, name }),
        }
    }
}

fn key(name: &str) -> KeyString {
    KeyString::from(name)
}

fn object(members: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (key(k), v)).collect())
}

impl Context {
    /// The context of an origin; `None` for an empty one (nothing is set).
    pub(super) fn new(origin: &AwsOrigin<'_>) -> Option<Arc<Self>> {
        if origin.is_empty() {
            return None;
        }
        let text = |s: &str| Value::from(s.to_string());
        let mut cloud = ObjectMap::new();
        cloud.insert(key("provider"), Value::from("aws"));
        if let Some(account) = origin.account_id {
            cloud.insert(key("account"), object([("id", text(account))]));
        }
        if let Some(region) = origin.region {
            cloud.insert(key("region"), text(region));
        }
        let mut aws = ObjectMap::new();
        if let Some(service) = origin.service {
            aws.insert(key("service"), Value::from(service.as_str()));
        }
        if let Some(resource) = origin.resource {
            let members = [("type", text(resource.kind)), ("name", text(resource.name))];
            aws.insert(key("resource"), object(members));
        }
        if let Some(org) = origin.organization_id {
            aws.insert(key("organization"), object([("id", text(org))]));
        }
        Some(Arc::new(Self {
            origin: Owned::new(origin),
            cloud: Value::Object(cloud),
            aws,
        }))
    }

    /// The context of a stream identity.
    pub(super) fn of_stream(identity: &str) -> Option<Arc<Self>> {
        Self::new(&context::from_stream(identity))
    }

    /// This context with the origin's gaps filled by the record's own ARNs, if it has gaps and
    /// the record has such ARNs.
    fn completed(self: &Arc<Self>, record: &Fields) -> Arc<Self> {
        let ours = self.origin.borrow();
        if ours.account_id.is_some() && ours.region.is_some() && ours.resource.is_some() {
            return Arc::clone(self);
        }
        let mut origin = ours;
        for field in ARN_FIELDS {
            if let Some(arn) = record
                .get(field)
                .and_then(text)
                .and_then(|t| Arn::parse(t).ok())
            {
                origin = origin.complete(&arn);
            }
        }
        if origin == ours {
            return Arc::clone(self);
        }
        Self::new(&origin).unwrap_or_else(|| Arc::clone(self))
    }

    /// Sets the context on an event's fields, adding only what they lack.
    fn apply(&self, fields: &mut Fields) {
        add(fields, "cloud", &self.cloud);
        if !self.aws.is_empty() {
            match fields.get_mut("aws") {
                Some(Value::Object(aws)) => fill(aws, &self.aws),
                Some(_) => {}
                None => {
                    fields.insert(key("aws"), Value::Object(self.aws.clone()));
                }
            }
        }
    }
}

/// Adds `value` as the top-level `name`, or fills in the members an existing object lacks.
fn add(fields: &mut Fields, name: &str, value: &Value) {
    match (fields.get_mut(name), value) {
        (Some(Value::Object(have)), Value::Object(add)) => fill(have, add),
        (Some(_), _) => {}
        (None, _) => {
            fields.insert(key(name), value.clone());
        }
    }
}

/// Inserts the members of `from` that `into` lacks, recursively into objects both have.
fn fill(into: &mut ObjectMap, from: &ObjectMap) {
    for (name, value) in from {
        match (into.get_mut(name.as_str()), value) {
            (Some(Value::Object(have)), Value::Object(add)) => fill(have, add),
            (Some(_), _) => {}
            (None, _) => {
                into.insert(name.clone(), value.clone());
            }
        }
    }
}

/// A string value's text, without copying.
fn text(value: &Value) -> Option<&str> {
    value.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
}

/// The CloudWatch Logs origin in some fields: a `cloudwatch` object (as the sources and
/// `aws_parse`'s own unpacking shape it) or, for a log event whose message no format parsed,
/// the flat `log_group`, `log_stream` and `owner`.
fn cloudwatch_of(fields: &Fields) -> Option<(&str, Option<&str>, Option<&str>)> {
    if let Some(Value::Object(cw)) = fields.get("cloudwatch") {
        let group = cw.get("log_group").and_then(text)?;
        let member = |name: &str| cw.get(name).and_then(text);
        return Some((group, member("log_stream"), member("owner")));
    }
    let group = fields.get("log_group").and_then(text)?;
    let member = |name: &str| fields.get(name).and_then(text);
    Some((group, member("log_stream"), member("owner")))
}

/// What a record's event knows of its origin before its CloudWatch fields are read.
#[derive(Clone, Default)]
pub(super) struct Origin {
    /// The context of the event's stream identity (`None`: none, or of no known layout).
    pub(super) stream: Option<Arc<Context>>,
    /// Whether the event has a stream identity, so that envelopes `aws_parse` unpacks count.
    pub(super) has_stream: bool,
    /// Whether the event came in with CloudWatch fields (from a source that unpacked an
    /// envelope), so that they are looked for only then.
    pub(super) input_cloudwatch: bool,
}

/// Sets context on a job's events, remembering the last CloudWatch origin.
#[derive(Default)]
pub(super) struct Contexts {
    last: Option<Last>,
}

/// The context last made for a CloudWatch origin, with what it was made from.
struct Last {
    group: String,
    stream: Option<String>,
    owner: Option<String>,
    /// The stream context it was made over.
    under: Option<Arc<Context>>,
    context: Option<Arc<Context>>,
}

impl Contexts {
    /// The context of one emitted record: its CloudWatch origin (from the record, if `aws_parse`
    /// unpacked it from a stream's envelope, else from the event it came in) over the stream's,
    /// completed by the record's ARNs.
    pub(super) fn of(
        &mut self,
        origin: &Origin,
        unpacked: bool,
        record: &Fields,
        input: &Fields,
    ) -> Option<Arc<Context>> {
        let cloudwatch = (unpacked && origin.has_stream)
            .then(|| cloudwatch_of(record))
            .flatten()
            .or_else(|| {
                origin
                    .input_cloudwatch
                    .then(|| cloudwatch_of(input))
                    .flatten()
            });
        let base = match cloudwatch {
            Some((group, stream, owner)) => self.cloudwatch(origin, group, stream, owner),
            None => origin.stream.clone(),
        }?;
        Some(base.completed(record))
    }

    fn cloudwatch(
        &mut self,
        origin: &Origin,
        group: &str,
        stream: Option<&str>,
        owner: Option<&str>,
    ) -> Option<Arc<Context>> {
        if let Some(last) = &self.last {
            let same_stream = match (&last.under, &origin.stream) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            };
            if same_stream
                && last.group == group
                && last.stream.as_deref() == stream
                && last.owner.as_deref() == owner
            {
                return last.context.clone();
            }
        }
        let mut found = context::from_cloudwatch(group, stream, owner);
        if let Some(stream) = &origin.stream {
            found = found.or(stream.origin.borrow());
        }
        let context = Context::new(&found);
        self.last = Some(Last {
            group: group.to_string(),
            stream: stream.map(str::to_string),
            owner: owner.map(str::to_string),
            under: origin.stream.clone(),
            context: context.clone(),
        });
        context
    }
}

/// Sets `context` on an emitted event's fields.
pub(super) fn apply(context: Option<&Context>, fields: &mut Fields) {
    if let Some(context) = context {
        context.apply(fields);
    }
}
