//! The Open Inference Protocol's framing: request bodies compressed with
//! gzip or deflate, a JSON header followed by binary tensors (the binary
//! tensor data extension, sized by `Inference-Header-Content-Length`), and
//! answers framed the same way, compressed when the client accepts it.
//!
//! Every length here comes from the request and is checked against the
//! bytes actually received (or the body limit) before it is used.

use std::io::{Read, Write};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::read::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};

use crate::error::ApiError;

/// The header giving the length of the JSON header of a body.
pub(crate) const HEADER_LENGTH: &str = "inference-header-content-length";

/// A request body's JSON header and the binary tensors after it.
#[derive(Debug)]
pub(crate) struct Framed {
    body: Bytes,
    header_len: usize,
}

impl Framed {
    /// The JSON header.
    pub(crate) fn json(&self) -> &[u8] {
        &self.body[..self.header_len]
    }

    /// The binary tensors after it.
    pub(crate) fn binary(&self) -> &[u8] {
        &self.body[self.header_len..]
    }
}

/// Decompresses `body` as its `Content-Encoding` says (never past `limit`
/// bytes) and splits it at `Inference-Header-Content-Length`, which counts
/// the uncompressed JSON; without that header the whole body is JSON,
/// whatever `Content-Type` says.
pub(crate) fn read(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Framed, ApiError> {
    // Two lengths would mean two framings: the request says nothing definite.
    if headers.get_all(HEADER_LENGTH).iter().nth(1).is_some() {
        return Err(ApiError::MalformedBody(
            "Inference-Header-Content-Length is given more than once; send it once".to_owned(),
        ));
    }
    let body = decompress(headers, body, limit)?;
    let header_len = match headers.get(HEADER_LENGTH) {
        None => body.len(),
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            let n: usize = text.parse().map_err(|_| {
                ApiError::MalformedBody(format!(
                    "Inference-Header-Content-Length must be a byte count; got {:?}",
                    text.chars().take(32).collect::<String>()
                ))
            })?;
            if n == 0 {
                return Err(ApiError::MalformedBody(
                    "Inference-Header-Content-Length is 0 (a raw binary request), which this server does not take; \
                     send a JSON header describing the inputs"
                        .to_owned(),
                ));
            }
            if n > body.len() {
                return Err(ApiError::MalformedBody(format!(
                    "Inference-Header-Content-Length is {n} but the (uncompressed) body has only {} bytes",
                    body.len()
                )));
            }
            n
        }
    };
    Ok(Framed { body, header_len })
}

fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "" | "identity" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(GzDecoder::new(&body[..])),
        // What zlib.compress writes, as tritonclient and Triton mean it.
        "deflate" => Box::new(ZlibDecoder::new(&body[..])),
        other => return Err(ApiError::UnsupportedEncoding(other.chars().take(32).collect())),
    };
    // One byte past the limit tells a body at the limit from one over it,
    // without ever holding more than that.
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    reader.take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| {
        ApiError::MalformedBody(format!("the {encoding} body could not be decompressed: {e}"))
    })?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(Bytes::from(out))
}

/// The inference response: its JSON header and, when any output is sent in binary, the
/// binary outputs after it; compressed as the client accepts (gzip or
/// deflate, never anything else).
pub(crate) fn response(
    request: &HeaderMap,
    json: Vec<u8>,
    binary: Option<&[u8]>,
) -> Result<Response, ApiError> {
    let header_len = json.len();
    let has_binary = binary.is_some();
    let mut body = json;
    body.extend_from_slice(binary.unwrap_or_default());
    let encoding = accepted_encoding(request);
    let body = match encoding {
        Some("gzip") => {
            compress(GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::fast()), &body)?
        }
        Some(_) => {
            compress(ZlibEncoder::new(Vec::with_capacity(body.len() / 2), Compression::fast()), &body)?
        }
        None => body,
    };
    let mut response = Body::from(body).into_response();
    let headers = response.headers_mut();
    if has_binary {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        headers.insert(HEADER_LENGTH, HeaderValue::from(header_len));
    } else {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

fn compress<W: Write + Finish>(mut encoder: W, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    encoder
        .write_all(body)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e).context("Failed to compress")))?;
    encoder.finish_into().map_err(|e| ApiError::Internal(anyhow::anyhow!(e).context("Failed to compress")))
}

/// Both flate2 encoders finish the same way.
trait Finish {
    fn finish_into(self) -> std::io::Result<Vec<u8>>;
}

impl Finish for GzEncoder<Vec<u8>> {
    fn finish_into(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

impl Finish for ZlibEncoder<Vec<u8>> {
    fn finish_into(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

/// gzip or deflate, whichever `Accept-Encoding` weighs higher (gzip on a tie);
/// none if it names neither with a weight above 0.
fn accepted_encoding(headers: &HeaderMap) -> Option<&'static str> {
    let mut best: Option<(&'static str, f32)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        for item in value.to_str().unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let name = match coding.as_str() {
                "gzip" | "x-gzip" => "gzip",
                "deflate" => "deflate",
                _ => continue,
            };
            if weight > 0.0
                && best.is_none_or(|(b, w)| weight > w || (weight == w && name == "gzip" && b != "gzip"))
            {
                best = Some((name, weight));
            }
        }
    }
    best.map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn the_header_length_splits_json_from_binary_and_must_fit_the_body() {
        let framed =
            read(&headers(&[(HEADER_LENGTH, "2")]), Bytes::from_static(b"{}abc"), 100).expect("fits");
        assert_eq!((framed.json(), framed.binary()), (&b"{}"[..], &b"abc"[..]));

        for bad in ["6", "0", "-1", "two"] {
            let err =
                read(&headers(&[(HEADER_LENGTH, bad)]), Bytes::from_static(b"{}abc"), 100).expect_err(bad);
            assert!(matches!(err, ApiError::MalformedBody(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn a_gzip_body_is_read_and_the_length_counts_its_uncompressed_json() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"{\"a\":1}xyz").expect("write");
        let body = Bytes::from(gz.finish().expect("finish"));

        let framed =
            read(&headers(&[("content-encoding", "gzip"), (HEADER_LENGTH, "7")]), body, 100).expect("reads");

        assert_eq!((framed.json(), framed.binary()), (&b"{\"a\":1}"[..], &b"xyz"[..]));
    }

    #[test]
    fn a_compressed_body_that_expands_past_the_limit_is_refused_without_expanding_it_all() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![b' '; 10_000_000]).expect("write");
        let bomb = Bytes::from(gz.finish().expect("finish"));
        assert!(bomb.len() < 20_000);

        let err = read(&headers(&[("content-encoding", "gzip")]), bomb, 1_000_000).expect_err("too large");

        assert!(matches!(err, ApiError::PayloadTooLarge), "{err:?}");
    }

    #[test]
    fn corrupt_or_unknown_encodings_are_refused() {
        let corrupt = read(&headers(&[("content-encoding", "gzip")]), Bytes::from_static(b"not gzip"), 100);
        let unknown = read(&headers(&[("content-encoding", "br")]), Bytes::from_static(b"{}"), 100);

        assert!(matches!(corrupt, Err(ApiError::MalformedBody(_))), "{corrupt:?}");
        assert!(matches!(unknown, Err(ApiError::UnsupportedEncoding(_))), "{unknown:?}");
    }

    #[test]
    fn the_answer_is_compressed_as_accepted_and_never_with_brotli() {
        assert_eq!(accepted_encoding(&headers(&[("accept-encoding", "gzip, deflate, br")])), Some("gzip"));
        assert_eq!(accepted_encoding(&headers(&[("accept-encoding", "deflate")])), Some("deflate"));
        assert_eq!(
            accepted_encoding(&headers(&[("accept-encoding", "gzip;q=0.2, deflate;q=0.8")])),
            Some("deflate")
        );
        assert_eq!(accepted_encoding(&headers(&[("accept-encoding", "br, gzip;q=0")])), None);
        assert_eq!(accepted_encoding(&headers(&[])), None);
    }
}
