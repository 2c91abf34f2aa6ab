//! The view `audit_events`, the same SQL surface in both backends (documented in
//! `docs/archive.md`): one row per archived event, with who did what to what read out of the
//! vendor's record. Analysts point Grafana, Metabase, psql or sqlite3 at it.
//!
//! Per source: Recruitee's audit log: `actor`, `event_name`, the candidate's name (else the
//! offer's title); Feishu's department logs: `operator`, `operation_type`, `object_id`;
//! Feishu's talent logs: `operator` (its id when it is an object), `operation_type`,
//! `talent_id`.

/// `CREATE VIEW audit_events` for PostgreSQL: times as `timestamptz`, the record as `jsonb`.
pub fn postgres() -> String {
    let j = "r.j";
    format!(
        "CREATE OR REPLACE VIEW audit_events AS
SELECT source, tenant, event_id,
       to_timestamp(time_ms / 1000.0) AS occurred_at,
       CASE source
           WHEN 'recruitee audit' THEN {j}->>'actor'
           ELSE COALESCE({j}->'operator'->>'id', {j}->>'operator')
       END AS actor,
       CASE source
           WHEN 'recruitee audit' THEN {j}->>'event_name'
           ELSE {j}->>'operation_type'
       END AS action,
       CASE source
           WHEN 'recruitee audit' THEN COALESCE({j}->'candidate'->>'name', {j}->'offer'->>'title')
           WHEN 'feishu dept-logs' THEN {j}->>'object_id'
           ELSE {j}->>'talent_id'
       END AS target,
       {j} AS record,
       to_timestamp(archived_at / 1000.0) AS archived_at,
       seq
FROM events CROSS JOIN LATERAL (SELECT events.record::jsonb AS j) AS r"
    )
}

/// `CREATE VIEW audit_events` for SQLite: times as ISO 8601 UTC text, the record as JSON text.
pub fn sqlite() -> &'static str {
    "CREATE VIEW IF NOT EXISTS audit_events AS
SELECT source, tenant, event_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', time_ms / 1000.0, 'unixepoch') AS occurred_at,
       CASE source
           WHEN 'recruitee audit' THEN json_extract(record, '$.actor')
           ELSE COALESCE(json_extract(record, '$.operator.id'), json_extract(record, '$.operator'))
       END AS actor,
       CASE source
           WHEN 'recruitee audit' THEN json_extract(record, '$.event_name')
           ELSE json_extract(record, '$.operation_type')
       END AS action,
       CASE source
           WHEN 'recruitee audit' THEN COALESCE(json_extract(record, '$.candidate.name'), json_extract(record, '$.offer.title'))
           WHEN 'feishu dept-logs' THEN json_extract(record, '$.object_id')
           ELSE json_extract(record, '$.talent_id')
       END AS target,
       record,
       strftime('%Y-%m-%dT%H:%M:%fZ', archived_at / 1000.0, 'unixepoch') AS archived_at,
       seq
FROM events"
}
