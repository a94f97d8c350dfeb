//! The one error type of the HTTP boundary and its one mapping to `application/problem+json`
//! (RFC 9457). Domain errors convert into it; nothing else builds error responses.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::AccountError;
use crate::assets::StorageError;
use crate::auth::AuthError;
use crate::curation::CurationError;
use crate::feed::{FeedError, SyncError};
use crate::hashtags::HashtagError;
use crate::instagram::UpstreamError;
use crate::store::StoreError;
use crate::webhooks::WebhookError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document: the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "invalid_request",
    "title": "Invalid request",
    "status": 400,
    "detail": "invalid query string: unknown parameter `foo`, expected one of `limit`, `cursor`, `type`"
}))]
pub struct Problem {
    /// A stable, machine-readable identifier of the kind of problem (snake_case).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A short human-readable summary of the kind.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this occurrence, for humans.
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid admin bearer token")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    UriTooLong(String),
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("{0}")]
    CorsRefused(String),
    #[error("not ready: {0}")]
    NotReady(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Account(AccountError),
    #[error(transparent)]
    Curation(CurationError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    AssetStore(#[from] Arc<StorageError>),
    #[error(transparent)]
    Webhook(WebhookError),
    #[error(transparent)]
    Hashtag(HashtagError),
}

impl From<HashtagError> for ApiError {
    fn from(e: HashtagError) -> Self {
        ApiError::Hashtag(e)
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Store(e) => ApiError::Store(e),
            e => ApiError::Webhook(e),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            // One mapping of token, upstream and store errors, whoever reports them.
            AccountError::Auth(e) => ApiError::Auth(e),
            AccountError::Store(e) => ApiError::Store(e),
            e => ApiError::Account(e),
        }
    }
}

impl From<CurationError> for ApiError {
    fn from(e: CurationError) -> Self {
        match e {
            CurationError::Store(e) => ApiError::Store(e),
            e => ApiError::Curation(e),
        }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        ApiError::Auth(AuthError::Upstream(e))
    }
}

struct Mapping {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

fn map(
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: impl Into<String>,
) -> Mapping {
    Mapping {
        status,
        kind,
        title,
        detail: detail.into(),
        retry_after: None,
    }
}

/// A 502 in the service's own words: Instagram's messages and bodies never reach clients.
fn upstream_failed(e: &UpstreamError) -> Mapping {
    let detail = match e {
        UpstreamError::TokenInvalid { .. } => "Instagram rejected the access token".to_owned(),
        UpstreamError::Throttled { .. } => {
            "Instagram is rate-limiting this app; try again later".to_owned()
        }
        UpstreamError::Permission { code, .. } => {
            format!("Instagram denied a permission (code {code}); check the app's scopes")
        }
        UpstreamError::Rejected { status, .. } => {
            format!("Instagram refused the request (HTTP {status})")
        }
        UpstreamError::Transient { .. } => "Instagram is temporarily unavailable".to_owned(),
        UpstreamError::Transport(_) => "Instagram could not be reached".to_owned(),
        UpstreamError::InvalidResponse(_) => "Instagram sent an unexpected response".to_owned(),
    };
    let retry_after = match e {
        UpstreamError::Throttled { retry_after, .. } => {
            Some(retry_after.map_or(60, |d| d.as_secs().max(1)))
        }
        _ if e.is_transient() => Some(5),
        _ => None,
    };
    Mapping {
        retry_after,
        ..map(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "Instagram request failed",
            detail,
        )
    }
}

/// Public hashtag search's refusals and failures.
fn hashtag_mapping(e: &HashtagError) -> Mapping {
    use StatusCode as S;
    match e {
        HashtagError::NotFacebook(_) => map(
            S::CONFLICT,
            "public_search_unavailable",
            "Public search unavailable",
            e.to_string(),
        ),
        HashtagError::NotAllowed(_) => map(
            S::FORBIDDEN,
            "hashtag_not_allowed",
            "Hashtag not allowed",
            e.to_string(),
        ),
        HashtagError::Exhausted { retry_at, .. } => Mapping {
            retry_after: Some(
                u64::try_from((*retry_at - chrono::Utc::now()).num_seconds())
                    .unwrap_or(0)
                    .max(1),
            ),
            ..map(
                S::TOO_MANY_REQUESTS,
                "hashtag_budget_exhausted",
                "Hashtag budget exhausted",
                e.to_string(),
            )
        },
        HashtagError::NotFound(_) => map(
            S::NOT_FOUND,
            "hashtag_not_found",
            "Hashtag not found",
            e.to_string(),
        ),
        HashtagError::Refused(_) => map(
            S::UNPROCESSABLE_ENTITY,
            "hashtag_unavailable",
            "Hashtag unavailable",
            e.to_string(),
        ),
        HashtagError::Busy(_) => Mapping {
            retry_after: Some(2),
            ..map(
                S::SERVICE_UNAVAILABLE,
                "hashtag_busy",
                "Hashtag being fetched",
                e.to_string(),
            )
        },
        HashtagError::Fetch(e) => hashtag_mapping(e),
        HashtagError::Auth(AuthError::NoToken | AuthError::ReauthRequired(_)) => Mapping {
            retry_after: Some(60),
            ..map(
                S::SERVICE_UNAVAILABLE,
                "public_search_unavailable",
                "Public search unavailable",
                "the account is not connected or its token needs a new Facebook login; the operator must re-authorize",
            )
        },
        HashtagError::Auth(e) => auth_mapping(e),
        HashtagError::Upstream(e) => upstream_failed(e),
        HashtagError::Store(_) => store_unavailable(),
    }
}

/// Token lifecycle errors, whoever reports them.
fn auth_mapping(e: &AuthError) -> Mapping {
    use StatusCode as S;
    match e {
        AuthError::InvalidState(e) => map(
            S::BAD_REQUEST,
            "invalid_state",
            "Invalid OAuth state",
            format!("{e}; start again with POST /admin/reauth"),
        ),
        AuthError::Denied { reason } => map(
            S::BAD_REQUEST,
            "authorization_denied",
            "Authorization denied",
            format!("Instagram did not grant access: {reason}"),
        ),
        AuthError::MissingCode => map(
            S::BAD_REQUEST,
            "invalid_request",
            "Invalid request",
            e.to_string(),
        ),
        AuthError::SignedRequest(e) => map(
            S::BAD_REQUEST,
            "invalid_signed_request",
            "Invalid signed_request",
            e.to_string(),
        ),
        AuthError::NoToken => map(S::CONFLICT, "token_missing", "No token", e.to_string()),
        AuthError::ReauthRequired(_) => map(
            S::CONFLICT,
            "reauth_required",
            "Re-authorization required",
            e.to_string(),
        ),
        AuthError::TooYoung { .. } => map(
            S::CONFLICT,
            "token_too_young",
            "Token too young to refresh",
            e.to_string(),
        ),
        AuthError::RefreshInProgress => map(
            S::CONFLICT,
            "refresh_in_progress",
            "Refresh in progress",
            e.to_string(),
        ),
        AuthError::NotRefreshable => map(
            S::CONFLICT,
            "token_not_refreshable",
            "Token cannot be refreshed",
            e.to_string(),
        ),
        AuthError::FacebookNotConfigured => map(
            S::CONFLICT,
            "facebook_not_configured",
            "Facebook Login not configured",
            e.to_string(),
        ),
        AuthError::NoLinkedAccount => map(
            S::CONFLICT,
            "no_linked_instagram_account",
            "No linked Instagram account",
            e.to_string(),
        ),
        AuthError::UnknownChoice => map(
            S::BAD_REQUEST,
            "invalid_choice",
            "Invalid choice",
            e.to_string(),
        ),
        AuthError::NotOffered => map(
            S::BAD_REQUEST,
            "invalid_choice",
            "Invalid choice",
            e.to_string(),
        ),
        AuthError::Upstream(e) => upstream_failed(e),
        AuthError::Store(_) => store_unavailable(),
    }
}

impl ApiError {
    fn mapping(&self) -> Mapping {
        use StatusCode as S;
        match self {
            ApiError::BadRequest(d) => map(S::BAD_REQUEST, "invalid_request", "Invalid request", d),
            ApiError::Unauthorized => map(
                S::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "send the admin token as `Authorization: Bearer <admin.token>`",
            ),
            ApiError::NotFound(d) => map(S::NOT_FOUND, "not_found", "Not found", d),
            ApiError::MethodNotAllowed { allow } => map(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                format!("this resource allows {allow}"),
            ),
            ApiError::PayloadTooLarge(d) => map(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                d,
            ),
            ApiError::UnsupportedMediaType(d) => map(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                d,
            ),
            ApiError::UriTooLong(d) => map(S::URI_TOO_LONG, "uri_too_long", "URI too long", d),
            ApiError::HeadersTooLarge(d) => map(
                S::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "Request headers too large",
                d,
            ),
            ApiError::BodyTimeout => map(
                S::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                "the request body did not arrive in time",
            ),
            ApiError::CorsRefused(d) => {
                map(S::FORBIDDEN, "cors_refused", "CORS request refused", d)
            }
            ApiError::NotReady(d) => Mapping {
                retry_after: Some(5),
                ..map(S::SERVICE_UNAVAILABLE, "not_ready", "Not ready", d)
            },
            ApiError::Store(_) => store_unavailable(),
            ApiError::AssetStore(_) => Mapping {
                retry_after: Some(5),
                ..map(
                    S::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "Store unavailable",
                    "the asset store is not answering; try again shortly",
                )
            },
            ApiError::Account(e) => match e {
                AccountError::NotFound(_) => map(
                    S::NOT_FOUND,
                    "account_not_found",
                    "Account not found",
                    e.to_string(),
                ),
                AccountError::InvalidSlug(_) => map(
                    S::BAD_REQUEST,
                    "invalid_request",
                    "Invalid request",
                    e.to_string(),
                ),
                AccountError::Exists(_) => map(
                    S::CONFLICT,
                    "account_exists",
                    "Account exists",
                    e.to_string(),
                ),
                AccountError::Full(_) => map(
                    S::CONFLICT,
                    "accounts_full",
                    "Too many accounts",
                    e.to_string(),
                ),
                AccountError::AlreadyConnected { .. } => map(
                    S::CONFLICT,
                    "account_conflict",
                    "Instagram account already connected",
                    e.to_string(),
                ),
                AccountError::Auth(e) => auth_mapping(e),
                AccountError::Store(_) => store_unavailable(),
            },
            ApiError::Hashtag(e) => hashtag_mapping(e),
            ApiError::Curation(e) => match e {
                CurationError::Invalid(_) => map(
                    S::BAD_REQUEST,
                    "invalid_request",
                    "Invalid request",
                    e.to_string(),
                ),
                CurationError::HiddenFull(_) => map(
                    S::CONFLICT,
                    "curation_full",
                    "Too many hidden posts",
                    e.to_string(),
                ),
                CurationError::Busy => Mapping {
                    retry_after: Some(1),
                    ..map(
                        S::SERVICE_UNAVAILABLE,
                        "curation_busy",
                        "Curation busy",
                        e.to_string(),
                    )
                },
                CurationError::Store(_) => store_unavailable(),
            },
            ApiError::Auth(e) => auth_mapping(e),
            ApiError::Webhook(e) => match e {
                WebhookError::NotFound(_) => map(
                    S::NOT_FOUND,
                    "webhook_not_found",
                    "Webhook endpoint not found",
                    e.to_string(),
                ),
                WebhookError::Invalid(_) => map(
                    S::BAD_REQUEST,
                    "invalid_request",
                    "Invalid request",
                    e.to_string(),
                ),
                WebhookError::UrlRefused(_) => map(
                    S::UNPROCESSABLE_ENTITY,
                    "webhook_url_refused",
                    "Webhook URL refused",
                    e.to_string(),
                ),
                WebhookError::Full(_) => map(
                    S::CONFLICT,
                    "webhooks_full",
                    "Too many webhook endpoints",
                    e.to_string(),
                ),
                WebhookError::Disabled(_) => map(
                    S::CONFLICT,
                    "webhook_disabled",
                    "Webhook endpoint disabled",
                    e.to_string(),
                ),
                WebhookError::Store(_) => store_unavailable(),
            },
            ApiError::Feed(e) => match e {
                FeedError::NotFound => map(S::NOT_FOUND, "not_found", "Not found", e.to_string()),
                FeedError::Unavailable {
                    reason,
                    retry_after,
                } => Mapping {
                    retry_after: Some(retry_after.as_secs().max(1)),
                    ..map(
                        S::SERVICE_UNAVAILABLE,
                        "feed_unavailable",
                        "Feed unavailable",
                        reason,
                    )
                },
            },
            ApiError::Sync(e) => match e {
                SyncError::NeedsOperator(_) => map(
                    S::CONFLICT,
                    "reauth_required",
                    "Re-authorization required",
                    e.client_reason(),
                ),
                SyncError::Upstream(u) => upstream_failed(u),
                SyncError::Store(_) => store_unavailable(),
                SyncError::Busy | SyncError::BackingOff(_) | SyncError::Aborted => Mapping {
                    retry_after: Some(e.retry_after().map_or(5, |d| d.as_secs().max(1))),
                    ..map(
                        S::SERVICE_UNAVAILABLE,
                        "sync_unavailable",
                        "Sync unavailable",
                        e.client_reason(),
                    )
                },
            },
        }
    }
}

fn store_unavailable() -> Mapping {
    Mapping {
        retry_after: Some(5),
        ..map(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "Store unavailable",
            "the service's store is not answering; try again shortly",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.mapping().status
    }

    fn error_response(&self) -> HttpResponse {
        let m = self.mapping();
        let mut response = HttpResponse::build(m.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(secs) = m.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="admin""#));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        let body = Problem {
            kind: m.kind,
            title: m.title,
            status: m.status.as_u16(),
            detail: m.detail,
        };
        response.body(serde_json::to_vec(&body).unwrap_or_default())
    }
}
