//! Feeds over HTTP, politely: a User-Agent that names newsflow, compressed transfer, a
//! bounded number of redirects, a timeout for the whole request, and a cap on the bytes
//! read, enforced while reading so that a huge or endless response costs no more than the
//! cap.

use std::time::Duration;

use futures::StreamExt;

/// Why a feed could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    #[error("more than {MAX_REDIRECTS} redirects")]
    Redirects,
    #[error("{0}")]
    Transport(String),
}

impl FetchError {
    /// A short fixed name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status(_) => "status",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout(_) => "timeout",
            Self::Redirects => "redirects",
            Self::Transport(_) => "transport",
        }
    }
}

/// Redirects followed before a fetch fails (loops included).
pub const MAX_REDIRECTS: usize = 5;

/// What a server said identifies the version of a document it sent (`ETag`,
/// `Last-Modified`), sent back to ask for it only if it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A conditional fetch's result.
#[derive(Debug)]
pub enum Fetched {
    Changed {
        body: Vec<u8>,
        validators: Validators,
    },
    NotModified,
}

pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_bytes: u64,
}

impl Fetcher {
    pub fn new(user_agent: &str, timeout: Duration, max_bytes: u64) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|error| FetchError::Transport(error.to_string()))?;
        Ok(Self {
            client,
            timeout,
            max_bytes,
        })
    }

    /// The body of `url` (decompressed), at most the cap.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        match self.get_if_changed(url, &Validators::default()).await? {
            Fetched::Changed { body, .. } => Ok(body),
            // Only a conditional request gets a 304.
            Fetched::NotModified => Err(FetchError::Status(304)),
        }
    }

    /// The body of `url` unless the server says it has not changed since `validators`
    /// were given (HTTP 304), with the validators to send next time.
    pub async fn get_if_changed(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
        let response = request.send().await.map_err(|error| self.error(&error))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let body = self.read_capped(response).await?;
        Ok(Fetched::Changed { body, validators })
    }

    /// The body of `url` (decompressed, at most the cap) and its `Content-Type`.
    pub async fn get_typed(&self, url: &str) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|error| self.error(&error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok((self.read_capped(response).await?, content_type))
    }

    /// A response's body, refused as soon as it passes the cap.
    async fn read_capped(&self, response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let too_large = FetchError::TooLarge {
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| self.error(&error))?;
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn error(&self, error: &reqwest::Error) -> FetchError {
        if error.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else if error.is_redirect() {
            FetchError::Redirects
        } else {
            // The chain of causes says what failed (refused, reset, bad certificate).
            let mut message = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                message = format!("{message}: {cause}");
                source = cause.source();
            }
            FetchError::Transport(message)
        }
    }
}
