//! Decoding one GetRecords answer into events: KPL de-aggregation, CloudWatch Logs envelopes
//! (per the source's `decoding`), the `kinesis` fields and deterministic ids of each user record,
//! and error events for records that cannot be decoded.

use super::*;

impl Reader {
    /// One GetRecords answer as events (and error events for undecodable records).
    pub(super) fn decode(&mut self, records: Vec<Record>, notifier: &BatchNotifier) -> SourceBatch {
        let mut batch = SourceBatch::default();
        let received = Utc::now();
        let record_count = records.len() as u64;
        let mut bytes = 0u64;
        for record in records {
            let data = Bytes::from(record.data.into_inner());
            bytes += data.len() as u64;
            let arrival = record
                .approximate_arrival_timestamp
                .and_then(|t| DateTime::<Utc>::from_timestamp_millis(t.to_millis().ok()?))
                .unwrap_or(received);
            let origin = Origin {
                sequence: record.sequence_number,
                partition_key: record.partition_key.unwrap_or_default(),
                arrival,
            };
            if kpl::is_aggregated(&data) {
                match kpl::deaggregate(&data) {
                    Ok(users) => {
                        for user in users {
                            let user_record = UserRecord {
                                data: user.data,
                                partition_key: &user.partition_key,
                                sub_sequence: Some(user.sub_sequence),
                            };
                            self.decode_user_record(
                                &origin,
                                user_record,
                                notifier,
                                received,
                                &mut batch,
                            );
                        }
                    }
                    Err(error) => {
                        let message = format!("KPL aggregate: {error}");
                        self.error_event(
                            &origin, data, None, &message, notifier, received, &mut batch,
                        );
                    }
                }
            } else {
                let user_record = UserRecord {
                    data,
                    partition_key: &origin.partition_key,
                    sub_sequence: None,
                };
                self.decode_user_record(&origin, user_record, notifier, received, &mut batch);
            }
        }
        // Counted once per answer: the counters are shared by every shard reader of the source.
        self.shared.kinesis_metrics.records.inc_by(record_count);
        self.shared.kinesis_metrics.bytes.inc_by(bytes);
        self.shared.metrics.received_bytes.inc_by(bytes);
        self.shared
            .metrics
            .received_events
            .inc_by(batch.events.len() as u64);
        if !batch.errors.is_empty() {
            self.shared
                .metrics
                .error(ErrorType::InvalidRecord.as_str(), batch.errors.len() as u64);
        }
        batch
    }

    /// One user record (a whole Kinesis record, or one of an aggregate) → events.
    fn decode_user_record(
        &mut self,
        origin: &Origin,
        record: UserRecord<'_>,
        notifier: &BatchNotifier,
        received: DateTime<Utc>,
        batch: &mut SourceBatch,
    ) {
        let envelope = match self.shared.decoding {
            Decoding::Raw => false,
            Decoding::Auto => cloudwatch::looks_like_envelope(&record.data),
            Decoding::CloudwatchLogs => true,
        };
        let sub = record.sub_sequence.unwrap_or(0);
        if !envelope {
            let id = record_id(
                &self.task.stream.name,
                &self.task.shard_id,
                &origin.sequence,
                sub,
                "",
            );
            let mut fields = ObjectMap::new();
            fields.insert(
                KeyString::from("kinesis"),
                self.kinesis_value(origin, record.partition_key, record.sub_sequence, &id),
            );
            fields.insert(KeyString::from("message"), Value::Bytes(record.data));
            fields.insert(
                KeyString::from("timestamp"),
                Value::Timestamp(origin.arrival),
            );
            let meta = self
                .metadata(received, id, notifier)
                .at(Arc::clone(&self.identity), self.ordinal);
            self.ordinal += 1;
            batch.events.push(Event::new(fields, meta));
            return;
        }
        // CloudWatch Logs events get no stream position on purpose: one shard interleaves log
        // groups of different formats (Lambda, RDS, CloudTrail…), and `aws_parse` caches the
        // detected format per stream. Without a stream it detects each event's format from its
        // own `cloudwatch.log_group`.
        match cloudwatch::decode(&record.data, self.shared.max_decompressed_bytes) {
            Ok(log_events) if log_events.is_empty() => {
                // A destination health check: nothing to deliver, nothing wrong.
                self.shared.kinesis_metrics.control_messages.inc();
                tracing::debug!(source = %self.shared.id, shard = %self.task.shard_id, sequence = %origin.sequence, "CloudWatch Logs control message dropped");
            }
            Ok(log_events) => {
                for (index, log_event) in log_events.into_iter().enumerate() {
                    let part = if log_event.id.is_empty() {
                        index.to_string()
                    } else {
                        log_event.id
                    };
                    let id = record_id(
                        &self.task.stream.name,
                        &self.task.shard_id,
                        &origin.sequence,
                        sub,
                        &part,
                    );
                    let mut fields = log_event.fields;
                    fields.insert(
                        KeyString::from("kinesis"),
                        self.kinesis_value(origin, record.partition_key, record.sub_sequence, &id),
                    );
                    batch
                        .events
                        .push(Event::new(fields, self.metadata(received, id, notifier)));
                }
            }
            Err(error) => {
                let message = format!("not a CloudWatch Logs envelope: {error}");
                self.error_event(
                    origin,
                    record.data,
                    record.sub_sequence,
                    &message,
                    notifier,
                    received,
                    batch,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn error_event(
        &self,
        origin: &Origin,
        data: Bytes,
        sub_sequence: Option<u64>,
        message: &str,
        notifier: &BatchNotifier,
        received: DateTime<Utc>,
        batch: &mut SourceBatch,
    ) {
        tracing::warn!(source = %self.shared.id, shard = %self.task.shard_id, sequence = %origin.sequence, error = %message, "undecodable record sent to the errors output");
        let id = record_id(
            &self.task.stream.name,
            &self.task.shard_id,
            &origin.sequence,
            sub_sequence.unwrap_or(0),
            "error",
        );
        let mut fields = ObjectMap::new();
        fields.insert(
            KeyString::from("kinesis"),
            self.kinesis_value(origin, &origin.partition_key, sub_sequence, &id),
        );
        fields.insert(KeyString::from("message"), Value::Bytes(data));
        fields.insert(KeyString::from("error"), Value::from(message));
        fields.insert(
            KeyString::from("timestamp"),
            Value::Timestamp(origin.arrival),
        );
        batch
            .errors
            .push(Event::new(fields, self.metadata(received, id, notifier)));
    }

    fn metadata(
        &self,
        received: DateTime<Utc>,
        id: String,
        notifier: &BatchNotifier,
    ) -> EventMetadata {
        let mut meta = EventMetadata::new(Arc::clone(&self.shared.id), SOURCE_TYPE, received)
            .acknowledged_by(notifier.finalizer());
        meta.id = Some(Arc::from(id));
        meta
    }

    /// The `kinesis` object of an event.
    fn kinesis_value(
        &self,
        origin: &Origin,
        partition_key: &str,
        sub_sequence: Option<u64>,
        id: &str,
    ) -> Value {
        let mut kinesis = ObjectMap::new();
        kinesis.insert(
            KeyString::from("stream"),
            Value::Bytes(self.stream_value.clone()),
        );
        kinesis.insert(
            KeyString::from("shard_id"),
            Value::Bytes(self.shard_value.clone()),
        );
        kinesis.insert(
            KeyString::from("sequence_number"),
            Value::from(origin.sequence.as_str()),
        );
        if let Some(sub) = sub_sequence {
            kinesis.insert(
                KeyString::from("sub_sequence_number"),
                Value::Integer(i64::try_from(sub).unwrap_or(i64::MAX)),
            );
        }
        kinesis.insert(KeyString::from("partition_key"), Value::from(partition_key));
        kinesis.insert(
            KeyString::from("arrival_time"),
            Value::Timestamp(origin.arrival),
        );
        kinesis.insert(KeyString::from("record_id"), Value::from(id));
        Value::Object(kinesis)
    }
}

/// The Kinesis record a user record came from.
pub(super) struct Origin {
    sequence: String,
    partition_key: String,
    arrival: DateTime<Utc>,
}

/// One user record.
pub(super) struct UserRecord<'a> {
    data: Bytes,
    partition_key: &'a str,
    sub_sequence: Option<u64>,
}
