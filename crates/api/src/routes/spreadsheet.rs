//! Batches from and to CSV files: the body is read as it streams in (never
//! past the body limit, never copied whole) into the CSV adapter, served by
//! the serving core, and answered as CSV — every input column as sent, then
//! `label` and one `p_<class>` per class, or `value` — streamed back chunk by
//! chunk, every cell safe to open in a spreadsheet; or as the JSON batch
//! answer when the client accepts only JSON.

use std::fmt::Write as _;
use std::io::Read;
use std::sync::Arc;

use ::csv::StringRecord;
use anyhow::Context;
use api_types::spreadsheet::safe_cell;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::answers;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::BodyError;
use crate::input::csv;
use crate::model::{ModelOutput, best_class};
use crate::serving::ServedModel;

/// Rows written back at a time.
const CHUNK_ROWS: usize = 1024;

/// Body chunks buffered between the network and the parser, and answer
/// chunks between the writer and the network.
const CHANNEL_DEPTH: usize = 8;

/// The format the client wants the predictions in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyFormat {
    Csv,
    Json,
}

impl ReplyFormat {
    /// CSV unless `Accept` asks for JSON and not for CSV.
    pub(crate) fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if accept.contains("application/json") && !accept.contains("text/csv") {
            Self::Json
        } else {
            Self::Csv
        }
    }
}

/// Predicts every row of the CSV `body` with `model`.
pub(crate) async fn predict(
    model: Arc<ServedModel>,
    body: Body,
    limit: usize,
    max_rows: usize,
    format: ReplyFormat,
) -> Result<Response, ApiError> {
    let (chunks, source) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_DEPTH);
    let feeding = tokio::spawn(feed(body, limit, chunks));
    let reading = model.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        csv::read(reading.schema(), ChannelReader { source, current: Bytes::new() }, max_rows, |e| {
            if e.kind() == std::io::ErrorKind::FileTooLarge {
                BodyError::TooLarge
            } else {
                BodyError::Malformed(format!("the body could not be read: {e}"))
            }
        })
    })
    .await
    .context("the CSV parsing task failed")?;
    feeding.abort();
    let (header, records, rows) = parsed?.into_parts();
    let output = model.predict(rows).await?;
    match format {
        ReplyFormat::Json => Ok(ApiJson(answers::batch(&model, &output)).into_response()),
        ReplyFormat::Csv => Ok(stream_csv(model, header, records, output)),
    }
}

/// Sends the body's bytes to the parser, stopping with an error past `limit`.
async fn feed(body: Body, limit: usize, chunks: mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    while let Some(next) = stream.next().await {
        let message = match next {
            Ok(bytes) => {
                total = total.saturating_add(bytes.len());
                if total > limit {
                    let _ = chunks
                        .send(Err(std::io::Error::new(
                            std::io::ErrorKind::FileTooLarge,
                            "over the body limit",
                        )))
                        .await;
                    return;
                }
                Ok(bytes)
            }
            Err(e) => Err(std::io::Error::other(e)),
        };
        let failed = message.is_err();
        if chunks.send(message).await.is_err() || failed {
            return;
        }
    }
}

/// The body as a blocking reader, for the CSV parser on a blocking thread.
struct ChannelReader {
    source: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.source.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The CSV answer, written and sent a chunk of rows at a time.
fn stream_csv(
    model: Arc<ServedModel>,
    header: StringRecord,
    records: Vec<StringRecord>,
    output: ModelOutput,
) -> Response {
    let (chunks, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| chunks.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        let classes = &model.card().classes;
        let mut head = writer();
        for cell in &header {
            let _ = head.write_field(safe_cell(cell).as_bytes());
        }
        for name in answer_columns(&header, &output, classes) {
            let _ = head.write_field(safe_cell(&name).as_bytes());
        }
        let _ = head.write_record(None::<&[u8]>);
        if !send(head.into_inner().unwrap_or_default()) {
            return;
        }
        // Written field by field into one buffer per chunk: a file of
        // 10,000 rows would otherwise allocate a string per cell.
        let mut number = String::new();
        let mut row = 0usize;
        for batch in records.chunks(CHUNK_ROWS) {
            let mut out = writer();
            for record in batch {
                for cell in record {
                    let _ = out.write_field(safe_cell(cell).as_bytes());
                }
                match &output {
                    ModelOutput::Probabilities { data, classes: k } => {
                        let p = &data[row * k..(row + 1) * k];
                        let best = best_class(p);
                        let _ = out.write_field(safe_cell(&classes[best]).as_bytes());
                        for v in p {
                            number.clear();
                            let _ = write!(number, "{v}");
                            let _ = out.write_field(number.as_bytes());
                        }
                    }
                    ModelOutput::Values(values) => {
                        number.clear();
                        let _ = write!(number, "{}", values[row]);
                        let _ = out.write_field(number.as_bytes());
                    }
                }
                let _ = out.write_record(None::<&[u8]>);
                row += 1;
            }
            if !send(out.into_inner().unwrap_or_default()) {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"predictions.csv\""),
    );
    response
}

/// The names of the columns the answer adds: `label` and `p_<class>`, or
/// `value`; one the file already has gets `predicted_` before it (again if
/// need be), so no column of the answer is named twice.
fn answer_columns(header: &StringRecord, output: &ModelOutput, classes: &[String]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = header.iter().map(|c| c.trim().to_owned()).collect();
    let wanted: Vec<String> = match output {
        ModelOutput::Probabilities { .. } => {
            std::iter::once("label".to_owned()).chain(classes.iter().map(|c| format!("p_{c}"))).collect()
        }
        ModelOutput::Values(_) => vec!["value".to_owned()],
    };
    wanted
        .into_iter()
        .map(|mut name| {
            while taken.contains(&name) {
                name = format!("predicted_{name}");
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// A CSV writer into memory (RFC 4180 quoting, LF line ends); writing into
/// memory cannot fail.
fn writer() -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(64 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_follows_accept_and_defaults_to_csv() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(accept).expect("header"));
            ReplyFormat::from_accept(&h)
        };
        assert_eq!(ReplyFormat::from_accept(&HeaderMap::new()), ReplyFormat::Csv);
        assert_eq!(with("*/*"), ReplyFormat::Csv);
        assert_eq!(with("application/json"), ReplyFormat::Json);
        assert_eq!(with("text/csv, application/json;q=0.5"), ReplyFormat::Csv);
    }
}
