//! Call detail records: search by time, number and disposition, and CSV export.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warden_storage::{
    CallRecord, CallRecordFilter, Disposition, HangupSide, RtpQuality, MAX_PAGE_SIZE,
};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiQuery;
use super::page::{page_of, PageParams};
use super::state::AppState;

/// Most rows one CSV export holds.
const MAX_EXPORT_ROWS: u64 = 100_000;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DispositionDto {
    Answered,
    NoAnswer,
    Busy,
    Failed,
    Cancelled,
}

impl From<DispositionDto> for Disposition {
    fn from(d: DispositionDto) -> Self {
        match d {
            DispositionDto::Answered => Disposition::Answered,
            DispositionDto::NoAnswer => Disposition::NoAnswer,
            DispositionDto::Busy => Disposition::Busy,
            DispositionDto::Failed => Disposition::Failed,
            DispositionDto::Cancelled => Disposition::Cancelled,
        }
    }
}

/// Media quality of one direction.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub(crate) struct QualityDto {
    pub(crate) loss_pct: f64,
    pub(crate) jitter_ms: f64,
    pub(crate) mos: f64,
}

impl From<RtpQuality> for QualityDto {
    fn from(q: RtpQuality) -> Self {
        QualityDto {
            loss_pct: q.loss_pct,
            jitter_ms: q.jitter_ms,
            mos: q.mos,
        }
    }
}

/// A finished call.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallRecordDto {
    pub(crate) id: i64,
    /// SIP Call-ID of the caller's leg.
    pub(crate) call_id: String,
    #[schema(example = "1001")]
    pub(crate) caller: String,
    #[schema(example = "1002")]
    pub(crate) callee: String,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) answered_at: Option<DateTime<Utc>>,
    pub(crate) ended_at: DateTime<Utc>,
    /// Start to end, in milliseconds.
    pub(crate) duration_ms: u64,
    /// Answer to end, in milliseconds.
    pub(crate) billable_ms: u64,
    /// `answered`, `no_answer`, `busy`, `failed` or `cancelled`.
    #[schema(example = "answered")]
    pub(crate) disposition: &'static str,
    /// E.g. `BYE` or `486 Busy Here`.
    pub(crate) hangup_cause: Option<String>,
    /// `caller`, `callee` or `system`.
    pub(crate) hangup_side: Option<&'static str>,
    pub(crate) codec: Option<String>,
    /// Quality of the media received from the caller.
    pub(crate) caller_quality: Option<QualityDto>,
    /// Quality of the media received from the callee.
    pub(crate) callee_quality: Option<QualityDto>,
    /// Whether the call was recorded.
    pub(crate) recorded: bool,
    /// The recording's WAV file on the server (`media.recording_dir`).
    pub(crate) recording_path: Option<String>,
    /// Length of the recorded audio, in milliseconds (absent if the file was not closed).
    pub(crate) recording_ms: Option<u64>,
}

impl From<CallRecord> for CallRecordDto {
    fn from(r: CallRecord) -> Self {
        let c = r.record;
        CallRecordDto {
            id: r.id,
            call_id: c.call_id,
            caller: c.caller,
            callee: c.callee,
            started_at: c.started_at,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            duration_ms: c.duration_ms,
            billable_ms: c.billable_ms,
            disposition: c.disposition.as_str(),
            hangup_cause: c.hangup_cause,
            hangup_side: c.hangup_side.map(HangupSide::as_str),
            codec: c.codec,
            caller_quality: c.caller_quality.map(Into::into),
            callee_quality: c.callee_quality.map(Into::into),
            recorded: c.recording_path.is_some(),
            recording_path: c.recording_path,
            recording_ms: c.recording_ms,
        }
    }
}

page_of!(CallRecordPage, CallRecordDto);

/// Filters of the call history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallRecordQuery {
    /// Calls started at or after this time (RFC 3339).
    pub(crate) from: Option<DateTime<Utc>>,
    /// Calls started before this time (RFC 3339).
    pub(crate) to: Option<DateTime<Utc>>,
    /// Calls where this is the caller or the callee.
    pub(crate) number: Option<String>,
    /// Only calls that ended this way.
    pub(crate) disposition: Option<DispositionDto>,
    /// Rows per page (1 to 1000, default 100; ignored by the export).
    pub(crate) limit: Option<u32>,
    /// Rows to skip (ignored by the export).
    pub(crate) offset: Option<u32>,
}

impl CallRecordQuery {
    /// The storage filter; a `user` account is held to its own extension.
    fn filter(&self, caller: &Caller) -> ApiResult<CallRecordFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to < from {
                return Err(
                    ApiError::bad_request("invalid_query", "`to` is before `from`")
                        .with_field("to"),
                );
            }
        }
        let mut number = self.number.clone().filter(|n| !n.is_empty());
        if let Some(own) = caller.own_extension_scope()? {
            if number.as_deref().is_some_and(|n| n != own) {
                return Err(
                    ApiError::forbidden("you can only see your own calls").with_field("number")
                );
            }
            number = Some(own.to_owned());
        }
        Ok(CallRecordFilter {
            from: self.from,
            to: self.to,
            number,
            disposition: self.disposition.map(Into::into),
            limit: None,
            offset: 0,
        })
    }
}

/// Searches finished calls, newest first (a `user` account sees its own extension's).
#[utoipa::path(get, path = "/api/v1/call-records", tag = "calls", security(("bearer" = [])), params(CallRecordQuery),
    responses((status = 200, body = CallRecordPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn search_records(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CallRecordQuery>,
) -> ApiResult<Json<CallRecordPage>> {
    let (limit, offset) = PageParams {
        limit: q.limit,
        offset: q.offset,
    }
    .bounds()?;
    let filter = CallRecordFilter {
        limit: Some(limit),
        offset,
        ..q.filter(&caller)?
    };
    let page = state.store().search_call_records(&filter).await?;
    let items = page.items.into_iter().map(CallRecordDto::from).collect();
    Ok(Json(CallRecordPage {
        items,
        total: page.total,
        limit,
        offset,
    }))
}

/// Exports the matching calls as CSV (newest first, at most 100 000 rows).
#[utoipa::path(get, path = "/api/v1/call-records/export", tag = "calls", security(("bearer" = [])),
    params(CallRecordQuery),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody),
    ))]
pub(crate) async fn export_records(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CallRecordQuery>,
) -> ApiResult<Response> {
    let filter = q.filter(&caller)?;
    let store = state.store().clone();
    let header_row = Ok::<_, std::io::Error>(CSV_HEADER.to_owned());
    let rows = futures_util::stream::unfold(Some(0u32), move |next| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            let offset = next?;
            let page = CallRecordFilter {
                limit: Some(MAX_PAGE_SIZE),
                offset,
                ..filter
            };
            match store.search_call_records(&page).await {
                Ok(p) => {
                    let fetched = p.items.len() as u32;
                    let chunk: String = p.items.into_iter().map(|r| csv_row(&r)).collect();
                    let end =
                        fetched < MAX_PAGE_SIZE || u64::from(offset + fetched) >= MAX_EXPORT_ROWS;
                    Some((Ok(chunk), (!end).then_some(offset + fetched)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "call record export failed");
                    Some((
                        Err(std::io::Error::other("call record export failed")),
                        None,
                    ))
                }
            }
        }
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(
        futures_util::stream::iter([header_row]),
        rows,
    ));
    let name = format!("call-records-{}.csv", Utc::now().format("%Y%m%d-%H%M%S"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

const CSV_HEADER: &str =
    "id,started_at,answered_at,ended_at,caller,callee,disposition,duration_s,billable_s,\
hangup_cause,hangup_side,codec,caller_mos,callee_mos,call_id,recording_path,recording_s\r\n";

fn csv_row(r: &CallRecord) -> String {
    let c = &r.record;
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let secs = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let mos = |q: Option<RtpQuality>| q.map(|q| format!("{:.2}", q.mos)).unwrap_or_default();
    let fields = [
        r.id.to_string(),
        ts(c.started_at),
        c.answered_at.map(ts).unwrap_or_default(),
        ts(c.ended_at),
        c.caller.clone(),
        c.callee.clone(),
        c.disposition.as_str().to_owned(),
        secs(c.duration_ms),
        secs(c.billable_ms),
        c.hangup_cause.clone().unwrap_or_default(),
        c.hangup_side
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        c.codec.clone().unwrap_or_default(),
        mos(c.caller_quality),
        mos(c.callee_quality),
        c.call_id.clone(),
        c.recording_path.clone().unwrap_or_default(),
        c.recording_ms.map(secs).unwrap_or_default(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Quotes a field when needed, and defuses values a spreadsheet would run as a formula
/// (leading `=`, `@`, tab, CR, or `+`/`-` not followed by a digit).
fn csv_field(v: &str) -> String {
    let mut chars = v.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let v = if risky { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use warden_storage::NewCallRecord;

    use super::*;
    use crate::api::testkit::TestApp;

    fn record(caller: &str, callee: &str, minute: i64, disposition: Disposition) -> NewCallRecord {
        let started_at = DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap();
        let answered = disposition == Disposition::Answered;
        NewCallRecord {
            call_id: format!("{caller}-{callee}-{minute}"),
            caller: caller.into(),
            callee: callee.into(),
            started_at,
            answered_at: answered.then_some(started_at + chrono::Duration::seconds(3)),
            ended_at: started_at + chrono::Duration::seconds(33),
            duration_ms: 33_000,
            billable_ms: if answered { 30_000 } else { 0 },
            disposition,
            hangup_cause: Some("BYE".into()),
            hangup_side: Some(HangupSide::Callee),
            codec: answered.then(|| "PCMA".to_owned()),
            caller_quality: answered.then_some(RtpQuality {
                loss_pct: 0.0,
                jitter_ms: 1.5,
                mos: 4.4,
            }),
            callee_quality: None,
            recording_path: None,
            recording_ms: None,
        }
    }

    #[tokio::test]
    async fn search_by_time_number_and_disposition() {
        let app = TestApp::new().await;
        let rows = [
            record("1001", "1002", 0, Disposition::Answered),
            record("1002", "1001", 10, Disposition::Busy),
            record("1002", "2000", 20, Disposition::NoAnswer),
            record("3000", "1001", 30, Disposition::Answered),
        ];
        for r in &rows {
            app.state.store().insert_call_record(r).await.unwrap();
        }
        let ops = app.token("ops").await;
        let ids = |v: &serde_json::Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["call_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let (status, v) = app.get("/api/v1/call-records", &ops).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            ids(&v),
            [
                "3000-1001-30",
                "1002-2000-20",
                "1002-1001-10",
                "1001-1002-0"
            ]
        );
        assert_eq!(v["items"][0]["caller_quality"]["mos"], 4.4);
        let (_, v) = app
            .get("/api/v1/call-records?number=1002&disposition=busy", &ops)
            .await;
        assert_eq!(ids(&v), ["1002-1001-10"]);
        let from = "2023-11-14T22:23:20Z"; // minute 10
        let to = "2023-11-14T22:43:20Z"; // minute 30 (exclusive)
        let (_, v) = app
            .get(&format!("/api/v1/call-records?from={from}&to={to}"), &ops)
            .await;
        assert_eq!(ids(&v), ["1002-2000-20", "1002-1001-10"]);
        let (_, v) = app.get("/api/v1/call-records?limit=1&offset=1", &ops).await;
        assert_eq!(
            (ids(&v), v["total"].as_u64()),
            (vec!["1002-2000-20".to_owned()], Some(4))
        );
        let (status, v) = app.get("/api/v1/call-records?disposition=lost", &ops).await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("disposition"))
        );
        let (status, v) = app.get("/api/v1/call-records?from=yesterday", &ops).await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("from"))
        );
        let (status, v) = app
            .get(&format!("/api/v1/call-records?from={to}&to={from}"), &ops)
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("to"))
        );

        // A user account sees its own extension's calls only.
        let alice = app.token("alice").await;
        let (_, v) = app.get("/api/v1/call-records", &alice).await;
        assert_eq!(ids(&v), ["3000-1001-30", "1002-1001-10", "1001-1002-0"]);
        assert_eq!(
            app.get("/api/v1/call-records?number=1002", &alice).await.0,
            StatusCode::FORBIDDEN
        );

        // CSV export with the same filters.
        let (status, headers, body) = app
            .send(
                Method::GET,
                "/api/v1/call-records/export?number=1001",
                Some(&ops),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[axum::http::header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert!(headers[axum::http::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let csv = body.as_str().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert_eq!(lines[0], CSV_HEADER.trim_end());
        assert!(
            lines[1].contains(",3000,1001,answered,33.000,30.000,"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("1001"), "1001");
        assert_eq!(csv_field("+4930123"), "+4930123");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(csv_field("@sum(1,2)"), "\"'@sum(1,2)\"");
    }

    #[test]
    fn csv_rows_match_the_header() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_250).unwrap();
        let rec = CallRecord {
            id: 7,
            record: NewCallRecord {
                call_id: "abc@host".into(),
                caller: "1001".into(),
                callee: "1002".into(),
                started_at: t,
                answered_at: None,
                ended_at: t + chrono::Duration::milliseconds(1500),
                duration_ms: 1500,
                billable_ms: 0,
                disposition: Disposition::NoAnswer,
                hangup_cause: Some("487 Request Terminated".into()),
                hangup_side: Some(HangupSide::Caller),
                codec: None,
                caller_quality: None,
                callee_quality: None,
                recording_path: Some("data/recordings/rec-01.wav".into()),
                recording_ms: Some(1480),
            },
        };
        let row = csv_row(&rec);
        assert_eq!(
            row,
            "7,2023-11-14T22:13:20.250Z,,2023-11-14T22:13:21.750Z,1001,1002,no_answer,1.500,0.000,\
             487 Request Terminated,caller,,,,abc@host,data/recordings/rec-01.wav,1.480\r\n"
        );
        assert_eq!(row.split(',').count(), CSV_HEADER.split(',').count());
    }
}
