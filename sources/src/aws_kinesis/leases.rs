//! The DynamoDB lease table: one row per shard with `lease_key` (`<stream>/<shard id>`),
//! `owner` (empty when free), `lease_counter` and `checkpoint` (a sequence number, or
//! [`SHARD_END`]). Every change of ownership or counter is a conditional write, so of several
//! processes racing for a lease exactly one wins.
//!
//! Public so that this guarantee can be tested against a real DynamoDB API (the end-to-end tests
//! race [`LeaseTable::take`] from many tasks); the source itself is the only user in Weir.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TableStatus,
};
use weir_aws::client::errors::{AwsError, HttpResponse, ProvideErrorMetadata, SdkError};

/// The checkpoint of a shard read to its end.
pub const SHARD_END: &str = "SHARD_END";

const KEY: &str = "lease_key";
const OWNER: &str = "owner";
const COUNTER: &str = "lease_counter";
const CHECKPOINT: &str = "checkpoint";

/// A lease table call that failed (a lost condition is not an error: it is `Ok(false)`/`None`).
#[derive(Debug, thiserror::Error)]
#[error("lease table {table}: {message}")]
pub struct LeaseError {
    table: String,
    message: String,
    /// The DynamoDB action and its failure, sorted, when the call itself failed.
    aws: Option<(&'static str, AwsError)>,
}

impl LeaseError {
    /// The DynamoDB action and its failure behind it, if the call itself failed.
    pub fn aws(&self) -> Option<(&'static str, &AwsError)> {
        self.aws.as_ref().map(|(action, error)| (*action, error))
    }

    /// `lease table <name>`, for error lines.
    pub fn resource(&self) -> String {
        format!("lease table {}", self.table)
    }
}

/// One lease row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// `<stream>/<shard id>`.
    pub key: String,
    /// The worker holding it; empty when free.
    pub owner: String,
    /// Bumped by every renewal and change of owner.
    pub counter: i64,
    /// Last checkpointed sequence number, or [`SHARD_END`].
    pub checkpoint: Option<String>,
}

impl Lease {
    /// Whether the shard was read to its end.
    pub fn finished(&self) -> bool {
        self.checkpoint.as_deref() == Some(SHARD_END)
    }
}

/// The table and its client.
#[derive(Clone, Debug)]
pub struct LeaseTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Service errors that can say "the condition failed".
pub(crate) trait ConditionFailed {
    /// Whether this is `ConditionalCheckFailedException`.
    fn condition_failed(&self) -> bool;
}

impl ConditionFailed for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionFailed for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl LeaseTable {
    /// The table `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_string(),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> LeaseError {
        LeaseError {
            table: self.table.clone(),
            message: message.to_string(),
            aws: None,
        }
    }

    fn sdk_error<E>(&self, action: &'static str, error: SdkError<E, HttpResponse>) -> LeaseError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let aws = AwsError::of(&error);
        LeaseError {
            table: self.table.clone(),
            message: aws.line(action, "the table"),
            aws: Some((action, aws)),
        }
    }

    fn conditional<T, E>(
        &self,
        action: &'static str,
        result: Result<T, SdkError<E, HttpResponse>>,
    ) -> Result<bool, LeaseError>
    where
        E: std::error::Error + ProvideErrorMetadata + ConditionFailed + Send + Sync + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.condition_failed()) => Ok(false),
            Err(e) => Err(self.sdk_error(action, e)),
        }
    }

    /// Checks that the table can be used: it exists (or does not yet: [`ensure`](Self::ensure)
    /// creates it) and DynamoDB answers `DescribeTable`.
    pub async fn probe(&self) -> Result<(), LeaseError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.sdk_error("DescribeTable", e)),
        }
    }

    /// Creates the table unless it exists, and waits until it is active.
    pub async fn ensure(&self) -> Result<(), LeaseError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        match described {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                let created = self
                    .client
                    .create_table()
                    .table_name(&self.table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(KEY)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(|e| self.error(e))?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(KEY)
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(|e| self.error(e))?,
                    )
                    .send()
                    .await;
                match created {
                    Ok(_) => tracing::info!(table = %self.table, "lease table created"),
                    // Another process created it meanwhile.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_in_use_exception()) => {}
                    Err(e) => return Err(self.sdk_error("CreateTable", e)),
                }
            }
            Err(e) => return Err(self.sdk_error("DescribeTable", e)),
        }
        for _ in 0..120 {
            let table = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.sdk_error("DescribeTable", e))?;
            if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(self.error("not active after 60 s"))
    }

    /// Every row (consistent read).
    pub async fn scan(&self) -> Result<Vec<Lease>, LeaseError> {
        let mut leases = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.sdk_error("Scan", e))?;
            for item in page.items() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                let Some(key) = text(KEY) else {
                    continue;
                };
                leases.push(Lease {
                    key,
                    owner: text(OWNER).unwrap_or_default(),
                    counter: number(item.get(COUNTER)),
                    checkpoint: text(CHECKPOINT),
                });
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(leases)
    }

    /// Creates a free row for a new shard; `false` if it exists already.
    pub async fn create(&self, key: &str) -> Result<bool, LeaseError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(OWNER, s(""))
            .item(COUNTER, n(0))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        self.conditional("PutItem", result)
    }

    /// Takes a lease seen with `seen_counter` (free or expired): owner := `me`, counter + 1 —
    /// only if nobody touched it since. Returns the new counter if taken.
    pub async fn take(
        &self,
        key: &str,
        me: &str,
        seen_counter: i64,
    ) -> Result<Option<i64>, LeaseError> {
        let next = seen_counter + 1;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #o = :me, #c = :next")
            .condition_expression("#c = :seen")
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":seen", n(seen_counter))
            .send()
            .await;
        Ok(self.conditional("UpdateItem", result)?.then_some(next))
    }

    /// Steals a live lease from `victim` for balance: owner := `me`, counter + 1, if `victim`
    /// still owns it. Returns the new counter if taken.
    pub async fn steal(
        &self,
        key: &str,
        me: &str,
        victim: &str,
    ) -> Result<Option<i64>, LeaseError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #o = :me, #c = #c + :one")
            .condition_expression("#o = :victim")
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":victim", s(victim))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(number(out.attributes().and_then(|a| a.get(COUNTER))))),
            Err(e) if e.as_service_error().is_some_and(|e| e.condition_failed()) => Ok(None),
            Err(e) => Err(self.sdk_error("UpdateItem", e)),
        }
    }

    /// Renews a lease `me` holds at `counter`; `false` if it was lost.
    pub async fn renew(&self, key: &str, me: &str, counter: i64) -> Result<bool, LeaseError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #c = :next")
            .condition_expression("#o = :me AND #c = :seen")
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":next", n(counter + 1))
            .expression_attribute_values(":seen", n(counter))
            .send()
            .await;
        self.conditional("UpdateItem", result)
    }

    /// Writes a checkpoint if `me` still owns the lease; `false` if it was lost.
    pub async fn checkpoint(
        &self,
        key: &str,
        me: &str,
        checkpoint: &str,
    ) -> Result<bool, LeaseError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #p = :p")
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#p", CHECKPOINT)
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":p", s(checkpoint))
            .send()
            .await;
        self.conditional("UpdateItem", result)
    }

    /// Gives a lease up (owner cleared, counter + 1) so another process may take it at once.
    pub async fn release(&self, key: &str, me: &str) -> Result<bool, LeaseError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #o = :free, #c = #c + :one")
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":free", s(""))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        self.conditional("UpdateItem", result)
    }
}

fn number(value: Option<&AttributeValue>) -> i64 {
    match value {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}
