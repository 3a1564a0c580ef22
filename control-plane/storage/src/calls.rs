//! Call detail records.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{query_err, Result, StorageError};
use crate::row::{page_bounds, to_i64, Dialect, Page, RowExt};
use crate::store::{with_pool, Store};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The callee answered.
    Answered,
    /// Nobody answered before the caller or a timer gave up.
    NoAnswer,
    /// The callee was busy or declined.
    Busy,
    /// The call failed (unreachable, error response, media failure).
    Failed,
    /// The caller hung up before an answer.
    Cancelled,
}

impl Disposition {
    /// Name stored in the database (`answered`, `no_answer`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::NoAnswer => "no_answer",
            Disposition::Busy => "busy",
            Disposition::Failed => "failed",
            Disposition::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Disposition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "answered" => Disposition::Answered,
            "no_answer" => Disposition::NoAnswer,
            "busy" => Disposition::Busy,
            "failed" => Disposition::Failed,
            "cancelled" => Disposition::Cancelled,
            other => return Err(format!("unknown disposition {other:?}")),
        })
    }
}

/// Which party ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupSide {
    /// The calling party.
    Caller,
    /// The called party.
    Callee,
    /// The PBX itself (timeout, media loss, shutdown).
    System,
}

impl HangupSide {
    /// Name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Caller => "caller",
            HangupSide::Callee => "callee",
            HangupSide::System => "system",
        }
    }
}

impl FromStr for HangupSide {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "caller" => HangupSide::Caller,
            "callee" => HangupSide::Callee,
            "system" => HangupSide::System,
            other => return Err(format!("unknown hangup side {other:?}")),
        })
    }
}

/// RTP quality summary of one direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RtpQuality {
    /// Packets lost, in percent.
    pub loss_pct: f64,
    /// Interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Estimated mean opinion score (1 to 5).
    pub mos: f64,
}

/// A call detail record to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCallRecord {
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Calling number or URI.
    pub caller: String,
    /// Called number or URI.
    pub callee: String,
    /// When the call started (INVITE received).
    pub started_at: DateTime<Utc>,
    /// When it was answered, if it was.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// Total length (start to end), in milliseconds.
    pub duration_ms: u64,
    /// Talk time (answer to end), in milliseconds.
    pub billable_ms: u64,
    /// Outcome.
    pub disposition: Disposition,
    /// Reason, e.g. a SIP status (`486 Busy Here`) or `BYE`.
    pub hangup_cause: Option<String>,
    /// Who ended the call.
    pub hangup_side: Option<HangupSide>,
    /// Negotiated codec, e.g. `PCMU`.
    pub codec: Option<String>,
    /// Quality of the media received from the caller.
    pub caller_quality: Option<RtpQuality>,
    /// Quality of the media received from the callee.
    pub callee_quality: Option<RtpQuality>,
    /// Recording file, if the call was recorded.
    pub recording_path: Option<String>,
    /// Length of the recorded audio in milliseconds, once its file was closed.
    pub recording_ms: Option<u64>,
}

/// A stored call detail record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// Database id.
    pub id: i64,
    /// Everything that was stored.
    #[serde(flatten)]
    pub record: NewCallRecord,
}

/// Which records [`Store::search_call_records`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallRecordFilter {
    /// Only calls started at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only calls started before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only calls where this is the caller or the callee (exact match).
    pub number: Option<String>,
    /// Only calls with this outcome.
    pub disposition: Option<Disposition>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

const COLUMNS: &str = "id, call_id, caller, callee, started_at, answered_at, ended_at, duration_ms, \
                       billable_ms, disposition, hangup_cause, hangup_side, codec, caller_loss_pct, \
                       caller_jitter_ms, caller_mos, callee_loss_pct, callee_jitter_ms, callee_mos, \
                       recording_path, recording_ms";

fn quality(
    r: &impl RowExt,
    loss: &'static str,
    jitter: &'static str,
    mos: &'static str,
) -> Result<Option<RtpQuality>> {
    Ok(match (r.real(loss)?, r.real(jitter)?, r.real(mos)?) {
        (Some(loss_pct), Some(jitter_ms), Some(mos)) => Some(RtpQuality {
            loss_pct,
            jitter_ms,
            mos,
        }),
        _ => None,
    })
}

fn from_row(r: &impl RowExt) -> Result<CallRecord> {
    let decode = |column: &'static str, reason: String| StorageError::Decode { column, reason };
    Ok(CallRecord {
        id: r.int("id")?,
        record: NewCallRecord {
            call_id: r.text("call_id")?,
            caller: r.text("caller")?,
            callee: r.text("callee")?,
            started_at: r.ts("started_at")?,
            answered_at: r.opt_ts("answered_at")?,
            ended_at: r.ts("ended_at")?,
            duration_ms: r.u64("duration_ms")?,
            billable_ms: r.u64("billable_ms")?,
            disposition: r
                .text("disposition")?
                .parse()
                .map_err(|e| decode("disposition", e))?,
            hangup_cause: r.opt_text("hangup_cause")?,
            hangup_side: r
                .opt_text("hangup_side")?
                .map(|s| s.parse().map_err(|e| decode("hangup_side", e)))
                .transpose()?,
            codec: r.opt_text("codec")?,
            caller_quality: quality(r, "caller_loss_pct", "caller_jitter_ms", "caller_mos")?,
            callee_quality: quality(r, "callee_loss_pct", "callee_jitter_ms", "callee_mos")?,
            recording_path: r.opt_text("recording_path")?,
            recording_ms: r
                .opt_int("recording_ms")?
                .map(|v| u64::try_from(v).map_err(|e| decode("recording_ms", e.to_string())))
                .transpose()?,
        },
    })
}

const INSERT: &str =
    "INSERT INTO call_records (call_id, caller, callee, started_at, answered_at, ended_at, \
     duration_ms, billable_ms, disposition, hangup_cause, hangup_side, codec, \
     caller_loss_pct, caller_jitter_ms, caller_mos, callee_loss_pct, callee_jitter_ms, \
     callee_mos, recording_path, recording_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)";

/// Columns [`INSERT`] sets.
const INSERT_COLUMNS: usize = 20;

/// Most records in one multi-row `INSERT` (SQLite allows 32766 parameters, PostgreSQL 65535).
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// [`INSERT`] for `rows` records: `VALUES ($1, ..., $20), ($21, ...), ...`.
fn insert_rows(rows: usize) -> String {
    let head = INSERT.split_once("VALUES").map_or(INSERT, |(h, _)| h);
    let mut sql = String::with_capacity(head.len() + rows * INSERT_COLUMNS * 5);
    sql.push_str(head);
    sql.push_str("VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..INSERT_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * INSERT_COLUMNS + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// The checked numeric columns of a record.
struct Numbers {
    duration: i64,
    billable: i64,
    recording_ms: Option<i64>,
}

impl Numbers {
    fn of(rec: &NewCallRecord) -> Result<Numbers> {
        if rec.ended_at < rec.started_at {
            return Err(StorageError::InvalidInput {
                field: "ended_at",
                reason: "is before started_at".to_owned(),
            });
        }
        Ok(Numbers {
            duration: to_i64("duration_ms", rec.duration_ms)?,
            billable: to_i64("billable_ms", rec.billable_ms)?,
            recording_ms: rec
                .recording_ms
                .map(|ms| to_i64("recording_ms", ms))
                .transpose()?,
        })
    }
}

/// Binds a record's columns to [`INSERT`]'s parameters.
macro_rules! bind_record {
    ($query:expr, $pool:ident, $rec:expr, $n:expr) => {{
        let (rec, n) = ($rec, $n);
        let (a, b) = (rec.caller_quality, rec.callee_quality);
        $query
            .bind(&rec.call_id)
            .bind(&rec.caller)
            .bind(&rec.callee)
            .bind($pool.ts(rec.started_at))
            .bind($pool.opt_ts(rec.answered_at))
            .bind($pool.ts(rec.ended_at))
            .bind(n.duration)
            .bind(n.billable)
            .bind(rec.disposition.as_str())
            .bind(&rec.hangup_cause)
            .bind(rec.hangup_side.map(HangupSide::as_str))
            .bind(&rec.codec)
            .bind(a.map(|q| q.loss_pct))
            .bind(a.map(|q| q.jitter_ms))
            .bind(a.map(|q| q.mos))
            .bind(b.map(|q| q.loss_pct))
            .bind(b.map(|q| q.jitter_ms))
            .bind(b.map(|q| q.mos))
            .bind(&rec.recording_path)
            .bind(n.recording_ms)
    }};
}

impl Store {
    /// Stores a call detail record.
    pub async fn insert_call_record(&self, rec: &NewCallRecord) -> Result<CallRecord> {
        let n = Numbers::of(rec)?;
        let sql = format!("{INSERT} RETURNING {COLUMNS}");
        with_pool!(self, pool => {
            let row = bind_record!(sqlx::query(&sql), pool, rec, n)
                .fetch_one(pool)
                .await
                .map_err(query_err)?;
            from_row(&row)
        })
    }

    /// Stores several call detail records in one statement per [`ROWS_PER_INSERT`] records,
    /// all in one transaction: all of them, or none when one is refused.
    pub async fn insert_call_records(&self, recs: &[NewCallRecord]) -> Result<()> {
        let numbers = recs.iter().map(Numbers::of).collect::<Result<Vec<_>>>()?;
        let rows: Vec<_> = recs.iter().zip(numbers).collect();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(query_err)?;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let sql = insert_rows(chunk.len());
                // Batches vary in size: a statement per size would crowd the cache.
                let mut query = sqlx::query(&sql).persistent(false);
                for (rec, n) in chunk {
                    query = bind_record!(query, pool, *rec, n);
                }
                query.execute(&mut *tx).await.map_err(query_err)?;
            }
            tx.commit().await.map_err(query_err)
        })
    }

    /// A page of call records matching `filter`, newest first.
    pub async fn search_call_records(&self, filter: &CallRecordFilter) -> Result<Page<CallRecord>> {
        const WHERE: &str =
            "WHERE ($1 IS NULL OR started_at >= $1) AND ($2 IS NULL OR started_at < $2) \
                             AND ($3 IS NULL OR caller = $3 OR callee = $3) \
                             AND ($4 IS NULL OR disposition = $4)";
        let list_sql = format!(
            "SELECT {COLUMNS} FROM call_records {WHERE} ORDER BY started_at DESC, id DESC LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM call_records {WHERE}");
        let (limit, offset) = page_bounds(filter.limit, filter.offset);
        let disposition = filter.disposition.map(Disposition::as_str);
        with_pool!(self, pool => {
            let rows = sqlx::query(&list_sql)
                .bind(pool.opt_ts(filter.from))
                .bind(pool.opt_ts(filter.to))
                .bind(&filter.number)
                .bind(disposition)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await
                .map_err(query_err)?;
            let total = sqlx::query(&count_sql)
                .bind(pool.opt_ts(filter.from))
                .bind(pool.opt_ts(filter.to))
                .bind(&filter.number)
                .bind(disposition)
                .fetch_one(pool)
                .await
                .map_err(query_err)?
                .u64("n")?;
            Ok(Page {
                items: rows.iter().map(from_row).collect::<Result<_>>()?,
                total,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testing::backend_tests;
    use crate::truncate_ms;

    fn base() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_123).unwrap()
    }

    fn record(
        caller: &str,
        callee: &str,
        start_offset_s: i64,
        disposition: Disposition,
    ) -> NewCallRecord {
        let started_at = base() + Duration::seconds(start_offset_s);
        let answered = disposition == Disposition::Answered;
        NewCallRecord {
            call_id: format!("{caller}-{callee}-{start_offset_s}"),
            caller: caller.into(),
            callee: callee.into(),
            started_at,
            answered_at: answered.then(|| started_at + Duration::seconds(2)),
            ended_at: started_at + Duration::seconds(32),
            duration_ms: 32_000,
            billable_ms: if answered { 30_000 } else { 0 },
            disposition,
            hangup_cause: Some("BYE".into()),
            hangup_side: Some(HangupSide::Caller),
            codec: answered.then(|| "PCMU".to_owned()),
            caller_quality: answered.then_some(RtpQuality {
                loss_pct: 0.5,
                jitter_ms: 3.25,
                mos: 4.3,
            }),
            callee_quality: None,
            recording_path: None,
            recording_ms: None,
        }
    }

    #[test]
    fn one_row_insert_is_the_plain_insert() {
        assert_eq!(insert_rows(1), INSERT);
        let two = insert_rows(2);
        assert!(two.ends_with("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20), ($21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40)"), "{two}");
    }

    backend_tests! {
        async fn insert_round_trips_every_field(store) {
            let mut rec = record("1001", "1002", 0, Disposition::Answered);
            rec.callee_quality = Some(RtpQuality { loss_pct: 12.5, jitter_ms: 40.0, mos: 2.1 });
            rec.recording_path = Some("recordings/2023/call.wav".into());
            rec.recording_ms = Some(29_980);
            rec.hangup_side = Some(HangupSide::System);
            rec.started_at = truncate_ms(Utc::now());
            rec.answered_at = Some(rec.started_at + Duration::milliseconds(1500));
            rec.ended_at = rec.started_at + Duration::seconds(10);
            let stored = store.insert_call_record(&rec).await.unwrap();
            assert!(stored.id > 0);
            assert_eq!(stored.record, rec);

            let page = store.search_call_records(&CallRecordFilter::default()).await.unwrap();
            assert_eq!(page.total, 1);
            assert_eq!(page.items, vec![stored]);

            let mut minimal = record("a", "b", 0, Disposition::Failed);
            minimal.hangup_cause = None;
            minimal.hangup_side = None;
            let stored = store.insert_call_record(&minimal).await.unwrap();
            assert_eq!(stored.record, minimal);
        }

        async fn search_filters_and_pages(store) {
            let recs = [
                record("1001", "1002", 0, Disposition::Answered),
                record("1002", "1003", 60, Disposition::Busy),
                record("1003", "1001", 120, Disposition::NoAnswer),
                record("1004", "1005", 180, Disposition::Answered),
                record("1001", "1005", 240, Disposition::Cancelled),
            ];
            for r in &recs {
                store.insert_call_record(r).await.unwrap();
            }
            let ids = |p: Page<CallRecord>| p.items.into_iter().map(|c| c.record.call_id).collect::<Vec<_>>();

            let all = store.search_call_records(&CallRecordFilter::default()).await.unwrap();
            assert_eq!(all.total, 5);
            assert_eq!(ids(all)[0], "1001-1005-240", "newest first");

            let f = CallRecordFilter { number: Some("1001".into()), ..Default::default() };
            assert_eq!(ids(store.search_call_records(&f).await.unwrap()), ["1001-1005-240", "1003-1001-120", "1001-1002-0"]);

            let f = CallRecordFilter { disposition: Some(Disposition::Answered), ..Default::default() };
            assert_eq!(ids(store.search_call_records(&f).await.unwrap()), ["1004-1005-180", "1001-1002-0"]);

            let f = CallRecordFilter {
                from: Some(base() + Duration::seconds(60)),
                to: Some(base() + Duration::seconds(180)),
                ..Default::default()
            };
            assert_eq!(ids(store.search_call_records(&f).await.unwrap()), ["1003-1001-120", "1002-1003-60"]);

            let f = CallRecordFilter {
                number: Some("1001".into()),
                disposition: Some(Disposition::NoAnswer),
                from: Some(base()),
                ..Default::default()
            };
            assert_eq!(ids(store.search_call_records(&f).await.unwrap()), ["1003-1001-120"]);

            let f = CallRecordFilter { limit: Some(2), offset: 2, ..Default::default() };
            let page = store.search_call_records(&f).await.unwrap();
            assert_eq!(page.total, 5);
            assert_eq!(ids(page), ["1003-1001-120", "1002-1003-60"]);

            let f = CallRecordFilter { number: Some("9999".into()), ..Default::default() };
            let page = store.search_call_records(&f).await.unwrap();
            assert_eq!((page.items.len(), page.total), (0, 0));
        }

        async fn batches_are_stored_all_or_none(store) {
            let recs = [
                record("1001", "1002", 0, Disposition::Answered),
                record("1002", "1003", 60, Disposition::Busy),
                record("1003", "1001", 120, Disposition::NoAnswer),
            ];
            store.insert_call_records(&recs).await.unwrap();
            let page = store.search_call_records(&CallRecordFilter::default()).await.unwrap();
            assert_eq!(page.total, 3);
            let mut stored: Vec<NewCallRecord> = page.items.into_iter().map(|c| c.record).collect();
            stored.reverse();
            assert_eq!(stored, recs);

            let mut bad = record("1", "2", 300, Disposition::Failed);
            bad.ended_at = bad.started_at - Duration::seconds(1);
            let err = store.insert_call_records(&[record("1", "2", 240, Disposition::Failed), bad]).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "ended_at", .. }), "{err:?}");
            let page = store.search_call_records(&CallRecordFilter::default()).await.unwrap();
            assert_eq!(page.total, 3, "nothing of a refused batch is stored");
            store.insert_call_records(&[]).await.unwrap();
        }

        async fn large_batches_span_several_statements(store) {
            let n = 2 * ROWS_PER_INSERT + 7;
            let recs: Vec<NewCallRecord> = (0..n)
                .map(|i| record("1001", &format!("2{i:04}"), i as i64, Disposition::Answered))
                .collect();
            store.insert_call_records(&recs).await.unwrap();
            let f = CallRecordFilter { limit: Some(1000), ..Default::default() };
            let page = store.search_call_records(&f).await.unwrap();
            assert_eq!(page.total, n as u64);
            let mut callees: Vec<String> = page.items.into_iter().map(|c| c.record.callee).collect();
            callees.sort();
            callees.dedup();
            assert_eq!(callees.len(), 1000, "the newest 1000, each once");
            assert_eq!(callees.last().map(String::as_str), Some(format!("2{:04}", n - 1).as_str()));

            let mut bad = recs[..ROWS_PER_INSERT + 1].to_vec();
            bad[ROWS_PER_INSERT].duration_ms = u64::MAX;
            let err = store.insert_call_records(&bad).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "duration_ms", .. }), "{err:?}");
            let page = store.search_call_records(&CallRecordFilter::default()).await.unwrap();
            assert_eq!(page.total, n as u64, "nothing of a refused batch is stored");
        }

        async fn inconsistent_records_are_refused(store) {
            let mut rec = record("1", "2", 0, Disposition::Failed);
            rec.ended_at = rec.started_at - Duration::seconds(1);
            let err = store.insert_call_record(&rec).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "ended_at", .. }), "{err:?}");
            let mut rec = record("1", "2", 0, Disposition::Failed);
            rec.duration_ms = u64::MAX;
            let err = store.insert_call_record(&rec).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "duration_ms", .. }), "{err:?}");
        }
    }

    #[test]
    fn enum_names_round_trip() {
        for d in [
            Disposition::Answered,
            Disposition::NoAnswer,
            Disposition::Busy,
            Disposition::Failed,
            Disposition::Cancelled,
        ] {
            assert_eq!(d.as_str().parse::<Disposition>().unwrap(), d);
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        for s in [HangupSide::Caller, HangupSide::Callee, HangupSide::System] {
            assert_eq!(s.as_str().parse::<HangupSide>().unwrap(), s);
        }
        assert!("ringing".parse::<Disposition>().is_err());
    }

    #[test]
    fn records_serialise_flat() {
        let rec = CallRecord {
            id: 7,
            record: record("1", "2", 0, Disposition::Answered),
        };
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(json["id"], 7);
        assert_eq!(json["caller"], "1");
        assert_eq!(json["disposition"], "answered");
        assert_eq!(json["caller_quality"]["mos"], 4.3);
    }
}
