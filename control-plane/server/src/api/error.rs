//! The one error body of the API: `{"error": {"code", "message", "field"}}`, with the HTTP
//! status that goes with it. Storage errors map onto it here; anything unexpected is logged
//! and answered with a generic 500 that leaks nothing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use warden_storage::StorageError;

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `forbidden`.
    #[schema(example = "validation_failed")]
    pub(crate) code: &'static str,
    /// Human-readable explanation.
    pub(crate) message: String,
    /// The request field the error is about (validation errors), as a path such as `number`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
}

/// An error answer: status, code, message and optionally the offending field.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
    /// Seconds for a `Retry-After` header (rate limits, lockouts).
    pub(crate) retry_after: Option<u64>,
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with no field.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 422: a value of the request breaks a rule; names the field.
    pub(crate) fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    /// 400: the request is malformed (not JSON, bad query string...).
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid credentials.
    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: authenticated but not allowed.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a missing resource.
    pub(crate) fn not_found(what: &str, key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {key:?} not found"),
        )
    }

    /// 409: the request conflicts with the current state.
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 429 (or 423 for a locked account) with a `Retry-After`.
    pub(crate) fn retry_later(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        secs: u64,
    ) -> Self {
        ApiError {
            retry_after: Some(secs.max(1)),
            ..Self::new(status, code, message)
        }
    }

    /// 500: logs the cause, answers without it.
    pub(crate) fn internal(context: &'static str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, error = %cause, "api request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error, see the server log",
        )
    }

    /// Sets the field.
    pub(crate) fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// The field that identifies a stored entity in requests.
fn key_field(entity: &str) -> &'static str {
    match entity {
        "extension" => "number",
        "user" => "username",
        _ => "id",
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { entity, key } => ApiError::not_found(entity, &key),
            StorageError::Conflict { entity, key } => {
                ApiError::conflict("already_exists", format!("{entity} {key:?} already exists"))
                    .with_field(key_field(entity))
            }
            StorageError::InvalidInput { field, reason } => ApiError::validation(field, reason),
            StorageError::Constraint(msg) => ApiError::conflict("constraint_violated", msg),
            other => ApiError::internal("storage", &other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, serde_json::Value, axum::http::HeaderMap) {
        let res = e.into_response();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), headers)
    }

    #[tokio::test]
    async fn errors_have_one_shape() {
        let (status, json, _) =
            body_of(ApiError::validation("number", "must be 1 to 32 characters")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "validation_failed", "message": "must be 1 to 32 characters", "field": "number"}})
        );
        let (status, json, headers) =
            body_of(ApiError::unauthorized("invalid_token", "expired")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(json["error"].get("field").is_none());
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        let (status, _, headers) = body_of(ApiError::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "slow down",
            0,
        ))
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn storage_errors_map_to_statuses() {
        let cases = [
            (
                StorageError::NotFound {
                    entity: "extension",
                    key: "7".into(),
                },
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                StorageError::Conflict {
                    entity: "extension",
                    key: "7".into(),
                },
                StatusCode::CONFLICT,
                Some("number"),
            ),
            (
                StorageError::Conflict {
                    entity: "user",
                    key: "bob".into(),
                },
                StatusCode::CONFLICT,
                Some("username"),
            ),
            (
                StorageError::InvalidInput {
                    field: "q",
                    reason: "bad".into(),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("q"),
            ),
            (
                StorageError::Constraint("fk".into()),
                StatusCode::CONFLICT,
                None,
            ),
            (
                StorageError::Decode {
                    column: "x",
                    reason: "secret detail".into(),
                },
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
            ),
        ];
        for (err, status, field) in cases {
            let (got, json, _) = body_of(err.into()).await;
            assert_eq!(got, status);
            assert_eq!(json["error"]["field"].as_str(), field);
            assert!(
                !json.to_string().contains("secret detail"),
                "internal causes are not leaked"
            );
        }
    }
}
