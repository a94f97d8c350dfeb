//! Downloading a source picture from Instagram's CDN, bounded in time and bytes.

use std::time::Duration;

use reqwest::StatusCode;

use super::failure::FailureKind;

/// Why a download gave no bytes, in words fit for logs and the admin status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub kind: FailureKind,
    pub message: String,
}

impl FetchError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// A client for the CDN: its own timeouts, no cookies, few redirects.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("instagram-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The body of `url`, refused as soon as it would exceed `max_bytes`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    let mut response = client.get(url).send().await.map_err(transport)?;
    match response.status() {
        status if status.is_success() => {}
        // The signed URL expired (`oe`): the next sync brings a fresh one.
        StatusCode::FORBIDDEN | StatusCode::GONE => {
            return Err(FetchError::new(
                FailureKind::Expired,
                format!("the CDN answered {} (expired URL)", response.status()),
            ));
        }
        StatusCode::NOT_FOUND => {
            return Err(FetchError::new(
                FailureKind::NotFound,
                "the CDN answered 404",
            ));
        }
        status => {
            return Err(FetchError::new(
                FailureKind::HttpError,
                format!("the CDN answered {status}"),
            ));
        }
    }
    let too_large = |bytes: u64| {
        FetchError::new(
            FailureKind::TooLarge,
            format!(
                "the source is larger than {max_bytes} bytes (assets.max_source_bytes); {bytes} seen"
            ),
        )
    };
    if let Some(length) = response.content_length()
        && length > max_bytes
    {
        return Err(too_large(length));
    }
    let capacity = response
        .content_length()
        .unwrap_or(256 * 1024)
        .min(max_bytes);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::new(FailureKind::Timeout, "the download timed out")
    } else {
        // Without the URL: it carries Instagram's signature.
        FetchError::new(
            FailureKind::HttpError,
            format!("the download failed: {}", e.without_url()),
        )
    }
}
