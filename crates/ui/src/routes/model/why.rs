//! *Why this prediction* and *What if*: an explanation drawn as a
//! waterfall (from the average prediction to this one, one bar per feature)
//! with a table alternative, and what-if curves whose points are links.
//! Pure data shaping into inline SVG coordinates; no JavaScript.

use api_types::{Curve, Explanation, FeatureValue, ModelCard, WhatIfResponse};

use super::view::number;

/// Bars shown one by one; the rest are summed into one.
const SHOWN_FEATURES: usize = 10;
/// Features whose what-if curve is drawn (the largest contributions).
pub(super) const CHARTED_FEATURES: usize = 3;

/// The waterfall and its table.
#[derive(Debug)]
pub(super) struct WhyView {
    /// What the numbers are ("log-odds of setosa").
    pub(super) space: String,
    /// How to read that space, when it needs it.
    pub(super) space_help: Option<String>,
    pub(super) caption: String,
    pub(super) base: String,
    pub(super) base_x: String,
    pub(super) output: String,
    pub(super) output_x: String,
    pub(super) steps: Vec<Step>,
    pub(super) method: String,
}

/// One feature's bar.
#[derive(Debug)]
pub(super) struct Step {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) contribution: String,
    /// `up` or `down`: the bar's direction (also said in words by the sign).
    pub(super) direction: &'static str,
    pub(super) x: String,
    pub(super) width: String,
}

/// One what-if chart.
#[derive(Debug)]
pub(super) struct Chart {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) line: String,
    pub(super) points: Vec<ChartPoint>,
    pub(super) current_x: Option<String>,
    pub(super) x_min: String,
    pub(super) x_max: String,
    pub(super) y_min: String,
    pub(super) y_max: String,
    pub(super) summary: String,
}

/// One point of a chart: a link that tries that value.
#[derive(Debug)]
pub(super) struct ChartPoint {
    pub(super) x: String,
    pub(super) y: String,
    pub(super) href: String,
    pub(super) label: String,
    pub(super) current: bool,
}

/// The chart's plot area inside its `0 0 240 120` view box.
const PLOT: (f64, f64, f64, f64) = (40.0, 232.0, 12.0, 92.0);

fn space_words(card: &ModelCard, space: &str, class: Option<&str>) -> (String, Option<String>) {
    let class = class.unwrap_or_default();
    match space {
        "probability" => (format!("probability of {class}"), None),
        "log_odds" => (
            format!("log-odds of {class}"),
            Some(
                "Log-odds: 0 means even odds; each +1 multiplies the odds of this class by about 2.7."
                    .to_owned(),
            ),
        ),
        "score" => (format!("score of {class}"), None),
        _ => {
            let output = card.output.as_ref();
            let name = output.map_or_else(|| "value".to_owned(), |o| o.name.clone());
            match output.map(|o| o.unit.as_str()).filter(|u| !u.is_empty()) {
                Some(unit) => (format!("{name} ({unit})"), None),
                None => (name, None),
            }
        }
    }
}

fn signed(v: f64) -> String {
    if v >= 0.0 { format!("+{}", number(v)) } else { format!("−{}", number(-v)) }
}

/// The waterfall for `why`; `values` gives each feature's entered value as text.
pub(super) fn why_view(card: &ModelCard, why: &Explanation, value_of: impl Fn(&str) -> String) -> WhyView {
    let (space, space_help) = space_words(card, &why.space, why.class.as_deref());
    let mut parts: Vec<(String, String, f64)> = why
        .contributions
        .iter()
        .map(|c| {
            let label = card.feature(&c.feature).map_or_else(|| c.feature.clone(), |f| f.label.clone());
            let unit = card.feature(&c.feature).map(|f| f.unit.as_str()).unwrap_or_default();
            let value = value_of(&c.feature);
            let value = if value.is_empty() {
                "not recorded".to_owned()
            } else if unit.is_empty() {
                value
            } else {
                format!("{value} {unit}")
            };
            (label, value, c.contribution)
        })
        .collect();
    parts.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    if parts.len() > SHOWN_FEATURES {
        let rest: Vec<(String, String, f64)> = parts.split_off(SHOWN_FEATURES - 1);
        let sum = rest.iter().map(|p| p.2).sum();
        parts.push((format!("{} other features", rest.len()), String::new(), sum));
    }
    // The scale spans every running total, so each bar fits.
    let mut running = why.base_value;
    let (mut lo, mut hi) = (running.min(why.output), running.max(why.output));
    for p in &parts {
        running += p.2;
        lo = lo.min(running);
        hi = hi.max(running);
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let at = |v: f64| (v - lo) / span * 96.0 + 2.0;
    let mut running = why.base_value;
    let steps = parts
        .into_iter()
        .map(|(name, value, c)| {
            let (from, to) = (at(running), at(running + c));
            running += c;
            Step {
                name,
                value,
                contribution: signed(c),
                direction: if c >= 0.0 { "up" } else { "down" },
                x: format!("{:.2}", from.min(to)),
                width: format!("{:.2}", (to - from).abs().max(0.4)),
            }
        })
        .collect();
    let method = match why.method.as_str() {
        "tree_interventional" => "exact TreeSHAP",
        "linear" => "exact SHAP for a linear model",
        _ => "exact Shapley values over every coalition of features",
    };
    WhyView {
        caption: format!(
            "How each feature moved the {space} from its average over {} training rows to this prediction; \
             the bars add up exactly.",
            why.background_rows
        ),
        space,
        space_help,
        base: number(why.base_value),
        base_x: format!("{:.2}", at(why.base_value) - 0.3),
        output: number(why.output),
        output_x: format!("{:.2}", at(why.output) - 0.3),
        steps,
        method: method.to_owned(),
    }
}

fn value_text(v: &FeatureValue) -> String {
    match v {
        FeatureValue::Number(x) => number(*x),
        FeatureValue::Text(t) => t.clone(),
    }
}

/// One chart per curve; `href(feature, value)` is the page for that value.
pub(super) fn charts(
    card: &ModelCard,
    what_if: &WhatIfResponse,
    href: impl Fn(&str, &str) -> String,
) -> Vec<Chart> {
    let (space, _) = space_words(card, &what_if.space, what_if.class.as_deref());
    what_if.curves.iter().filter(|c| c.points.len() > 1).map(|c| chart(card, c, &space, &href)).collect()
}

fn chart(card: &ModelCard, curve: &Curve, space: &str, href: &impl Fn(&str, &str) -> String) -> Chart {
    let (x0, x1, y0, y1) = PLOT;
    let outputs: Vec<f64> = curve.points.iter().map(|p| p.output).collect();
    let lo = outputs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = outputs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let numbers: Option<Vec<f64>> = curve
        .points
        .iter()
        .map(|p| match p.value {
            FeatureValue::Number(x) => Some(x),
            FeatureValue::Text(_) => None,
        })
        .collect();
    let n = curve.points.len();
    let x_of = |i: usize| -> f64 {
        match &numbers {
            Some(xs) if xs[n - 1] > xs[0] => x0 + (xs[i] - xs[0]) / (xs[n - 1] - xs[0]) * (x1 - x0),
            _ => x0 + (i as f64 + 0.5) / n as f64 * (x1 - x0),
        }
    };
    let y_of = |v: f64| y1 - (v - lo) / (hi - lo) * (y1 - y0);
    let label = card.feature(&curve.feature).map_or_else(|| curve.feature.clone(), |f| f.label.clone());
    let current = curve.current.as_ref();
    // The point nearest the current value stands for it.
    let nearest = current.and_then(|now| match (now, &numbers) {
        (FeatureValue::Number(v), Some(xs)) => {
            (0..n).min_by(|&a, &b| (xs[a] - v).abs().total_cmp(&(xs[b] - v).abs()))
        }
        (FeatureValue::Text(t), None) => {
            curve.points.iter().position(|p| p.value == FeatureValue::Text(t.clone()))
        }
        _ => None,
    });
    let points: Vec<ChartPoint> = curve
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let value = value_text(&p.value);
            ChartPoint {
                x: format!("{:.1}", x_of(i)),
                y: format!("{:.1}", y_of(p.output)),
                href: href(
                    &curve.feature,
                    &match &p.value {
                        FeatureValue::Number(x) => x.to_string(),
                        FeatureValue::Text(t) => t.clone(),
                    },
                ),
                label: format!("{label} = {value}: {space} {}", number(p.output)),
                current: Some(i) == nearest,
            }
        })
        .collect();
    let line = if numbers.is_some() {
        points.iter().map(|p| format!("{},{}", p.x, p.y)).collect::<Vec<_>>().join(" ")
    } else {
        String::new()
    };
    let current_x = match (current, &numbers) {
        (Some(FeatureValue::Number(v)), Some(xs)) if xs[n - 1] > xs[0] => {
            let x = x0 + ((v - xs[0]) / (xs[n - 1] - xs[0])).clamp(0.0, 1.0) * (x1 - x0);
            Some(format!("{x:.1}"))
        }
        _ => None,
    };
    let (first, last) = (&curve.points[0], &curve.points[n - 1]);
    let (best, worst) = (
        curve.points.iter().max_by(|a, b| a.output.total_cmp(&b.output)).map(|p| value_text(&p.value)),
        curve.points.iter().min_by(|a, b| a.output.total_cmp(&b.output)).map(|p| value_text(&p.value)),
    );
    Chart {
        id: format!("whatif-{}", curve.feature),
        title: label.clone(),
        line,
        points,
        current_x,
        x_min: value_text(&first.value),
        x_max: value_text(&last.value),
        y_min: tick(lo),
        y_max: tick(hi),
        summary: format!(
            "The {space} is highest ({}) at {label} = {} and lowest ({}) at {}.",
            number(hi),
            best.unwrap_or_default(),
            number(lo),
            worst.unwrap_or_default()
        ),
    }
}

/// An axis label: three significant digits.
fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return number(v);
    }
    let digits = 2 - v.abs().log10().floor() as i32;
    let rounded = (v * 10f64.powi(digits)).round() / 10f64.powi(digits);
    number(rounded)
}
