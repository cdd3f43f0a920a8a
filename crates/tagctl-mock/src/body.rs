//! The one response-body type: a buffered body, or the endless filler of the huge-body fault.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// How many bytes the huge-body fault streams (after a short JSON-looking head) before it
/// ends; far past any sane client cap, yet finite so a client without one cannot hang a
/// test run forever.
pub const HUGE_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// One chunk of filler, shared by every huge body (no allocation per chunk).
static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// A response body.
#[derive(Debug)]
pub(crate) enum MockBody {
    /// Sent in one frame; `None` once sent, or for an empty body.
    Full(Option<Bytes>),
    /// Streamed in chunks without a length until `left` reaches zero; hyper stops polling
    /// it when the client disconnects, which ends the stream early.
    Huge {
        /// Bytes still to send.
        left: u64,
    },
}

impl MockBody {
    /// A buffered body (an empty one counts as no body).
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// No body at all.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    /// The huge-body fault's stream.
    pub(crate) fn huge() -> Self {
        Self::Huge {
            left: HUGE_BODY_BYTES,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = match self.get_mut() {
            MockBody::Full(bytes) => bytes.take(),
            MockBody::Huge { left: 0 } => None,
            MockBody::Huge { left } => {
                let head = br#"{"type":"about:blank","title":"Internal Server Error","status":500,"detail":""#;
                let chunk = if *left == HUGE_BODY_BYTES {
                    Bytes::from_static(head)
                } else {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(FILLER.len());
                    Bytes::from_static(&FILLER[..n])
                };
                *left = left.saturating_sub(chunk.len() as u64);
                Some(chunk)
            }
        };
        Poll::Ready(frame.map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None) | MockBody::Huge { left: 0 })
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            MockBody::Huge { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn huge_body_streams_its_whole_length() {
        let mut body = MockBody::huge();
        assert_eq!(body.size_hint().exact(), None);
        let mut total = 0u64;
        let mut first = true;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            if first {
                assert!(data.starts_with(b"{\"type\""));
                first = false;
            }
            total += data.len() as u64;
        }
        assert_eq!(total, HUGE_BODY_BYTES);
    }

    #[tokio::test]
    async fn full_body_is_one_frame() {
        let body = MockBody::full("abc");
        assert_eq!(body.size_hint().exact(), Some(3));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert!(MockBody::full("").is_end_stream());
    }
}
