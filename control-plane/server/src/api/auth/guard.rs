//! The access check in front of every protected route: finds the bearer token, checks it,
//! re-reads the account and its role, and hands the handler a [`Caller`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use warden_storage::Role;

use crate::api::error::ApiError;
use crate::api::state::AppState;

/// Every role.
pub(crate) const ANY: &[Role] = &[Role::Admin, Role::Operator, Role::User];
/// Administrators and operators.
pub(crate) const STAFF: &[Role] = &[Role::Admin, Role::Operator];
/// Administrators only.
pub(crate) const ADMIN: &[Role] = &[Role::Admin];

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone (login, refresh, the OpenAPI document).
    Public,
    /// An authenticated account with one of these roles, token in the `Authorization` header.
    Roles(&'static [Role]),
    /// Like `Roles`, but the token may also come as the `access_token` query parameter
    /// (for `EventSource`, which cannot set headers).
    RolesQueryToken(&'static [Role]),
}

impl Access {
    /// The roles allowed, or `None` for a public route.
    pub(crate) fn roles(self) -> Option<&'static [Role]> {
        match self {
            Access::Public => None,
            Access::Roles(r) | Access::RolesQueryToken(r) => Some(r),
        }
    }
}

/// The authenticated account making a request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Caller {
    pub(crate) id: i64,
    pub(crate) username: String,
    pub(crate) role: Role,
    /// The extension of a `user` account.
    pub(crate) extension: Option<String>,
}

impl Caller {
    /// For a `user` account: its extension, or 403 when it has none. For staff: `None`
    /// (no restriction).
    pub(crate) fn own_extension_scope(&self) -> Result<Option<&str>, ApiError> {
        match self.role {
            Role::Admin | Role::Operator => Ok(None),
            Role::User => match &self.extension {
                Some(e) => Ok(Some(e)),
                None => Err(ApiError::forbidden("this account has no extension")),
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "route has no access check",
            )
        })
    }
}

/// Middleware: enforces `access` and stores the [`Caller`] in the request.
pub(crate) async fn guard(
    State(state): State<AppState>,
    access: Access,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(roles) = access.roles() else {
        return next.run(req).await;
    };
    let token = bearer(&req).or_else(|| match access {
        Access::RolesQueryToken(_) => query_token(req.uri().query()),
        _ => None,
    });
    let Some(token) = token else {
        return ApiError::unauthorized(
            "missing_token",
            "log in first: send Authorization: Bearer <access token>",
        )
        .into_response();
    };
    match authenticate(&state, &token).await {
        Ok(caller) if roles.contains(&caller.role) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(caller) => {
            ApiError::forbidden(format!("the {} role may not do this", caller.role)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Checks a token and loads its account.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let id = state.auth.keys().verify(token)?;
    let user =
        state.store().get_user(id).await?.ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the account no longer exists")
        })?;
    if user.disabled {
        return Err(ApiError::unauthorized(
            "account_disabled",
            "the account is disabled",
        ));
    }
    Ok(Caller {
        id: user.id,
        username: user.username,
        role: user.role,
        extension: user.extension,
    })
}

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn query_token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_headers_and_queries() {
        let req = Request::builder()
            .header("authorization", "Bearer abc.def")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(bearer(&req).as_deref(), Some("abc.def"));
        let req = Request::builder()
            .header("authorization", "Basic abc")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(bearer(&req), None);
        assert_eq!(
            query_token(Some("x=1&access_token=t%2B1")).as_deref(),
            Some("t+1")
        );
        assert_eq!(query_token(Some("access_token=")), None);
        assert_eq!(query_token(None), None);
    }

    #[test]
    fn user_accounts_are_scoped_to_their_extension() {
        let mut c = Caller {
            id: 1,
            username: "u".into(),
            role: Role::User,
            extension: Some("1001".into()),
        };
        assert_eq!(c.own_extension_scope().unwrap(), Some("1001"));
        c.extension = None;
        assert_eq!(
            c.own_extension_scope().unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        c.role = Role::Operator;
        assert_eq!(c.own_extension_scope().unwrap(), None);
    }
}
