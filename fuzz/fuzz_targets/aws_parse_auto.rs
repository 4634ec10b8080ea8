#![no_main]
//! Detection plus the `aws_parse` transform over arbitrary lines of one stream.
use std::sync::Arc;

use weir_core::component::{BuildContext, ComponentKind, TransformConfig, TransformOutput};
use weir_core::event::{Event, EventMetadata, StreamPosition};
use weir_transforms::aws_parse::AwsParseConfig;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = weir_aws::formats::detect::by_content(data);
    let cx = BuildContext::standalone("f", ComponentKind::Transform, "aws_parse", ".".into());
    let Ok(mut transform) = AwsParseConfig::default().build(&cx) else { return };
    let whole = bytes::Bytes::copy_from_slice(data);
    let stream: Arc<str> = Arc::from("fuzz.log");
    let events = whole
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let mut meta = EventMetadata::new(Arc::from("f"), "file", chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
            meta.stream = Some(StreamPosition { stream: Arc::clone(&stream), offset: i as u64 });
            Event::from_message(whole.slice_ref(line), meta)
        })
        .collect();
    let mut out = TransformOutput::default();
    transform.transform(events, &mut out);
    transform.flush(&mut out);
});
