//! The model page's "Predict a file" part: a template CSV to fill in, and a
//! CSV upload (a plain multipart form, no JavaScript) answered either as a
//! table of its first rows with their predictions and any bad cells, or as
//! the predicted file to download. Nothing is stored: the upload goes to the
//! API and the answer comes back, so any number of UI instances can serve.

use std::collections::{BTreeMap, HashMap};

use api_types::spreadsheet::safe_cell;
use api_types::{LocPart, ModelCard, Prediction, Problem};
use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::model_details;
use super::view::{number, percent};
use crate::api_client::ApiClientError;
use crate::assets::STYLESHEET_PATH;
use crate::error::UiError;
use crate::page;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::uploads::Refusal;

/// Rows shown in the results table; the rest are counted in the totals.
const SHOWN_ROWS: usize = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/models/{name}/template.csv", get(template))
        // The upload's size, time and memory are bounded by `Uploads::read`,
        // which also drains what is over the size.
        .route("/models/{name}/file", post(predict_file).layer(DefaultBodyLimit::disable()))
}

/// `GET /models/{name}/template.csv`: the header and the card's example rows.
async fn template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RequestId(request_id): RequestId,
) -> Result<Response, UiError> {
    let back = format!("/models/{name}");
    let card = model_details(&state, &name, &request_id, || UiError::ApiUnavailable {
        retry_url: back,
        attempt: 0,
        busy: false,
    })
    .await?
    .card;
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Names and values come from the card: written as text a spreadsheet will not run.
    let header: Vec<String> = card.features.iter().map(|f| safe_cell(&f.name).into_owned()).collect();
    let _ = writer.write_record(&header);
    for example in &card.examples {
        let row: Vec<String> = card
            .features
            .iter()
            .map(|f| {
                let value = example.values.get(&f.name).map(ToString::to_string).unwrap_or_default();
                safe_cell(&value).into_owned()
            })
            .collect();
        let _ = writer.write_record(&row);
    }
    let body = writer.into_inner().unwrap_or_default();
    Ok(csv_download(Body::from(body), &format!("{}-template.csv", card.name)))
}

/// The form's two buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Show,
    Download,
}

/// `POST /models/{name}/file`: a CSV upload, shown as a table or sent back predicted.
async fn predict_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RequestId(request_id): RequestId,
    request: Request,
) -> Result<Response, UiError> {
    let back = format!("/models/{name}");
    let (parts, body) = request.into_parts();
    // Held until the answer is written: the budget counts what is in memory.
    let upload = state.uploads.read(body).await.map_err(|refusal| match refusal {
        Refusal::TooLarge | Refusal::Broken => {
            UiError::UploadTooLarge { limit: state.uploads.limit(), back: back.clone() }
        }
        Refusal::TooSlow => {
            UiError::UploadTooSlow { seconds: state.uploads.deadline().as_secs(), back: back.clone() }
        }
        Refusal::Busy => UiError::UploadsBusy { back: back.clone() },
    })?;
    let form = read_form(Request::from_parts(parts, Body::from(upload.bytes.clone())), &state).await;
    let card = model_details(&state, &name, &request_id, || UiError::ApiUnavailable {
        retry_url: back.clone(),
        attempt: 0,
        busy: false,
    })
    .await?
    .card;
    let (file_name, csv, action) = match form {
        Ok(form) => form,
        Err(notice) => {
            return render(FilePage::new(&card, String::new()).with_notice(notice), StatusCode::BAD_REQUEST);
        }
    };
    let unavailable = || UiError::ApiUnavailable { retry_url: back.clone(), attempt: 0, busy: false };
    let mut page = FilePage::new(&card, file_name.clone());
    if action == Action::Download {
        return match state.api.predict_file_as_csv(&card.name, csv.clone(), &request_id).await {
            Ok(answer) => {
                Ok(csv_download(Body::from_stream(answer.bytes_stream()), &predicted_name(&file_name)))
            }
            Err(ApiClientError::Invalid(problem)) => {
                page.show_rows(&csv, None, Some(&problem));
                render(page, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(ApiClientError::Unreadable(problem)) => {
                render(page.with_notice(problem.detail), StatusCode::BAD_REQUEST)
            }
            Err(ApiClientError::Unavailable(outage)) => Err(unavailable().during(&outage)),
            Err(other) => {
                Err(UiError::Internal(anyhow::Error::new(other).context("Failed to predict a file")))
            }
        };
    }
    match state.api.predict_file(&card.name, csv.clone(), &request_id).await {
        Ok(answer) => {
            let predictions: Vec<Prediction<'_>> = answer.predictions.iter().collect();
            page.show_rows(&csv, Some(&predictions), None);
            render(page, StatusCode::OK)
        }
        Err(ApiClientError::Invalid(problem)) => {
            page.show_rows(&csv, None, Some(&problem));
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(ApiClientError::Unreadable(problem)) => {
            render(page.with_notice(problem.detail), StatusCode::BAD_REQUEST)
        }
        Err(ApiClientError::Unavailable(outage)) => Err(unavailable().during(&outage)),
        Err(other) => Err(UiError::Internal(anyhow::Error::new(other).context("Failed to predict a file"))),
    }
}

fn render(page: FilePage, status: StatusCode) -> Result<Response, UiError> {
    let html = page::render(&page)?;
    drop(page);
    Ok((status, html).into_response())
}

/// The form's file (its name and bytes) and button; or what to tell the user.
async fn read_form<S: Send + Sync>(request: Request, state: &S) -> Result<(String, Bytes, Action), String> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| "Upload the file with the form on the model's page.".to_owned())?;
    let (mut file, mut action) = (None, Action::Show);
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().map(str::to_owned);
        if name.as_deref() == Some("file") {
            let file_name = field.file_name().unwrap_or("upload.csv").to_owned();
            let bytes = field.bytes().await.map_err(|e| format!("The upload could not be read: {e}"))?;
            file = Some((file_name, bytes));
        } else if name.as_deref() == Some("action") && field.text().await.is_ok_and(|t| t == "download") {
            action = Action::Download;
        }
    }
    match file {
        Some((name, bytes)) if !bytes.is_empty() => Ok((name, bytes, action)),
        _ => Err("Choose a CSV file first.".to_owned()),
    }
}

/// `rows.csv` → `rows-predictions.csv`, in characters a header can carry.
fn predicted_name(upload: &str) -> String {
    let stem = upload.rsplit(['/', '\\']).next().unwrap_or(upload);
    let stem = stem.strip_suffix(".csv").or_else(|| stem.strip_suffix(".CSV")).unwrap_or(stem);
    let safe: String = stem
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    format!("{}-predictions.csv", if safe.is_empty() { "file" } else { &safe })
}

fn csv_download(body: Body, file_name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The results page of an upload.
#[derive(Debug, Template)]
#[template(path = "pages/file.html")]
struct FilePage {
    stylesheet: &'static str,
    name: String,
    title: String,
    file_name: String,
    notice: Option<String>,
    problems: Vec<String>,
    problem_total: usize,
    columns: Vec<String>,
    rows: Vec<RowView>,
    total_rows: usize,
    totals: Vec<String>,
    predicted: bool,
    output_label: String,
    is_class: bool,
}

/// One shown row.
#[derive(Debug)]
struct RowView {
    line: usize,
    cells: Vec<CellView>,
    prediction: String,
    confidence: String,
}

#[derive(Debug)]
struct CellView {
    text: String,
    error: Option<String>,
}

impl FilePage {
    fn new(card: &ModelCard, file_name: String) -> Self {
        let is_class = !card.classes.is_empty();
        Self {
            stylesheet: STYLESHEET_PATH.as_str(),
            name: card.name.clone(),
            title: card.title.clone(),
            file_name,
            notice: None,
            problems: Vec::new(),
            problem_total: 0,
            columns: Vec::new(),
            rows: Vec::new(),
            total_rows: 0,
            totals: Vec::new(),
            predicted: false,
            output_label: if is_class {
                "Prediction".to_owned()
            } else {
                card.output.as_ref().map_or_else(|| "Value".to_owned(), |o| sentence_case(&o.name))
            },
            is_class,
        }
    }

    fn with_notice(mut self, notice: String) -> Self {
        self.notice = Some(notice);
        self
    }

    /// The file's first rows with their predictions, or with the API's problems in place.
    fn show_rows(&mut self, csv: &[u8], predictions: Option<&[Prediction<'_>]>, problem: Option<&Problem>) {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv);
        let mut records = reader.records();
        if let Some(Ok(header)) = records.next() {
            self.columns = header.iter().map(|c| c.trim().to_owned()).collect();
        }
        // Problems by (line, column); the ones no shown cell can carry go to the list.
        let mut at_cell: HashMap<(usize, String), String> = HashMap::new();
        if let Some(problem) = problem {
            self.problem_total = problem.errors.len();
            for e in &problem.errors {
                match e.loc.as_slice() {
                    [_, LocPart::Key(l), LocPart::Index(line), LocPart::Key(col)]
                        if l == "line" && *line >= 2 && *line < SHOWN_ROWS + 2 =>
                    {
                        at_cell.insert((*line, col.clone()), sentence(&e.msg));
                    }
                    [_, LocPart::Key(l), LocPart::Index(line), LocPart::Key(col)] if l == "line" => {
                        self.problems.push(format!("Line {line}, {col}: {}", sentence(&e.msg)));
                    }
                    _ => self.problems.push(sentence(&e.msg)),
                }
            }
            let total =
                problem.detail.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(problem.errors.len());
            self.problem_total = total;
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut values = Vec::new();
        for (i, record) in records.enumerate() {
            self.total_rows += 1;
            if let Some(answer) = predictions.and_then(|p| p.get(i)) {
                match answer {
                    Prediction::Classification(c) => *counts.entry(c.label.to_string()).or_default() += 1,
                    Prediction::Regression(r) => values.push(f64::from(r.value)),
                }
            }
            if i >= SHOWN_ROWS {
                continue;
            }
            let Ok(record) = record else { continue };
            let line = record.position().map_or(i + 2, |p| usize::try_from(p.line()).unwrap_or(i + 2));
            let cells = record
                .iter()
                .enumerate()
                .map(|(c, text)| {
                    let column = self.columns.get(c).cloned().unwrap_or_default();
                    CellView { text: text.to_owned(), error: at_cell.remove(&(line, column)) }
                })
                .collect();
            let (prediction, confidence) = match predictions.and_then(|p| p.get(i)) {
                Some(Prediction::Classification(c)) => {
                    let top = c.probabilities.get(&c.label).unwrap_or_default();
                    (c.label.to_string(), percent(top))
                }
                Some(Prediction::Regression(r)) => {
                    let unit = r.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
                    (format!("{}{unit}", number(f64::from(r.value))), String::new())
                }
                None => (String::new(), String::new()),
            };
            self.rows.push(RowView { line, cells, prediction, confidence });
        }
        // Problems on cells beyond the shown columns still get listed.
        for ((line, col), msg) in at_cell {
            self.problems.push(format!("Line {line}, {col}: {msg}"));
        }
        self.predicted = predictions.is_some();
        if let Some(predictions) = predictions {
            let n = predictions.len();
            if self.is_class {
                let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                self.totals = ranked
                    .into_iter()
                    .map(|(label, k)| format!("{label}: {k} ({})", percent(k as f32 / n.max(1) as f32)))
                    .collect();
            } else if !values.is_empty() {
                let (lo, hi) =
                    values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                self.totals = vec![format!("Mean {}, from {} to {}", number(mean), number(lo), number(hi))];
            }
        }
    }
}

fn sentence(msg: &str) -> String {
    let mut chars = msg.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn sentence_case(name: &str) -> String {
    sentence(&name.replace('_', " ")).trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser's multipart body: the `file` part (when given), then the
    /// `action` button (when given), each in the order a form sends them.
    fn multipart(boundary: &str, file: Option<(&str, &[u8])>, action: Option<&str>) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some((name, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        if let Some(action) = action {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    fn upload(boundary: &str, body: Vec<u8>) -> Request {
        Request::builder()
            .method("POST")
            // Quoted, as a browser sends a boundary holding `?`, `/`, `:` or `=`.
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary=\"{boundary}\""))
            .body(Body::from(body))
            .expect("request")
    }

    const MESSAGES: [&str; 2] =
        ["Upload the file with the form on the model's page.", "Choose a CSV file first."];

    fn read(request: Request) -> Result<(String, Bytes, Action), String> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(read_form(request, &()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(service::fuzz::cases()))]

        /// A well-formed upload of any content (CSV or not, any bytes, the
        /// boundary's own dashes included): read back exactly, with the
        /// button pressed.
        #[test]
        fn any_well_formed_upload_is_read_back_exactly(
            boundary in "[0-9A-Za-z'()+_,./:=?-]{1,40}[0-9A-Za-z]",
            name in "[a-z0-9 _.-]{1,20}",
            content in proptest::collection::vec(proptest::num::u8::ANY, 0..2000),
            action in proptest::option::of(proptest::sample::select(vec!["show", "download", "other"])),
        ) {
            // A part's content may not hold its own delimiter line.
            proptest::prop_assume!(!content.windows(boundary.len() + 4).any(|w| w == format!("\r\n--{boundary}").as_bytes()));
            let body = multipart(&boundary, Some((&name, &content)), action);
            let got = read(upload(&boundary, body));
            if content.is_empty() {
                proptest::prop_assert_eq!(got, Err("Choose a CSV file first.".to_owned()));
            } else {
                let want = if action == Some("download") { Action::Download } else { Action::Show };
                proptest::prop_assert_eq!(got, Ok((name, Bytes::from(content), want)));
            }
        }

        /// A broken upload (cut short, bytes changed, or the wrong
        /// boundary): no panic, and when refused, one of the page's messages
        /// or a bounded one saying the upload could not be read.
        #[test]
        fn a_broken_upload_is_refused_with_a_short_message_never_a_panic(
            content in proptest::collection::vec(proptest::num::u8::ANY, 1..500),
            cut in proptest::num::usize::ANY,
            flips in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 0..8),
            header_boundary in proptest::option::of("[a-z]{1,12}"),
        ) {
            let boundary = "XyZ123";
            let mut body = multipart(boundary, Some(("rows.csv", &content)), Some("download"));
            for (at, byte) in flips {
                let at = at % body.len();
                body[at] = byte;
            }
            body.truncate(cut % (body.len() + 1));
            let got = read(upload(header_boundary.as_deref().unwrap_or(boundary), body));
            if let Err(message) = got {
                let known = MESSAGES.contains(&message.as_str())
                    || (message.starts_with("The upload could not be read: ") && message.len() < 300);
                proptest::prop_assert!(known, "{message}");
            }
        }
    }

    #[test]
    fn the_download_is_named_after_the_upload_in_safe_characters() {
        assert_eq!(predicted_name("rows.csv"), "rows-predictions.csv");
        assert_eq!(predicted_name("C:\\data\\my rows.CSV"), "my_rows-predictions.csv");
        assert_eq!(predicted_name("\"evil\r\n.csv"), "_evil__-predictions.csv");
        assert_eq!(predicted_name(".csv"), "file-predictions.csv");
    }
}
