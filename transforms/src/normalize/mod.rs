//! Transform `normalize`: rewrites events parsed earlier (by `aws_parse` with the default
//! `schema = "native"`, or by `parse_aws` in a VRL program) into ECS or OCSF, with the same
//! mappings `aws_parse`'s `schema` option applies (see [`weir_aws::normalize`]): each event's
//! format is found by its `aws.log_type`; an event without one (or of no known format) gets the
//! schema's base fields and keeps everything else (`aws.generic.*` for ECS, `unmapped` for OCSF).
//! Events keep no state, so batches run on every worker thread.

use serde::{Deserialize, Serialize};
use weir_aws::normalize::{normalize_fields, OutputSchema};
use weir_core::component::{
    BatchTransform, BuildContext, BuildError, ComponentSpec, ConfigProblem, ParseConfig,
    PluginCommon, Stateless, Transform, TransformConfig, TransformOutput,
};
use weir_core::event::Event;

/// Configuration of the `normalize` transform.
///
/// ```toml
/// [transforms.parsed]
/// type = "remap"
/// inputs = ["in"]
/// source = ". = parse_aws!(.message)"
///
/// [transforms.ecs]
/// type = "normalize"
/// inputs = ["parsed"]
/// schema = "ecs"     # or "ocsf"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// The schema to rewrite events into (required): `ecs` or `ocsf` (`native` leaves events as
    /// they are). The same option, and the same mappings, as `aws_parse`'s `schema`.
    pub schema: OutputSchema,
}

impl PluginCommon for NormalizeConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }
}

impl TransformConfig for NormalizeConfig {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Transform>, BuildError> {
        Ok(Stateless::boxed(Normalize {
            schema: self.schema,
        }))
    }
}

/// The running transform (see [`Stateless`]).
pub struct Normalize {
    schema: OutputSchema,
}

impl BatchTransform for Normalize {
    fn run_batch(&self, events: Vec<Event>, out: &mut TransformOutput) {
        out.primary.reserve(events.len());
        for mut event in events {
            if self.schema != OutputSchema::Native {
                let fields = std::mem::take(&mut event.fields);
                event.fields = normalize_fields(self.schema, fields);
            }
            out.primary.push(event);
        }
    }
}

/// The transform's registration.
pub const SPEC: ComponentSpec = ComponentSpec {
    type_name: "normalize",
    description:
        "Rewrite parsed AWS events into ECS or OCSF (the mappings of aws_parse's `schema`).",
    parse: ParseConfig::Transform(weir_core::component::parse_transform::<NormalizeConfig>),
    schema: weir_core::component::schema_of::<NormalizeConfig>,
};

#[cfg(test)]
mod tests {
    use super::*;
    use vrl::value::{ObjectMap, Value};
    use weir_aws::normalize::normalize;
    use weir_core::event::EventMetadata;

    fn run(schema: OutputSchema, fields: ObjectMap) -> ObjectMap {
        let transform = Normalize { schema };
        let event = Event::new(
            fields,
            EventMetadata::new("s".into(), "test", chrono::Utc::now()),
        );
        let mut out = TransformOutput::default();
        transform.run_batch(vec![event], &mut out);
        assert_eq!(out.primary.len(), 1);
        out.primary.remove(0).fields.into_map()
    }

    fn alb_record() -> ObjectMap {
        let line = bytes::Bytes::from_static(
            b"https 2024-05-01T00:00:00.000318Z app/my-lb/50dc6c495c0c9188 81.2.69.142:43942 10.0.18.124:80 0.002 0.005 0.001 200 200 59 3512 \"GET https://www.example.com:443/index.html?a=1 HTTP/1.1\" \"curl/8.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-66318600-882e909d026a8031af025004\" \"www.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678\" 0 2024-04-30T23:59:59.985427Z \"forward\" \"-\" \"-\" \"10.0.18.124:80\" \"200\" \"-\" \"-\" TID_f6c4ee255e5152a47e696cf519288917",
        );
        let format = weir_aws::formats::registry::find("alb").expect("alb is registered");
        let mut parser = (format.new_parser)();
        let mut out = Vec::new();
        parser.parse(&line, &mut out).expect("the ALB line parses");
        out.remove(0)
    }

    fn path<'a>(map: &'a ObjectMap, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(map.get(*first)?, |v, k| match v {
            Value::Object(m) => m.get(*k),
            _ => None,
        })
    }

    /// The transform gives what `weir_aws::normalize` gives, for both schemas, and keeps the
    /// native record as it is for `native`.
    #[test]
    fn events_come_out_in_the_chosen_schema() {
        let native = alb_record();
        assert_eq!(run(OutputSchema::Native, native.clone()), native);
        let ecs = run(OutputSchema::Ecs, native.clone());
        assert_eq!(ecs, normalize(OutputSchema::Ecs, native.clone()));
        assert_eq!(
            path(&ecs, &["data_stream", "dataset"]),
            Some(&Value::from("aws.elb_logs"))
        );
        assert_eq!(
            path(&ecs, &["source", "ip"]),
            Some(&Value::from("81.2.69.142"))
        );
        let ocsf = run(OutputSchema::Ocsf, native.clone());
        assert_eq!(ocsf, normalize(OutputSchema::Ocsf, native));
        assert_eq!(path(&ocsf, &["class_uid"]), Some(&Value::from(4002)));
    }

    /// An event of no known format still gets the base fields, and keeps its fields.
    #[test]
    fn an_event_of_no_known_format_keeps_its_fields() {
        let mut fields = ObjectMap::new();
        fields.insert("message".into(), Value::from("hello"));
        let ocsf = run(OutputSchema::Ocsf, fields.clone());
        assert_eq!(path(&ocsf, &["class_uid"]), Some(&Value::from(0)));
        assert_eq!(
            path(&ocsf, &["unmapped", "message"]),
            Some(&Value::from("hello"))
        );
        let ecs = run(OutputSchema::Ecs, fields);
        assert_eq!(
            path(&ecs, &["aws", "generic", "message"]),
            Some(&Value::from("hello"))
        );
    }
}
