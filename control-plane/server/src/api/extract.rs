//! Request extractors that answer malformed input with the API's error body and name the
//! offending field: JSON bodies ([`ApiJson`]), query strings ([`ApiQuery`]) and the client
//! address ([`ClientIp`]).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::tls::TlsPeer;

/// A JSON request body, deserialised with the failing field named in the error.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json")
                    || m.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a JSON body (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "invalid_body",
                format!("cannot read the request body: {e}"),
            )
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialises JSON; a type or rule error is a 422 naming the field, a syntax error a 400.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = field_of(&path, &message);
                let message = strip_position(&message);
                match field {
                    Some(f) => ApiError::validation(f, message),
                    None => ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation_failed",
                        message,
                    ),
                }
            }
            _ => ApiError::bad_request("invalid_json", format!("malformed JSON: {inner}")),
        }
    })
}

/// A query string, deserialised with the failing parameter named in the error.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Deserialises a URL-encoded query string.
pub(crate) fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        match field_of(&path, &message) {
            Some(f) => {
                ApiError::bad_request("invalid_query", format!("query parameter {f}: {message}"))
                    .with_field(f)
            }
            None => ApiError::bad_request("invalid_query", message),
        }
    })
}

/// The field an error is about: the deserialiser's path, or the name in a "missing field" /
/// "unknown field" message at the top level.
fn field_of(path: &str, message: &str) -> Option<String> {
    if !path.is_empty() && path != "." {
        // For "missing field `x`" inside a nested object, the path is the object.
        if let Some(inner) = backticked(message, "missing field `") {
            return Some(format!("{path}.{inner}"));
        }
        return Some(path.to_owned());
    }
    backticked(message, "missing field `").or_else(|| backticked(message, "unknown field `"))
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split_once(prefix)?.1;
    rest.split_once('`').map(|(name, _)| name.to_owned())
}

/// Drops serde_json's " at line 1 column 17" suffix, which means nothing to API users.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The address of the client (the TCP peer), when known.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

impl ClientIp {
    /// The address as text for the audit log.
    pub(crate) fn text(self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let plain = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let tls = || {
            parts
                .extensions
                .get::<ConnectInfo<TlsPeer>>()
                .map(|c| c.0 .0.ip())
        };
        Ok(ClientIp(plain.or_else(tls)))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        number: String,
        limit: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"number": 5}"#).unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("number"))
        );
        assert!(!e.message.contains("line 1"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"limit": 5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("number"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"number": "1", "secret": "x"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("secret"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"number": "1", "inner": {}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.name"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"number": "1", "limit": -1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        let e = parse_json::<Body>(br#"{"number": "#).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        assert!(parse_json::<Body>(br#"{"number": "1", "limit": 3}"#).is_ok());
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Query {
        limit: Option<u32>,
        search: Option<String>,
        enabled: Option<bool>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let q: Query = parse_query("limit=5&search=a%20b&enabled=true").unwrap();
        assert_eq!(
            (q.limit, q.search.as_deref(), q.enabled),
            (Some(5), Some("a b"), Some(true))
        );
        let e = parse_query::<Query>("limit=lots").unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::BAD_REQUEST, Some("limit"))
        );
        let e = parse_query::<Query>("enabled=perhaps").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("enabled"));
        assert!(parse_query::<Query>("").is_ok());
    }
}
