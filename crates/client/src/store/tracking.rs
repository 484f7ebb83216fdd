//! Sync bookkeeping inside the local store. Every write to a synced table calls
//! [`record`] in the same transaction: the fields that differ from the values last
//! stamped get a new hybrid-logical-clock time and go to the outbox as one change.
//! Pulled records are merged back here too ([`apply_remote_page`]). The tables' columns are
//! named like the fields of `bouquet_core::sync::Entity`, so one generic mapping serves
//! every kind of record.

use std::collections::BTreeMap;

use bouquet_core::Hlc;
use bouquet_core::sync::{CLOCK_TOLERANCE_MS, Entity, Record, RecordState};
use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde_json::{Map, Value};

use super::{Result, now_text, time_text};
use crate::ClientError;

/// The table behind each kind of record.
fn table(entity: Entity) -> (&'static str, bool) {
    // (table, whether it has an updated_at column)
    match entity {
        Entity::Contact => ("contacts", true),
        Entity::Fair => ("fairs", true),
        Entity::Code => ("codes", false),
        Entity::Lead => ("fair_leads", false),
        Entity::Invitation => ("invitations", true),
        Entity::Profile => ("profiles", true),
    }
}

fn json_of(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Database(format!("sync metadata {what}: {e}"))
}

/// The record's synced fields as they are in its table, and whether it is deleted.
fn read_row(conn: &Connection, entity: Entity, id: &str) -> Result<Option<(Map<String, Value>, bool)>> {
    let (table, _) = table(entity);
    let names: Vec<&str> = entity.fields().iter().map(|f| f.name).collect();
    let sql = format!("SELECT {}, deleted_at FROM {table} WHERE id = ?1", names.join(", "));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| row_fields(r, &names))
        .optional()?)
}

/// The synced fields `names` read from the start of a row, then `deleted_at`: the
/// fields and whether the record is deleted.
fn row_fields(r: &rusqlite::Row<'_>, names: &[&str]) -> rusqlite::Result<(Map<String, Value>, bool)> {
    let mut fields = Map::new();
    for (i, name) in names.iter().enumerate() {
        fields.insert((*name).to_string(), json_of(r.get_ref(i)?));
    }
    let deleted: Option<String> = r.get(names.len())?;
    Ok((fields, deleted.is_some()))
}

/// Every record of a kind: id, fields, deleted.
pub(crate) fn read_all(conn: &Connection, entity: Entity) -> Result<Vec<(uuid::Uuid, Map<String, Value>, bool)>> {
    let (table, _) = table(entity);
    let ids: Vec<String> = conn.prepare(&format!("SELECT id FROM {table}"))?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some((fields, deleted)) = read_row(conn, entity, &id)? {
            all.push((uuid::Uuid::parse_str(&id).map_err(|e| corrupt("id", e))?, fields, deleted));
        }
    }
    Ok(all)
}

fn read_meta(conn: &Connection, entity: Entity, id: &str) -> Result<Option<RecordState>> {
    let row = conn
        .prepare_cached("SELECT fields, clocks, deleted FROM sync_meta WHERE entity = ?1 AND entity_id = ?2")?
        .query_row(params![entity.as_str(), id], |r| meta_columns(r, 0))
        .optional()?;
    row.flatten().map(parse_meta).transpose()
}

/// A `sync_meta` row's fields, clocks and delete clock, read from `first` on; `None`
/// when the row is absent (a LEFT JOIN found none).
type MetaColumns = (String, String, Option<String>);

fn meta_columns(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<MetaColumns>> {
    let fields: Option<String> = r.get(first)?;
    let Some(fields) = fields else { return Ok(None) };
    Ok(Some((fields, r.get(first + 1)?, r.get(first + 2)?)))
}

fn parse_meta((fields, clocks, deleted): MetaColumns) -> Result<RecordState> {
    Ok(RecordState {
        fields: serde_json::from_str(&fields).map_err(|e| corrupt("fields", e))?,
        clocks: serde_json::from_str(&clocks).map_err(|e| corrupt("clocks", e))?,
        deleted: deleted.map(|d| d.parse()).transpose().map_err(|e| corrupt("delete clock", e))?,
    })
}

/// The record's synced fields, whether it is deleted, and what was last stamped for it,
/// in one read (every local write asks for both).
fn read_row_and_meta(conn: &Connection, entity: Entity, id: &str) -> Result<Option<(Map<String, Value>, bool, Option<RecordState>)>> {
    let (table, _) = table(entity);
    let names: Vec<&str> = entity.fields().iter().map(|f| f.name).collect();
    let columns: Vec<String> = names.iter().map(|n| format!("t.{n}")).collect();
    let sql = format!(
        "SELECT {}, t.deleted_at, m.fields, m.clocks, m.deleted FROM {table} t
         LEFT JOIN sync_meta m ON m.entity = ?2 AND m.entity_id = t.id WHERE t.id = ?1",
        columns.join(", ")
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row(params![id, entity.as_str()], |r| {
            let (fields, deleted) = row_fields(r, &names)?;
            Ok((fields, deleted, meta_columns(r, names.len() + 1)?))
        })
        .optional()?;
    let Some((fields, deleted, meta)) = row else { return Ok(None) };
    Ok(Some((fields, deleted, meta.map(parse_meta).transpose()?)))
}

fn write_meta(conn: &Connection, entity: Entity, id: &str, state: &RecordState) -> Result<()> {
    let fields = serde_json::to_string(&state.fields).map_err(|e| corrupt("fields", e))?;
    let clocks = serde_json::to_string(&state.clocks).map_err(|e| corrupt("clocks", e))?;
    conn.prepare_cached(
        "INSERT INTO sync_meta (entity, entity_id, fields, clocks, deleted) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (entity, entity_id) DO UPDATE SET fields = excluded.fields, clocks = excluded.clocks, deleted = excluded.deleted",
    )?
    .execute(params![entity.as_str(), id, fields, clocks, state.deleted.as_ref().map(ToString::to_string)])?;
    Ok(())
}

/// The device's wall clock: the system's, shifted by [`LocalStore::set_clock_skew`]
/// (which tests use to play a device whose clock is wrong).
pub(crate) fn wall_clock(conn: &Connection) -> Result<DateTime<Utc>> {
    let skew: i64 = conn.prepare_cached("SELECT COALESCE((SELECT ms FROM temp.clock_skew), 0)")?.query_row([], |r| r.get(0))?;
    Ok(Utc::now() + chrono::Duration::milliseconds(skew))
}

/// The device's best notion of now: its wall clock plus the offset to the server's
/// clock learned at the last sync.
pub(crate) fn device_now(conn: &Connection) -> Result<DateTime<Utc>> {
    let offset: i64 = conn.prepare_cached("SELECT clock_offset_ms FROM sync_state WHERE id = 1")?.query_row([], |r| r.get(0))?;
    Ok(wall_clock(conn)? + chrono::Duration::milliseconds(offset))
}

fn last_clock(conn: &Connection) -> Result<Option<Hlc>> {
    let text: Option<String> = conn.prepare_cached("SELECT last_clock FROM sync_state WHERE id = 1")?.query_row([], |r| r.get(0))?;
    text.map(|t| t.parse()).transpose().map_err(|e| corrupt("last clock", e))
}

fn set_last_clock(conn: &Connection, clock: Option<&Hlc>) -> Result<()> {
    conn.prepare_cached("UPDATE sync_state SET last_clock = ?1 WHERE id = 1")?.execute([clock.map(ToString::to_string)])?;
    Ok(())
}

/// A clock for a local write, after every clock this device has made or seen. What it
/// needs (the clock offset and skew of [`device_now`], the last clock, this device's
/// node name: its device id once signed in, "local" before) is read in one statement,
/// as every local write ticks.
fn tick(conn: &Connection) -> Result<Hlc> {
    let (offset_ms, skew_ms, last, device): (i64, i64, Option<String>, Option<String>) = conn
        .prepare_cached(
            "SELECT s.clock_offset_ms, COALESCE((SELECT ms FROM temp.clock_skew), 0), s.last_clock,
                (SELECT device_id FROM session WHERE id = 1)
             FROM sync_state s WHERE s.id = 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let now = (Utc::now() + chrono::Duration::milliseconds(skew_ms + offset_ms)).timestamp_millis();
    let last: Option<Hlc> = last.map(|t| t.parse()).transpose().map_err(|e| corrupt("last clock", e))?;
    let node = device.map(|d| d.replace('-', "")).unwrap_or_else(|| "local".into());
    let clock = Hlc::tick(last.as_ref(), now, &node);
    set_last_clock(conn, Some(&clock))?;
    Ok(clock)
}

/// Remembers a clock seen from another device, so later local writes come after it.
fn observe(conn: &Connection, seen: Option<&Hlc>) -> Result<()> {
    let Some(seen) = seen else { return Ok(()) };
    if last_clock(conn)?.is_none_or(|last| *seen > last) {
        set_last_clock(conn, Some(seen))?;
    }
    Ok(())
}

/// After learning the server's time: a clock that had run ahead of it (the device's
/// wall clock was wrong) is dropped, so new writes stop carrying the wrong time.
pub(crate) fn correct_clock(conn: &Connection, server_time: DateTime<Utc>) -> Result<()> {
    let offset_ms = (server_time - wall_clock(conn)?).num_milliseconds();
    conn.execute("UPDATE sync_state SET clock_offset_ms = ?1 WHERE id = 1", [offset_ms])?;
    let now = device_now(conn)?.timestamp_millis();
    if last_clock(conn)?.is_some_and(|last| last.wall_ms > now + CLOCK_TOLERANCE_MS) {
        set_last_clock(conn, None)?;
    }
    Ok(())
}

fn append_outbox(conn: &Connection, entity: Entity, id: &str, change: &RecordState) -> Result<()> {
    let payload = serde_json::to_string(change).map_err(|e| corrupt("change", e))?;
    // A new change of the record supersedes one the server refused (the user fixed it).
    conn.prepare_cached("DELETE FROM refused_changes WHERE entity = ?1 AND entity_id = ?2")?.execute(params![entity.as_str(), id])?;
    let op = if change.deleted.is_some() { "delete" } else { "upsert" };
    // The next number is kept beside the clock, on the page `tick` has just written.
    let seq: i64 = conn
        .prepare_cached("UPDATE sync_state SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1")?
        .query_row([], |r| r.get(0))?;
    conn.prepare_cached("INSERT INTO outbox (seq, entity, entity_id, op, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![seq, entity.as_str(), id, op, payload, now_text()])?;
    Ok(())
}

/// Stamps what changed in the record since it was last stamped and queues it for the
/// server. Call after writing the row, inside the same transaction.
pub(crate) fn record(conn: &Connection, entity: Entity, id: &str) -> Result<()> {
    let Some((fields, deleted, meta)) = read_row_and_meta(conn, entity, id)? else { return Ok(()) };
    let mut meta = meta.unwrap_or_default();
    let changed: Map<String, Value> =
        fields.into_iter().filter(|(name, value)| meta.fields.get(name) != Some(value)).collect();
    let newly_deleted = deleted && meta.deleted.is_none();
    if changed.is_empty() && !newly_deleted {
        return Ok(());
    }
    let clock = tick(conn)?;
    let change = RecordState {
        clocks: changed.keys().map(|k| (k.clone(), clock.clone())).collect(),
        fields: changed,
        deleted: newly_deleted.then(|| clock.clone()),
    };
    meta.merge(&change.fields, &change.clocks, change.deleted.as_ref());
    write_meta(conn, entity, id, &meta)?;
    append_outbox(conn, entity, id, &change)
}

/// Forgets that `fields` of the record were stamped (a refused change carried them), so
/// saving the record again sends them again; with `clocks`, also their clocks, so a pull
/// takes the server's values. True when nothing of the record is left stamped or waiting
/// to be sent: the server never had it.
pub(crate) fn forget_stamped<'a>(conn: &Connection, entity: Entity, id: &str, fields: impl Iterator<Item = &'a String>, clocks: bool) -> Result<bool> {
    let Some(mut meta) = read_meta(conn, entity, id)? else { return Ok(true) };
    for name in fields {
        meta.fields.remove(name);
        if clocks {
            meta.clocks.remove(name);
        }
    }
    write_meta(conn, entity, id, &meta)?;
    let pending: i64 = conn.query_row("SELECT COUNT(*) FROM outbox WHERE entity = ?1 AND entity_id = ?2", params![entity.as_str(), id], |r| r.get(0))?;
    Ok(meta.fields.is_empty() && pending == 0)
}

/// Removes a record the server never had, without telling the server (there is nothing
/// to tell). A record something else here still refers to is kept.
pub(crate) fn remove_local_only(conn: &Connection, entity: Entity, id: &str) -> Result<()> {
    let (table, _) = table(entity);
    match conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id]) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    conn.execute("DELETE FROM sync_meta WHERE entity = ?1 AND entity_id = ?2", params![entity.as_str(), id])?;
    Ok(())
}

/// What a person calls the record: a contact's or invitation's names, a fair's name, a
/// code; `None` when it is gone or has no name.
pub(crate) fn label(conn: &Connection, entity: Entity, id: &str) -> Result<Option<String>> {
    let column = match entity {
        Entity::Contact => "names",
        Entity::Fair => "name",
        Entity::Code => "code",
        Entity::Invitation => "couple_names",
        Entity::Lead | Entity::Profile => return Ok(None),
    };
    let Some((fields, _)) = read_row(conn, entity, id)? else { return Ok(None) };
    Ok(fields.get(column).and_then(Value::as_str).map(str::to_string))
}

/// Queues every record as it is, each field with its own clock, so the server can be
/// given everything again (after it lost data, or for records made before sync).
pub(crate) fn enqueue_snapshot(conn: &Connection) -> Result<usize> {
    let mut queued = 0;
    for entity in Entity::ALL {
        let (table, _) = table(entity);
        let ids: Vec<String> = conn.prepare(&format!("SELECT id FROM {table} ORDER BY rowid"))?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let Some((fields, deleted)) = read_row(conn, entity, &id)? else { continue };
            let mut meta = read_meta(conn, entity, &id)?.unwrap_or_default();
            // Fields never stamped (made before sync) get a clock now.
            let unstamped: Vec<String> = fields.keys().filter(|k| !meta.clocks.contains_key(*k)).cloned().collect();
            if !unstamped.is_empty() || (deleted && meta.deleted.is_none()) {
                let clock = tick(conn)?;
                for name in unstamped {
                    meta.clocks.insert(name, clock.clone());
                }
                if deleted && meta.deleted.is_none() {
                    meta.deleted = Some(clock);
                }
            }
            meta.fields = fields;
            write_meta(conn, entity, &id, &meta)?;
            append_outbox(conn, entity, &id, &meta)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The fields of the record that this device has changed and not yet had acknowledged.
fn pending_fields(conn: &Connection, entity: Entity, id: &str) -> Result<(BTreeMap<String, Hlc>, Option<Hlc>)> {
    let mut stmt = conn.prepare_cached("SELECT payload FROM outbox WHERE entity = ?1 AND entity_id = ?2")?;
    let mut clocks = BTreeMap::new();
    let mut deleted = None;
    for payload in stmt.query_map(params![entity.as_str(), id], |r| r.get::<_, String>(0))? {
        let change: RecordState = serde_json::from_str(&payload?).map_err(|e| corrupt("outbox change", e))?;
        clocks.extend(change.clocks);
        deleted = deleted.or(change.deleted);
    }
    Ok((clocks, deleted))
}

/// Merges a page of records from the server; returns how many changed a local record.
/// The server's state is the truth for everything this device has had acknowledged; a
/// field changed here and not yet sent keeps the local value unless the server's is
/// newer.
pub(crate) fn apply_remote_page(conn: &Connection, records: &[Record]) -> Result<usize> {
    // Later local writes must come after every clock seen.
    observe(conn, records.iter().filter_map(Record::newest_clock).max())?;
    // Nothing waits to be sent (always so on a fresh device): no local field to keep.
    let outbox_empty: bool = conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM outbox)", [], |r| r.get(0))?;
    let mut changed = 0;
    for record in records {
        changed += usize::from(apply_remote(conn, record, outbox_empty)?);
    }
    Ok(changed)
}

fn apply_remote(conn: &Connection, record: &Record, outbox_empty: bool) -> Result<bool> {
    let entity = record.entity;
    let id = record.id.to_string();
    let (table, _) = table(entity);
    // Whether the row is here and what was stamped for it, in one read.
    let (exists, local) = conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?2), m.fields, m.clocks, m.deleted
             FROM (SELECT 1) LEFT JOIN sync_meta m ON m.entity = ?1 AND m.entity_id = ?2"
        ))?
        .query_row(params![entity.as_str(), id], |r| Ok((r.get::<_, bool>(0)?, meta_columns(r, 1)?)))?;
    let local = local.map(parse_meta).transpose()?.unwrap_or_default();
    let (pending, pending_delete) = if outbox_empty { Default::default() } else { pending_fields(conn, entity, &id)? };
    let mut merged = record.state();
    for (name, clock) in &pending {
        if merged.clocks.get(name).is_none_or(|server| clock > server)
            && let Some(value) = local.fields.get(name)
        {
            merged.fields.insert(name.clone(), value.clone());
            merged.clocks.insert(name.clone(), clock.clone());
        }
    }
    if merged.deleted.is_none() {
        merged.deleted = pending_delete.or(local.deleted.clone());
    }
    if merged == local {
        return Ok(false);
    }
    write_row(conn, entity, &id, exists, &merged)?;
    write_meta(conn, entity, &id, &merged)?;
    Ok(true)
}

/// Writes the record's fields into its table (creating the row unless it `exists`).
fn write_row(conn: &Connection, entity: Entity, id: &str, exists: bool, state: &RecordState) -> Result<()> {
    let (table, has_updated_at) = table(entity);
    let complete = entity.fields().iter().filter(|f| f.required).all(|f| state.fields.get(f.name).is_some_and(|v| !v.is_null()));
    if !exists && !complete {
        // A delete (or edit) of a record whose creation has not arrived: kept in the
        // metadata only, and the row is written when the rest arrives.
        return Ok(());
    }
    let now = now_text();
    let deleted_at: Option<String> = state.deleted.as_ref().map(|d| {
        DateTime::from_timestamp_millis(d.wall_ms).map(time_text).unwrap_or_else(|| now.clone())
    });
    let mut columns: Vec<&str> = vec!["id"];
    let mut values: Vec<Box<dyn ToSql>> = vec![Box::new(id.to_string())];
    for field in entity.fields() {
        if let Some(value) = state.fields.get(field.name) {
            columns.push(field.name);
            values.push(match value {
                Value::Null => Box::new(rusqlite::types::Null),
                Value::Number(n) => Box::new(n.as_i64().unwrap_or_default()),
                Value::String(s) => Box::new(s.clone()),
                other => Box::new(other.to_string()),
            });
        }
    }
    if has_updated_at {
        columns.push("updated_at");
        values.push(Box::new(now.clone()));
    }
    columns.push("deleted_at");
    values.push(Box::new(deleted_at));
    let sql = if exists {
        let sets: Vec<String> = columns.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
        format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", "))
    } else {
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), placeholders.join(", "))
    };
    // The same kinds of record with the same fields make the same statement: cached.
    conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values.iter().map(|v| v.as_ref())))?;
    Ok(())
}
