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

/// `CREATE VIEW audit_events` for SQLite: times as ISO 8601 UTC text, the record as JSON text;
/// the source and the tenant by name, the event id and its chain hash as text, as the compact
/// events table does not keep them (`sqlite/mod.rs`). `id` is the event id's SQL expression.
pub fn sqlite(id: &str) -> String {
    format!(
        "CREATE VIEW IF NOT EXISTS audit_events AS
SELECT s.name AS source, t.name AS tenant, {id} AS event_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.time_ms / 1000.0, 'unixepoch') AS occurred_at,
       CASE s.name
           WHEN 'recruitee audit' THEN json_extract(e.record, '$.actor')
           ELSE COALESCE(json_extract(e.record, '$.operator.id'), json_extract(e.record, '$.operator'))
       END AS actor,
       CASE s.name
           WHEN 'recruitee audit' THEN json_extract(e.record, '$.event_name')
           ELSE json_extract(e.record, '$.operation_type')
       END AS action,
       CASE s.name
           WHEN 'recruitee audit' THEN COALESCE(json_extract(e.record, '$.candidate.name'), json_extract(e.record, '$.offer.title'))
           WHEN 'feishu dept-logs' THEN json_extract(e.record, '$.object_id')
           ELSE json_extract(e.record, '$.talent_id')
       END AS target,
       e.record AS record,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.archived_at / 1000.0, 'unixepoch') AS archived_at,
       e.seq AS seq
FROM events e JOIN sources s ON s.id = e.source_id JOIN tenants t ON t.id = e.tenant_id"
    )
}
