//! The view `audit_events`, the same SQL surface in both backends (documented in
//! `docs/archive.md`): one row per archived event, with who did what to what read out of the
//! vendor's record. Analysts point Grafana, Metabase, psql or sqlite3 at it.
//!
//! Per source: Recruitee's audit log: `actor`, `event_name`, the candidate's name (else the
//! offer's title); Feishu's department logs: `operator`, `operation_type`, `object_id`;
//! Feishu's talent logs: `operator` (its id when it is an object), `operation_type`,
//! `talent_id`.
//!
//! Times: `occurred_at` is a UTC instant. A log whose vendor gives a wall clock without an
//! offset (`Source::wall_clock`: Feishu's department logs) keeps it read as UTC in
//! `time_ms`; where a sync knew the tenant's zone, `utc_offset` says the zone's offset then and
//! `occurred_at` is `time_ms - utc_offset` minutes. `occurred_zone` says which: `UTC` for
//! instants, the offset (`+08:00`) for a converted wall clock, NULL for a wall clock whose zone
//! was not known (its `occurred_at` is the wall clock as if it were UTC).

use crate::identity::Source;

/// The names of the sources whose times are a wall clock, as an SQL list (`'a', 'b'`).
fn wall_clock_sources() -> String {
    let names: Vec<String> = Source::ALL
        .into_iter()
        .filter(|s| s.wall_clock())
        .map(|s| format!("'{}'", s.name()))
        .collect();
    names.join(", ")
}

/// `CREATE VIEW audit_events` for PostgreSQL: times as `timestamptz`, the record as `jsonb`.
pub fn postgres() -> String {
    let j = "r.j";
    let wall = wall_clock_sources();
    format!(
        "CREATE OR REPLACE VIEW audit_events AS
SELECT source, tenant, event_id,
       to_timestamp((time_ms - COALESCE(utc_offset, 0)::numeric * 60000) / 1000.0) AS occurred_at,
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
       seq,
       CASE
           WHEN utc_offset IS NOT NULL THEN
               (CASE WHEN utc_offset < 0 THEN '-' ELSE '+' END)
               || lpad((abs(utc_offset::bigint) / 60)::text, greatest(2, length((abs(utc_offset::bigint) / 60)::text)), '0')
               || ':' || lpad((abs(utc_offset::bigint) % 60)::text, 2, '0')
           WHEN source IN ({wall}) THEN NULL
           ELSE 'UTC'
       END AS occurred_zone
FROM events CROSS JOIN LATERAL (SELECT events.record::jsonb AS j) AS r"
    )
}

/// `CREATE VIEW audit_events` for SQLite: times as ISO 8601 UTC text, the record as JSON text;
/// the source and the tenant by name, the event id and its chain hash as text, as the compact
/// events table does not keep them (`sqlite/mod.rs`). `id` is the event id's SQL expression.
pub fn sqlite(id: &str) -> String {
    let wall = wall_clock_sources();
    format!(
        "CREATE VIEW IF NOT EXISTS audit_events AS
SELECT s.name AS source, t.name AS tenant, {id} AS event_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', (e.time_ms - COALESCE(e.utc_offset, 0) * 60000) / 1000.0, 'unixepoch') AS occurred_at,
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
       e.seq AS seq,
       CASE
           WHEN e.utc_offset IS NOT NULL THEN
               printf('%s%02d:%02d', CASE WHEN e.utc_offset < 0 THEN '-' ELSE '+' END,
                      abs(e.utc_offset) / 60, abs(e.utc_offset) % 60)
           WHEN s.name IN ({wall}) THEN NULL
           ELSE 'UTC'
       END AS occurred_zone
FROM events e JOIN sources s ON s.id = e.source_id JOIN tenants t ON t.id = e.tenant_id"
    )
}
