//! axum integration: the body is a response, and `Last-Event-ID` an
//! extractor. Built on `axum-core` alone.

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_core::Stream;
use http::request::Parts;
use http::StatusCode;

use super::{IntoFrame, LastEventId, LastEventIdError, LimitReached, SseBody};

/// An [`SseBody`] is a `200 OK` response with the event stream's headers.
impl<S> IntoResponse for SseBody<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<axum_core::BoxError>,
{
    fn into_response(self) -> Response {
        self.response().map(Body::new)
    }
}

/// `Option<LastEventId>` in a handler: `None` on a first connection (no
/// header, or an empty one), and a `400 Bad Request` that says why when the
/// header is not an event ID.
impl<S: Sync> OptionalFromRequestParts<S> for LastEventId {
    type Rejection = LastEventIdError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<LastEventId>, LastEventIdError> {
        LastEventId::from_headers(&parts.headers)
    }
}

/// `LastEventId` in a handler: the header is required, and its absence is
/// a `400 Bad Request` too. Most handlers want `Option<LastEventId>`.
impl<S: Sync> FromRequestParts<S> for LastEventId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<LastEventId, Response> {
        match LastEventId::from_headers(&parts.headers) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err((
                StatusCode::BAD_REQUEST,
                "missing Last-Event-ID header: this route resumes a stream and needs one",
            )
                .into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// `400 Bad Request` with the error's message.
impl IntoResponse for LastEventIdError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

/// [`LimitReached::response`] with the error's message.
impl IntoResponse for LimitReached {
    fn into_response(self) -> Response {
        self.response(Body::from(Bytes::from(self.to_string())))
    }
}
