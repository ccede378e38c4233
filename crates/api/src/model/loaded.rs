//! One model version read from its files and checked: its card (read,
//! merged over what the graph declares, or inferred), the input rules the
//! card declares, the runnable graph, a warm-up and the golden rows. What is
//! built on top of it to serve (explanations, drift monitoring) is composed
//! by the serving layer, not here.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use api_types::{CardSource, GoldenCheck, ModelCard, ModelStatus};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::card;
use super::card_from_graph;
use super::graph::{Graph, ModelOutput};
use super::source::{self, Fingerprint, Source};
use crate::input::{BodyError, Cell, FeatureSchema, RowsBuilder, Wording, json_v1};

/// How far the served graph may be from a golden probability or value
/// (relative for values above 1): float32 arithmetic in another order.
const GOLDEN_TOLERANCE: f64 = 1e-4;
/// Graph inputs at most (a DataFrame export has one per column).
const MAX_GRAPH_INPUTS: usize = 1000;
/// Golden files are for checking, not for loading a data set.
const MAX_GOLDEN_ROWS: usize = 10_000;

/// A model version ready to run: its card, its input rules, its graph and
/// what its load found.
#[derive(Debug)]
pub struct LoadedModel {
    card: ModelCard,
    schema: FeatureSchema,
    graph: Graph,
    /// What was loaded, from where, and how it checked out.
    status: ModelStatus,
    key: String,
    fingerprint: Fingerprint,
}

impl LoadedModel {
    /// Loads and checks one model version: card, graph, a warm-up run and
    /// the golden rows. `root` is the models directory, for naming files.
    pub(crate) fn load(source: &Source, root: &Path, max_bytes: u64) -> Result<Self> {
        let started = Instant::now();
        let fingerprint = source.fingerprint();
        let file = relative(&source.onnx, root);
        if let Some(link) = source.outside.first() {
            bail!(
                "{} is a link that leads out of the models directory, which is not followed \
                 (MODELS_FOLLOW_LINKS=true follows such links)",
                relative(link, root)
            );
        }
        // Sized before read: a huge file is refused before it takes memory.
        let size = fs::metadata(&source.onnx).with_context(|| format!("cannot read {file}"))?.len();
        ensure!(
            size <= max_bytes,
            "{file} is {size} bytes; models of up to {max_bytes} bytes are loaded (MODEL_MAX_BYTES)"
        );
        let bytes = fs::read(&source.onnx).with_context(|| format!("cannot read {file}"))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        drop(bytes);
        let (card, card_source, operators) = card_for(source, root)?;
        let schema = card::check(&card).with_context(|| match &source.card {
            Some(path) => format!("{} is not a valid model card", relative(path, root)),
            None => format!("the card inferred from {} is not valid", relative(&source.onnx, root)),
        })?;
        let graph = Graph::load(&source.onnx, &card, &schema).with_context(|| match &source.card {
            Some(path) => format!("{} does not match {}", relative(&source.onnx, root), relative(path, root)),
            None => format!("{} cannot be served", relative(&source.onnx, root)),
        })?;
        let mut model = Self {
            status: ModelStatus {
                version: card.version.clone(),
                versions: Vec::new(),
                sha256,
                file: relative(&source.onnx, root),
                card_source,
                operators,
                golden: None,
                loaded_at: rfc3339(SystemTime::now()),
                load_ms: 0,
                last_error: None,
            },
            card,
            schema,
            graph,
            key: source.key(),
            fingerprint,
        };
        model.warm_up().with_context(|| {
            format!("{}: a trial run on the card's defaults failed", relative(&source.onnx, root))
        })?;
        if let Some(path) = &source.golden {
            let check = model.check_golden(path).with_context(|| {
                format!(
                    "{} does not give the answers of {}",
                    relative(&source.onnx, root),
                    relative(path, root)
                )
            })?;
            model.status.golden = Some(check);
        }
        model.took(started.elapsed());
        Ok(model)
    }

    /// Records how long loading took in all (the serving layer adds what it builds on top).
    pub(crate) fn took(&mut self, elapsed: Duration) {
        self.status.load_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    }

    /// Runs a row of the card's defaults once, so a graph that loads but
    /// cannot run fails the boot, and the first real request pays no lazy
    /// set-up. A feature with no default takes its first category or
    /// choice, or the value of its range nearest zero: values the card says
    /// the graph takes, which `Graph::load` checked against what the graph's
    /// operators take. Never a missing value: whether a graph takes one is
    /// for its operators to say, not for a trial run.
    fn warm_up(&self) -> Result<()> {
        let mut rows = RowsBuilder::new(&self.schema, &Wording::JSON);
        let row = rows.begin_row();
        for (col, f) in self.card.features.iter().enumerate() {
            let cell = match (&f.default, f.categories.as_deref()) {
                (Some(api_types::FeatureValue::Number(x)), _) => Cell::Number(*x),
                (Some(api_types::FeatureValue::Text(t)), _) => Cell::Text(t),
                (None, Some([first, ..])) => Cell::Text(first),
                (None, None) if let Some(choice) = f.choices.as_ref().and_then(|c| c.first()) => {
                    Cell::Number(choice.value)
                }
                (None, _) => {
                    let (lo, hi) = (f.min.unwrap_or(f64::MIN), f.max.unwrap_or(f64::MAX));
                    let x = 0.0_f64.clamp(lo, hi);
                    Cell::Number(if f.integer { x.ceil().min(hi.floor()) } else { x })
                }
            };
            rows.set(row, col, cell, Vec::new);
        }
        let rows = match rows.finish() {
            Ok(rows) => rows,
            Err(problems) => bail!("the card's defaults are not valid input: {:?}", problems.into_errors()),
        };
        self.graph.run(rows).map(drop)
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// The rules input rows must satisfy.
    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    /// The runnable graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// What was loaded and how it checked out.
    pub fn status(&self) -> &ModelStatus {
        &self.status
    }

    /// The version served.
    pub fn version(&self) -> &str {
        &self.card.version
    }

    /// `name` or `name/version`: what reloads and failures are keyed by.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The files as they were when this version was read.
    pub(crate) fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Predicts every row of `golden.json` and compares with its answers.
    fn check_golden(&self, path: &Path) -> Result<GoldenCheck> {
        let text = fs::read_to_string(path).context("cannot read it")?;
        let golden: Golden = serde_json::from_str(&text).context("not a golden file")?;
        ensure!(golden.rows.len() <= MAX_GOLDEN_ROWS, "more than {MAX_GOLDEN_ROWS} rows");
        let instances: Vec<&serde_json::Value> = golden.rows.iter().map(|r| &r.features).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "instances": instances }))?;
        let rows = json_v1::parse_batch(&self.schema, &body, MAX_GOLDEN_ROWS)
            .map_err(|e| anyhow::anyhow!("its rows are not valid input: {}", describe(e)))?;
        let output = self.graph.run(rows)?;
        let mut worst: f64 = 0.0;
        for (i, row) in golden.rows.iter().enumerate() {
            let (got, want): (Vec<f64>, Vec<f64>) = match (&output, &row.probabilities, row.value) {
                (ModelOutput::Probabilities { data, classes }, Some(want), _) => (
                    data[i * classes..(i + 1) * classes].iter().map(|&p| f64::from(p)).collect(),
                    want.clone(),
                ),
                (ModelOutput::Values(values), _, Some(want)) => (vec![f64::from(values[i])], vec![want]),
                _ => bail!("row {i} gives no answer of the kind this model serves"),
            };
            ensure!(
                got.len() == want.len(),
                "row {i}: {} answers, golden.json has {}",
                got.len(),
                want.len()
            );
            for (g, w) in got.iter().zip(&want) {
                let error = (g - w).abs() / w.abs().max(1.0);
                ensure!(error <= GOLDEN_TOLERANCE, "row {i}: the graph gives {g}, golden.json {w}");
                worst = worst.max((g - w).abs());
            }
        }
        Ok(GoldenCheck {
            rows: golden.rows.len(),
            max_abs_error: worst,
            tolerance: GOLDEN_TOLERANCE,
            source: golden.source,
        })
    }
}

/// The parts of `golden.json` the load check reads.
#[derive(Deserialize)]
struct Golden {
    #[serde(default)]
    source: String,
    rows: Vec<GoldenRow>,
}

#[derive(Deserialize)]
struct GoldenRow {
    features: serde_json::Value,
    probabilities: Option<Vec<f64>>,
    value: Option<f64>,
}

/// The card a source serves, where it came from, and the graph's operators.
fn card_for(source: &Source, root: &Path) -> Result<(ModelCard, CardSource, Vec<String>)> {
    let onnx = relative(&source.onnx, root);
    let signature = Graph::inspect(&source.onnx).with_context(|| onnx.clone())?;
    // Each input is a tensor built per request and a node per optimization
    // pass: past this, a graph takes minutes to load and every call to serve.
    ensure!(
        signature.inputs.len() <= MAX_GRAPH_INPUTS,
        "{onnx}: the graph has {} inputs; at most {MAX_GRAPH_INPUTS} are served (export wide data as one matrix input)",
        signature.inputs.len()
    );
    let version = source.version.clone().unwrap_or_else(|| "1".to_owned());
    let inferred = card_from_graph::card_from_graph(&source.name, &version, &onnx, &signature);
    let (mut card, card_source) = match (&source.card, inferred) {
        (Some(path), inferred) => {
            let text =
                fs::read_to_string(path).with_context(|| format!("cannot read {}", relative(path, root)))?;
            let parsed = match inferred {
                Ok(inferred) => card_from_graph::merge(&inferred, &text),
                // The graph alone says too little (a card is all there is).
                Err(_) => card::parse(&text).map(|c| (c, CardSource::File)),
            };
            parsed.with_context(|| format!("{} is not a valid model card", relative(path, root)))?
        }
        (None, Ok(inferred)) => (inferred, CardSource::Inferred),
        (None, Err(why)) => {
            return Err(why.context(format!(
                "{onnx} has no {} and the graph alone does not say how to serve it",
                source::CARD_FILE
            )));
        }
    };
    ensure!(
        card.name == source.name,
        "{}: the card's name {:?} must match the model's name {:?}",
        source.card.as_deref().map_or_else(|| onnx.clone(), |p| relative(p, root)),
        card.name,
        source.name
    );
    // In the versioned layout the directory says which version this is.
    if let Some(version) = &source.version {
        card.version.clone_from(version);
    }
    Ok((card, card_source, signature.operators))
}

/// `path` relative to the models directory, for messages and answers.
pub(crate) fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `t` as RFC 3339 UTC to the second (`2026-12-03T22:51:43Z`).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A body error as one line, for load messages.
///
/// A file's problems are named by where they are and what kind they are,
/// not by the values at fault: load failures are public, file content is not.
pub(crate) fn describe(e: BodyError) -> String {
    match e {
        BodyError::Malformed(m) => m,
        BodyError::TooLarge => "too large".to_owned(),
        BodyError::Invalid(problems) => {
            let total = problems.total();
            let listed: Vec<String> = problems
                .into_errors()
                .iter()
                .take(5)
                .map(|e| {
                    let at: Vec<String> = e
                        .loc
                        .iter()
                        .map(|p| match p {
                            api_types::LocPart::Index(i) => i.to_string(),
                            api_types::LocPart::Key(k) => k.chars().take(64).collect(),
                        })
                        .collect();
                    format!("{} ({:?})", at.join(" "), e.kind)
                })
                .collect();
            format!("{total} value(s) break the card's rules, at: {}", listed.join("; "))
        }
    }
}
