use std::path::Path;
use weir_core::component::PluginCommon;

use super::tls::acceptor;
use super::*;

fn parse(toml_text: &str) -> AwsFirehoseConfig {
    let value: serde_json::Value = toml::from_str(toml_text).unwrap();
    serde_json::from_value(value).unwrap()
}

#[test]
fn config_defaults_and_validation() {
    let config = parse("address = \"127.0.0.1:0\"");
    assert_eq!(config.decoding, Decoding::Auto);
    assert_eq!(config.max_body_bytes, 64 * 1024 * 1024);
    assert!(config.validate().is_empty());
    let bad = parse("address = \"127.0.0.1:0\"\naccess_keys = [\"\"]\nmax_body_bytes = 0");
    let keys: Vec<String> = bad.validate().into_iter().map(|p| p.key).collect();
    assert_eq!(keys, vec!["max_body_bytes", "access_keys"]);
    assert_eq!(config.outputs(), vec![weir_core::output::ERRORS]);
}

fn self_signed(dir: &Path) -> TlsConfig {
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&crt, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    TlsConfig {
        crt_file: crt,
        key_file: key,
    }
}

#[test]
fn tls_acceptor_from_pem_files_and_clear_errors_for_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let tls = self_signed(dir.path());
    assert!(acceptor(&tls).is_ok());
    let swapped = TlsConfig {
        crt_file: tls.key_file.clone(),
        key_file: tls.crt_file.clone(),
    };
    let error = acceptor(&swapped)
        .err()
        .expect("a key is not a certificate");
    assert!(error.to_string().contains("tls.key"), "{error}");
    let missing = TlsConfig {
        crt_file: dir.path().join("nope.crt"),
        key_file: tls.key_file,
    };
    assert!(acceptor(&missing).is_err());
}
