//! `GET /models/{name}/monitoring`: is the model still seeing the data it
//! was trained on? Each feature's live distribution beside the training
//! one, as small inline charts, most drifted first, with its PSI.

use api_types::{BinShare, DriftReading, FeatureDrift, Monitoring};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Html;

use super::model_details;
use super::view::number;
use crate::api_client::ApiClientError;
use crate::assets::STYLESHEET_PATH;
use crate::error::UiError;
use crate::page;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Chart geometry, in SVG units: each bin gets a slot of two bars.
const SLOT: f64 = 28.0;
const HEIGHT: f64 = 64.0;

#[derive(Debug, Template)]
#[template(path = "pages/monitoring.html")]
struct MonitoringPage {
    stylesheet: &'static str,
    name: String,
    title: String,
    since_start: bool,
    rows: u64,
    reference_rows: u64,
    covers: String,
    monitored: bool,
    reason: String,
    prediction: Option<Panel>,
    features: Vec<Panel>,
}

/// One distribution: its name, PSI badge, figures and chart.
#[derive(Debug)]
struct Panel {
    title: String,
    psi: String,
    reading: &'static str,
    reading_class: &'static str,
    notes: String,
    chart: Chart,
    bins: Vec<BinRow>,
}

#[derive(Debug)]
struct Chart {
    width: String,
    bars: Vec<Bar>,
}

#[derive(Debug)]
struct Bar {
    x: String,
    y: String,
    height: String,
    live: bool,
    title: String,
}

#[derive(Debug)]
struct BinRow {
    label: String,
    reference: String,
    live: String,
}

pub(super) async fn show_monitoring(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    RequestId(request_id): RequestId,
) -> Result<Html<String>, UiError> {
    // `?window=since_start` or the last hour; anything else in the query
    // (a second window, a stray parameter) is ignored, as a link would be.
    let since_start =
        query.as_deref().unwrap_or_default().split('&').any(|pair| pair == "window=since_start");
    let window = if since_start { "since_start" } else { "last_hour" };
    let retry_url = format!("/models/{name}/monitoring?window={window}");
    let unavailable = || UiError::ApiUnavailable { retry_url: retry_url.clone(), attempt: 0, busy: false };
    let details = model_details(&state, &name, &request_id, unavailable).await?;
    let card = details.card;
    let mut page = MonitoringPage {
        stylesheet: STYLESHEET_PATH.as_str(),
        name: card.name.clone(),
        title: card.title.clone(),
        since_start,
        rows: 0,
        reference_rows: 0,
        covers: String::new(),
        monitored: false,
        reason: String::new(),
        prediction: None,
        features: Vec::new(),
    };
    match state.api.monitoring(&name, window, &request_id).await {
        Ok(report) => fill(&mut page, &report, &card),
        Err(ApiClientError::Declined(problem)) => page.reason = problem.detail,
        Err(ApiClientError::NotFound) => {
            page.reason =
                "The prediction service does not measure drift (it is older than this page).".to_owned();
        }
        Err(ApiClientError::Unavailable(outage)) => return Err(unavailable().during(&outage)),
        Err(other) => {
            return Err(UiError::Internal(
                anyhow::Error::new(other).context("Failed to read the monitoring figures"),
            ));
        }
    }
    page::render(&page)
}

/// Fewer rows than this in a window, and the live distribution is not
/// shown: its bins would give away what a few predictions were sent.
pub(crate) const MIN_SHOWN_ROWS: u64 = 100;

fn fill(page: &mut MonitoringPage, report: &Monitoring, card: &api_types::ModelCard) {
    page.monitored = true;
    page.rows = report.rows;
    page.reference_rows = report.reference_rows;
    page.covers = duration(report.window_seconds);
    if (1..MIN_SHOWN_ROWS).contains(&report.rows) {
        page.reason = format!(
            "The live distribution is shown once the window holds {MIN_SHOWN_ROWS} rows (it holds {}): with fewer, \
             its bins would give away what single predictions were sent.",
            report.rows
        );
        page.monitored = false;
        return;
    }
    let label = |feature: &str| card.feature(feature).map_or_else(|| feature.to_owned(), |f| f.label.clone());
    page.features = report.features.iter().map(|f| feature_panel(&label(&f.feature), f)).collect();
    let p = &report.prediction;
    let notes = if p.out_of_range_share > 0.0 {
        format!("{} outside the training predictions' range", share(p.out_of_range_share))
    } else {
        String::new()
    };
    page.prediction = Some(panel("Predictions".to_owned(), p.psi, p.reading, notes, &p.bins));
}

fn feature_panel(label: &str, f: &FeatureDrift) -> Panel {
    let mut notes = Vec::new();
    if f.missing_share > 0.0 {
        notes.push(format!("{} missing", share(f.missing_share)));
    }
    if f.out_of_range_share > 0.0 {
        notes.push(format!("{} outside what training saw", share(f.out_of_range_share)));
    }
    panel(label.to_owned(), f.psi, f.reading, notes.join(" · "), &f.bins)
}

fn panel(title: String, psi: Option<f64>, reading: DriftReading, notes: String, bins: &[BinShare]) -> Panel {
    let (reading, reading_class) = match reading {
        DriftReading::Stable => ("stable", "stable"),
        DriftReading::Moderate => ("moderate drift", "moderate"),
        DriftReading::Significant => ("significant drift", "significant"),
        DriftReading::NoData => ("no rows yet", "none"),
    };
    Panel {
        title,
        psi: psi.map_or_else(|| "–".to_owned(), |p| format!("{p:.3}")),
        reading,
        reading_class,
        notes,
        chart: chart(bins),
        bins: bins
            .iter()
            .map(|b| BinRow { label: b.label.clone(), reference: share(b.reference), live: share(b.live) })
            .collect(),
    }
}

/// Two bars per bin, training then live, scaled to the largest share.
fn chart(bins: &[BinShare]) -> Chart {
    let top = bins.iter().flat_map(|b| [b.reference, b.live]).fold(0.0_f64, f64::max).max(1e-9);
    let mut bars = Vec::with_capacity(bins.len() * 2);
    for (i, b) in bins.iter().enumerate() {
        for (j, (value, live)) in [(b.reference, false), (b.live, true)].into_iter().enumerate() {
            let height = (value / top * (HEIGHT - 2.0)).max(if value > 0.0 { 1.0 } else { 0.0 });
            bars.push(Bar {
                x: format!("{:.1}", i as f64 * SLOT + 3.0 + j as f64 * 11.0),
                y: format!("{:.1}", HEIGHT - height),
                height: format!("{height:.1}"),
                live,
                title: format!("{}: {} {}", b.label, if live { "live" } else { "training" }, share(value)),
            });
        }
    }
    Chart { width: format!("{:.0}", bins.len() as f64 * SLOT), bars }
}

fn share(v: f64) -> String {
    let pct = v * 100.0;
    if pct > 0.0 && pct < 0.1 { "<0.1%".to_owned() } else { format!("{}%", number(pct.max(0.0))) }
}

fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{:.1} h", secs as f64 / 3600.0),
    }
}
