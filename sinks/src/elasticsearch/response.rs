//! Reading a bulk response: what happened to each document.

use serde::Deserialize;

use super::config::BulkAction;

/// What to do with one document after a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ItemOutcome {
    /// The server has it.
    Accepted(u16),
    /// Try again later (429, 5xx).
    Retry(u16),
    /// The server will never take it; the reason is the server's.
    Rejected(u16, String),
}

/// What to do after a whole request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum RequestOutcome {
    /// One outcome per document, in request order.
    Items(Vec<ItemOutcome>),
    /// The request as a whole failed and may succeed later: retry all its documents. Carries the
    /// HTTP status (0: no usable answer) and a description.
    RetryAll(u16, String),
    /// The request as a whole was refused for good: reject all its documents.
    RejectAll(u16, String),
}

#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The outcome of a bulk request that got an HTTP answer `status` with `body`, for `docs`
/// documents written with `action`.
pub(super) fn classify(
    status: u16,
    body: &[u8],
    docs: usize,
    action: BulkAction,
) -> RequestOutcome {
    if status == 429 || status >= 500 {
        return RequestOutcome::RetryAll(status, format!("HTTP {status}: {}", snippet(body)));
    }
    if status == 401 || status == 403 || status == 408 {
        // Credentials may be fixed or rotated; never give up documents for that.
        return RequestOutcome::RetryAll(
            status,
            format!(
                "HTTP {status} (check the sink's auth settings): {}",
                snippet(body)
            ),
        );
    }
    if !(200..300).contains(&status) {
        return RequestOutcome::RejectAll(status, format!("HTTP {status}: {}", snippet(body)));
    }
    let response: BulkResponse = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(error) => {
            return RequestOutcome::RetryAll(status, format!("unreadable bulk response: {error}"));
        }
    };
    if response.items.len() != docs {
        return RequestOutcome::RetryAll(
            status,
            format!(
                "bulk response has {} items for {docs} documents",
                response.items.len()
            ),
        );
    }
    let items = response
        .items
        .into_iter()
        .map(|item| {
            let Some(item) = item.into_values().next() else {
                return ItemOutcome::Retry(0);
            };
            item_outcome(item, action)
        })
        .collect();
    RequestOutcome::Items(items)
}

fn item_outcome(item: BulkItem, action: BulkAction) -> ItemOutcome {
    let status = item.status;
    match status {
        200..=299 => ItemOutcome::Accepted(status),
        409 if action == BulkAction::Create => ItemOutcome::Accepted(status),
        429 | 500..=599 => ItemOutcome::Retry(status),
        _ => ItemOutcome::Rejected(status, reason(status, item.error.as_ref())),
    }
}

/// `<status> <type>: <reason>` from an item's error object.
fn reason(status: u16, error: Option<&serde_json::Value>) -> String {
    let Some(error) = error else {
        return format!("HTTP {status}");
    };
    let kind = error.get("type").and_then(|v| v.as_str());
    let text = error.get("reason").and_then(|v| v.as_str());
    match (kind, text) {
        (Some(kind), Some(text)) => format!("{status} {kind}: {text}"),
        _ => format!("{status} {error}"),
    }
}

/// The start of a body, for messages.
pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_classified_one_by_one() {
        let body = br#"{"took":1,"errors":true,"items":[
            {"index":{"status":201}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
            {"index":{"status":503}},
            {"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n]"}}}
        ]}"#;
        let RequestOutcome::Items(items) = classify(200, body, 5, BulkAction::Create) else {
            panic!("items expected");
        };
        assert_eq!(
            items,
            [
                ItemOutcome::Accepted(201),
                ItemOutcome::Accepted(409),
                ItemOutcome::Retry(429),
                ItemOutcome::Retry(503),
                ItemOutcome::Rejected(
                    400,
                    "400 mapper_parsing_exception: failed to parse field [n]".into()
                ),
            ]
        );
        // 409 on `index` is a real conflict.
        let body = br#"{"items":[{"index":{"status":409,"error":{"type":"x","reason":"y"}}}]}"#;
        assert_eq!(
            classify(200, body, 1, BulkAction::Index),
            RequestOutcome::Items(vec![ItemOutcome::Rejected(409, "409 x: y".into())])
        );
    }

    #[test]
    fn whole_request_failures() {
        assert!(matches!(
            classify(503, b"busy", 3, BulkAction::Index),
            RequestOutcome::RetryAll(..)
        ));
        assert!(matches!(
            classify(429, b"", 3, BulkAction::Index),
            RequestOutcome::RetryAll(..)
        ));
        assert!(matches!(
            classify(401, b"", 3, BulkAction::Index),
            RequestOutcome::RetryAll(_, m) if m.contains("auth")
        ));
        assert!(matches!(
            classify(400, b"bad", 3, BulkAction::Index),
            RequestOutcome::RejectAll(400, _)
        ));
        // A 200 whose items do not match the request is not trusted.
        assert!(matches!(
            classify(200, br#"{"items":[]}"#, 3, BulkAction::Index),
            RequestOutcome::RetryAll(..)
        ));
        assert!(matches!(
            classify(200, b"<html>", 3, BulkAction::Index),
            RequestOutcome::RetryAll(..)
        ));
    }
}
