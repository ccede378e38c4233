//! What any code answering a request may ask about it, without the request
//! in hand: its id (error bodies quote it), the protocol its route speaks
//! (an error is written in that protocol's shape), and its admission (the
//! permit the gate took, which work done for the request keeps until that
//! work really stops). Scoped to the task answering the request by the
//! exchange and the gate.

use std::fmt;
use std::future::Future;

use axum::http::HeaderValue;

/// The wire protocol of a route, which decides the shape of its error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Our JSON API: errors are RFC 9457 problem+json.
    Json,
    /// The Open Inference Protocol (`/v2/…`): errors are `{"error": "…"}`.
    OpenInference,
}

impl Protocol {
    /// The protocol of the route at `path`.
    pub fn of_path(path: &str) -> Self {
        if path == "/v2" || path.starts_with("/v2/") { Self::OpenInference } else { Self::Json }
    }
}

/// A request's id: the client's (already checked usable), or ours, kept as
/// two numbers and written out only when something quotes it, so a request
/// that nothing quotes costs one small header and no string.
#[derive(Debug, Clone)]
pub enum RequestId {
    /// The client's `x-request-id`.
    Given(HeaderValue),
    /// A new one: this process's random prefix and a sequence number.
    Ours { prefix: u64, sequence: u64 },
}

impl RequestId {
    /// The id as the `x-request-id` header echoes it.
    pub fn header(self) -> HeaderValue {
        match self {
            Self::Given(value) => value,
            Self::Ours { prefix, sequence } => {
                let mut text = [0u8; 29];
                write_hex(&mut text[..16], prefix);
                text[16] = b'-';
                write_hex(&mut text[17..], sequence);
                // Hex digits and a dash are always a valid header value.
                HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("-"))
            }
        }
    }
}

/// The id as error bodies and log lines quote it.
impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given(value) => f.write_str(value.to_str().unwrap_or_default()),
            Self::Ours { prefix, sequence } => write!(f, "{prefix:016x}-{sequence:012x}"),
        }
    }
}

/// Writes the low `out.len()` hex digits of `value` into `out`, zero-padded.
fn write_hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[derive(Debug, Clone)]
struct RequestScope {
    id: RequestId,
    protocol: Protocol,
}

tokio::task_local! {
    static SCOPE: RequestScope;
}

/// Runs `answer` as the answer to the request `id`, on a route of `protocol`.
pub async fn scope<F: Future>(id: RequestId, protocol: Protocol, answer: F) -> F::Output {
    SCOPE.scope(RequestScope { id, protocol }, answer).await
}

/// A request's share of the prediction permits: held by the gate while the
/// route answers, and by any work started for it until that work ends, so
/// the permits bound the CPU at work, not just the answers in progress.
pub type Admission = std::sync::Arc<tokio::sync::OwnedSemaphorePermit>;

tokio::task_local! {
    static ADMISSION: Admission;
}

/// Runs `answer` holding `admission`.
pub async fn admitted<F: Future>(admission: Admission, answer: F) -> F::Output {
    ADMISSION.scope(admission, answer).await
}

/// The current request's admission, for work that may outlive the answer.
pub fn admission() -> Option<Admission> {
    ADMISSION.try_with(Admission::clone).ok()
}

/// The current request's id, when called while answering one.
pub fn current_id() -> Option<String> {
    SCOPE.try_with(|s| s.id.to_string()).ok()
}

/// The current request's protocol (our JSON API outside any request).
pub fn protocol() -> Protocol {
    SCOPE.try_with(|s| s.protocol).unwrap_or(Protocol::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_ids_read_the_same_in_the_header_and_in_error_bodies() {
        let id = RequestId::Ours { prefix: 0x0123_4567_89ab_cdef, sequence: 42 };

        assert_eq!(id.clone().header(), "0123456789abcdef-00000000002a");
        assert_eq!(id.to_string(), "0123456789abcdef-00000000002a");
    }
}
