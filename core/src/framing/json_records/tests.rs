use std::path::{Path, PathBuf};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

/// The shared corpus root.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// Input files (not `*.expected.json`) under `corpus/<dir>`, recursively, sorted; panics if there
/// are none.
fn input_files(dir: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if !path.to_string_lossy().ends_with(".expected.json") {
                out.push(path);
            }
        }
    }
    let root = Path::new(CORPUS).join(dir);
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    assert!(!out.is_empty(), "no corpus files under {}", root.display());
    out
}

/// Reads a file as [`Bytes`].
fn read(path: &Path) -> Bytes {
    Bytes::from(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Splits `data` in chunks of `size` bytes, returning the elements and the first error.
fn split_chunks(
    data: &[u8],
    size: usize,
    config: &SplitterConfig,
) -> (Vec<Bytes>, Option<SplitError>) {
    let mut s = RecordsSplitter::new(config.clone());
    let mut out = Vec::new();
    for chunk in data.chunks(size.max(1)) {
        if let Err(e) = s.push(chunk, &mut out) {
            return (out, Some(e));
        }
    }
    let err = s.finish().err();
    (out, err)
}

fn split_ok(data: &[u8], size: usize) -> Vec<Bytes> {
    let (out, err) = split_chunks(data, size, &SplitterConfig::default());
    assert_eq!(err, None, "chunk size {size}");
    out
}

/// The CloudTrail `Records` files of the corpus with their expected elements (from serde_json).
fn records_files() -> Vec<(String, Bytes, Vec<serde_json::Value>)> {
    input_files("cloudtrail/docs-records")
        .into_iter()
        .map(|p| {
            let data = read(&p);
            let doc: serde_json::Value = serde_json::from_slice(&data).unwrap();
            let recs = doc["Records"].as_array().unwrap().clone();
            (p.display().to_string(), data, recs)
        })
        .collect()
}

#[test]
fn every_chunk_size_on_real_cloudtrail_files() {
    let files = records_files();
    assert!(files.len() >= 20);
    for (name, data, expected) in &files {
        // Reference split (one chunk), checked element by element against serde_json.
        let reference = split_ok(data, data.len());
        assert_eq!(reference.len(), expected.len(), "{name}");
        for (got, want) in reference.iter().zip(expected) {
            let got: serde_json::Value = serde_json::from_slice(got).unwrap();
            assert_eq!(&got, want, "{name}");
        }
        // Every chunk size from 1 byte up to the whole file gives the same bytes.
        for size in 1..=data.len() {
            let got = split_ok(data, size);
            assert_eq!(got, reference, "{name} chunk size {size}");
        }
    }
}

#[test]
fn several_documents_one_per_line_and_concatenated() {
    let files = records_files();
    let mut ndjson = Vec::new();
    let mut concatenated = Vec::new();
    let mut expected = Vec::new();
    for (_, data, recs) in &files {
        // Compact each document to one line, as CloudTrail writes them.
        let doc: serde_json::Value = serde_json::from_slice(data).unwrap();
        ndjson.extend_from_slice(&serde_json::to_vec(&doc).unwrap());
        ndjson.push(b'\n');
        concatenated.extend_from_slice(data);
        expected.extend(recs.iter().cloned());
    }
    for input in [&ndjson, &concatenated] {
        for size in [1, 2, 3, 7, 64, 1000, 4096, input.len()] {
            let mut s = RecordsSplitter::default();
            let mut out = Vec::new();
            for c in input.chunks(size) {
                s.push(c, &mut out).unwrap();
            }
            s.finish().unwrap();
            assert_eq!(s.documents_completed() as usize, files.len());
            assert_eq!(out.len(), expected.len());
            for (g, w) in out.iter().zip(&expected) {
                assert_eq!(&serde_json::from_slice::<serde_json::Value>(g).unwrap(), w);
            }
        }
    }
}

#[test]
fn escapes_nested_arrays_scalars_and_later_keys() {
    let doc = br#" {"Records" : [ {"a":"x\"]}[{,","b":[[1,[2]],{"c":"\\"}]} , "str\\\"ing\u0041" ,12.5e-3,true, null ,[[]],{}] , "next": {"k": [1, "]"]}, "z": 3 }
[1,2]
{"Records":[]}"#;
    let want: Vec<&[u8]> = vec![
        br#"{"a":"x\"]}[{,","b":[[1,[2]],{"c":"\\"}]}"#,
        br#""str\\\"ing\u0041""#,
        b"12.5e-3",
        b"true",
        b"null",
        b"[[]]",
        b"{}",
        b"1",
        b"2",
    ];
    for size in 1..=doc.len() {
        let got = split_ok(doc, size);
        let got: Vec<&[u8]> = got.iter().map(|b| &b[..]).collect();
        assert_eq!(got, want, "chunk size {size}");
    }
}

#[test]
fn not_records_documents_are_reported_with_their_bytes() {
    let cases: &[(&[u8], &str)] = &[
        (b"2024-01-01 text log line\n", "does not start"),
        (
            b"{\"eventVersion\":\"1.08\",\"eventTime\":\"x\"}\n",
            "first key",
        ),
        (
            b"{\"awsAccountId\":\"1\",\"digestStartTime\":\"x\"}",
            "first key",
        ),
        (b"{\"Records\":{\"a\":1}}", "not an array"),
        (b"{\"Records\":null}", "not an array"),
        (b"{}", "does not start with a key"),
        (b"{\"Rec\":[1]}", "first key"),
        (b"{\"Recordsx\":[1]}", "first key"),
    ];
    for (input, reason) in cases {
        for size in 1..=input.len() {
            let mut s = RecordsSplitter::default();
            let mut out = Vec::new();
            let mut err = None;
            let mut fed = 0;
            for c in input.chunks(size) {
                fed += c.len();
                if let Err(e) = s.push(c, &mut out) {
                    err = Some(e);
                    break;
                }
            }
            match err {
                Some(SplitError::NotRecordsDocument {
                    offset,
                    reason: r,
                    unconsumed,
                }) => {
                    assert_eq!(offset, 0);
                    assert!(r.contains(reason), "{r} vs {reason}");
                    // Everything fed so far is handed back for the fallback framing.
                    assert_eq!(&unconsumed[..], &input[..fed]);
                }
                other => panic!(
                    "{:?} size {size}: {other:?}",
                    String::from_utf8_lossy(input)
                ),
            }
            assert!(out.is_empty());
            // The splitter stays failed.
            assert!(matches!(
                s.push(b"[]", &mut out),
                Err(SplitError::NotRecordsDocument { .. })
            ));
        }
    }
    // A not-records document after a good one: earlier elements are kept; the offset is exact.
    let input = b"{\"Records\":[1,2]}\n{\"x\":1}\n";
    let mut s = RecordsSplitter::default();
    let mut out = Vec::new();
    let err = s.push(input, &mut out).unwrap_err();
    assert_eq!(out.len(), 2);
    let SplitError::NotRecordsDocument {
        offset, unconsumed, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(offset, 18);
    assert_eq!(&unconsumed[..], b"{\"x\":1}\n");
    // Bare arrays can be refused.
    let config = SplitterConfig {
        allow_bare_array: false,
        ..SplitterConfig::default()
    };
    let (_, err) = split_chunks(b"[1]", 1, &config);
    assert!(matches!(err, Some(SplitError::NotRecordsDocument { .. })));
    // The records key is configurable.
    let config = SplitterConfig {
        records_key: "items".into(),
        ..SplitterConfig::default()
    };
    let (out, err) = split_chunks(br#"{"items":[{"a":1}]}"#, 3, &config);
    assert_eq!(err, None);
    assert_eq!(out, vec![Bytes::from_static(br#"{"a":1}"#)]);
}

#[test]
fn bare_arrays_can_be_limited_to_objects_and_arrays() {
    let config = SplitterConfig {
        bare_array_objects_only: true,
        ..SplitterConfig::default()
    };
    for input in [
        &b"[INFO] started\n"[..],
        b"[ \n 2024-01-01 ] x",
        b"[\"a\",{\"b\":1}]",
        b"[1]",
    ] {
        for size in 1..=input.len() {
            let mut s = RecordsSplitter::new(config.clone());
            let mut out = Vec::new();
            let mut fed = 0;
            let mut err = None;
            for c in input.chunks(size) {
                fed += c.len();
                if let Err(e) = s.push(c, &mut out) {
                    err = Some(e);
                    break;
                }
            }
            match err {
                Some(SplitError::NotRecordsDocument {
                    offset: 0,
                    unconsumed,
                    ..
                }) => assert_eq!(&unconsumed[..], &input[..fed], "size {size}"),
                other => panic!(
                    "{:?} size {size}: {other:?}",
                    String::from_utf8_lossy(input)
                ),
            }
            assert!(out.is_empty());
        }
    }
    let input = br#" [ {"a":1}, 2, "x" ] [[1],[2]] [] {"Records":[3]}"#;
    for size in 1..=input.len() {
        let (out, err) = split_chunks(input, size, &config);
        assert_eq!(err, None, "size {size}");
        let want: Vec<&[u8]> = vec![br#"{"a":1}"#, b"2", br#""x""#, b"[1]", b"[2]", b"3"];
        let got: Vec<&[u8]> = out.iter().map(|b| &b[..]).collect();
        assert_eq!(got, want, "size {size}");
    }
}

#[test]
fn garbage_and_syntax_errors() {
    let cases: &[&[u8]] = &[
        b"{\"Records\":[1 2]}",
        b"{\"Records\":[{]}]}",
        b"{\"Records\":[[}]}",
        b"{\"Records\":[1,]}",
        b"{\"Records\":[,1]}",
        b"{\"Records\":[@]}",
        b"{\"Records\" [1]}",
        b"{\"Records\":[1]]",
        b"{\"Records\":[1], 5}",
        b"{\"Records\":[1], \"a\" 5}",
        b"[1}",
    ];
    for input in cases {
        for size in 1..=input.len() {
            let (_, err) = split_chunks(input, size, &SplitterConfig::default());
            assert!(
                matches!(err, Some(SplitError::Syntax { .. })),
                "{:?} size {size}: {err:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
    // Random bytes never panic, whatever the chunking.
    let mut seed = 0x1234_5678_u32;
    for _ in 0..300 {
        let mut input = b"{\"Records\":[".to_vec();
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            input.push(b"{}[]\",\\ a1:\n"[(seed % 12) as usize]);
        }
        for size in [1, 3, 17] {
            let _ = split_chunks(&input, size, &SplitterConfig::default());
        }
    }
}

#[test]
fn truncated_input() {
    let (_, data, _) = records_files().into_iter().next().unwrap();
    for cut in 1..data.len() {
        let mut trimmed = &data[..cut];
        while trimmed.last().is_some_and(|b| b.is_ascii_whitespace()) {
            trimmed = &trimmed[..trimmed.len() - 1];
        }
        if trimmed.last() == Some(&b'}') && cut >= data.len() - 2 {
            continue; // the complete document
        }
        for size in [1, 5, cut] {
            let (_, err) = split_chunks(&data[..cut], size, &SplitterConfig::default());
            assert!(
                matches!(err, Some(SplitError::Truncated { .. })),
                "cut {cut} size {size}: {err:?}"
            );
        }
    }
    // Empty input and whitespace only are fine.
    assert_eq!(split_chunks(b"", 1, &SplitterConfig::default()).1, None);
    assert_eq!(
        split_chunks(b" \n\r\t", 1, &SplitterConfig::default()).1,
        None
    );
}

#[test]
fn oversize_records_are_skipped_and_splitting_continues() {
    let config = SplitterConfig {
        max_record_size: 10,
        ..SplitterConfig::default()
    };
    let input = br#"{"Records":[{"a":"0123456789"},{"b":1},"0123456789abc",2]}"#;
    for size in 1..=input.len() {
        let mut s = RecordsSplitter::new(config.clone());
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for c in input.chunks(size) {
            if let Err(e) = s.push(c, &mut out) {
                errors.push(e);
            }
        }
        s.finish().unwrap();
        assert_eq!(
            out,
            vec![Bytes::from_static(br#"{"b":1}"#), Bytes::from_static(b"2")],
            "size {size}"
        );
        assert!(
            !errors.is_empty() && errors.len() <= 2,
            "size {size}: {errors:?}"
        );
        assert_eq!(
            errors[0],
            SplitError::RecordTooLarge {
                offset: 12,
                limit: 10
            }
        );
    }
}

#[test]
fn reset_clears_failure() {
    let mut s = RecordsSplitter::default();
    let mut out = Vec::new();
    assert!(s.push(b"xyz", &mut out).is_err());
    s.reset();
    s.push(b"[1]", &mut out).unwrap();
    s.finish().unwrap();
    assert_eq!(out, vec![Bytes::from_static(b"1")]);
    assert!(s.is_between_documents());
    assert_eq!(s.bytes_consumed(), 3);
    assert_eq!(s.records_emitted(), 1);
}

#[test]
fn elements_carry_offsets_and_every_oversize_element_is_reported() {
    let config = SplitterConfig {
        max_record_size: 10,
        ..SplitterConfig::default()
    };
    let input = br#"{"Records":[{"a":"0123456789"},{"b":1},"0123456789abc",2]}"#;
    let want = vec![
        Element::TooLarge {
            offset: 12,
            limit: 10,
        },
        Element::Record {
            offset: 31,
            bytes: Bytes::from_static(br#"{"b":1}"#),
        },
        Element::TooLarge {
            offset: 39,
            limit: 10,
        },
        Element::Record {
            offset: 55,
            bytes: Bytes::from_static(b"2"),
        },
    ];
    for size in 1..=input.len() {
        let mut s = RecordsSplitter::new(config.clone());
        let mut out = Vec::new();
        for c in input.chunks(size) {
            s.push_elements(c, &mut out).unwrap();
        }
        s.finish().unwrap();
        assert_eq!(out, want, "size {size}");
        assert_eq!(s.records_emitted(), 2);
    }
}

#[test]
fn document_position_and_skipping_resume_a_document() {
    let input = b"{\"Records\":[10,{\"x\":[1]},\"big big big\",13]} [20,21]\n";
    // Where each element ends, with (document offset, elements done) just after it.
    let mut s = RecordsSplitter::new(SplitterConfig {
        max_record_size: 9,
        ..SplitterConfig::default()
    });
    let mut positions = Vec::new();
    let mut out = Vec::new();
    for b in input.chunks(1) {
        s.push_elements(b, &mut out).unwrap();
        positions.push((s.document_offset(), s.document_elements()));
    }
    s.finish().unwrap();
    assert_eq!(positions[0], (Some(0), 0));
    assert_eq!(positions[13], (Some(0), 0)); // `10` is complete only at its delimiter
    assert_eq!(positions[14], (Some(0), 1));
    assert_eq!(positions[37], (Some(0), 3)); // the too-large string counts
    assert_eq!(positions[41], (Some(0), 4)); // the array is closed, the object is not
    assert_eq!(positions[42], (None, 0)); // after `}`
    assert_eq!(positions[44], (Some(44), 0)); // `[` of the bare array
    assert_eq!(positions[47], (Some(44), 1));
    assert_eq!(positions[50], (None, 0));
    assert_eq!(s.documents_completed(), 2);

    // Resuming at the first document with k elements done hands out exactly the rest, with the
    // same offsets; the skip count does not leak into the next document.
    let all: Vec<Element> = out;
    for k in 0..=4u64 {
        for size in [1, 3, input.len()] {
            let mut s = RecordsSplitter::new(SplitterConfig {
                max_record_size: 9,
                ..SplitterConfig::default()
            });
            s.skip_elements(k);
            let mut got = Vec::new();
            for c in input.chunks(size) {
                s.push_elements(c, &mut got).unwrap();
            }
            s.finish().unwrap();
            // Elements of the first document: 10, {"x":[1]}, too large, 13.
            assert_eq!(got[..], all[k as usize..], "k {k} size {size}");
        }
    }
    // A skip count larger than the document stops at its end.
    let mut s = RecordsSplitter::default();
    s.skip_elements(100);
    let mut got = Vec::new();
    s.push(b"[1,2] [3]", &mut got).unwrap();
    assert_eq!(got, vec![Bytes::from_static(b"3")]);
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        // Two decimals and few digits: serde_json's default float parsing round-trips these.
        (-1e6f64..1e6).prop_map(|f| serde_json::json!((f * 100.0).round() / 100.0)),
        "[ -~\\n\\t\"\\\\\u{e9}\u{1F600}\\]\\[{}]{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z\"\\\\\\]{}]{0,6}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_arrays_split_at_random_points(
        elements in prop::collection::vec(arb_json(), 0..8),
        wrap in any::<bool>(),
        pretty in any::<bool>(),
        cuts in prop::collection::vec(0usize..10_000, 0..24),
    ) {
        let array = serde_json::Value::Array(elements.clone());
        let doc = if wrap { serde_json::json!({ "Records": array }) } else { array };
        let text = if pretty { serde_json::to_vec_pretty(&doc).unwrap() } else { serde_json::to_vec(&doc).unwrap() };
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
        points.push(0);
        points.push(text.len());
        points.sort_unstable();
        let mut s = RecordsSplitter::default();
        let mut out = Vec::new();
        for w in points.windows(2) {
            s.push(&text[w[0]..w[1]], &mut out).unwrap();
        }
        s.finish().unwrap();
        prop_assert_eq!(out.len(), elements.len());
        for (got, want) in out.iter().zip(&elements) {
            let parsed: serde_json::Value = serde_json::from_slice(got).unwrap();
            prop_assert_eq!(&parsed, want);
            if !pretty {
                prop_assert_eq!(&got[..], &serde_json::to_vec(want).unwrap()[..]);
            }
        }
    }
}
