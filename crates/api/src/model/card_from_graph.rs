//! A model card read from the graph alone, for an ONNX file dropped in with
//! no `card.toml`, and the merge of a partial card over it: what the card
//! states wins, everything else is what the graph declares.

use anyhow::{Context, Result, bail, ensure};
use api_types::{
    CardSource, Choice, FeatureSpec, ModelCard, OnnxIo, Policy, Provenance, RegressionOutput, Task,
};
use onnx_ml::{ColumnContract, ElemType, Keys, Signature, TensorInfo, Verdict};
use toml::{Table, Value};

/// The card the graph itself declares: its inputs become features (named as
/// the inputs, or `f0…` for the columns of one matrix input), numbers take any
/// finite value, text takes the categories its encoder lists; a classifier
/// names the classes its operator carries.
pub(super) fn card_from_graph(
    name: &str,
    version: &str,
    file: &str,
    signature: &Signature,
) -> Result<ModelCard> {
    let (input, features) = features(signature)?;
    let floats = |o: &&TensorInfo| matches!(o.elem, ElemType::F32 | ElemType::F64);
    let labels = signature.class_labels.as_ref().map(|l| l.names()).filter(|l| l.len() >= 2);
    let (task, classes, onnx_out, output) = match labels {
        Some(classes) => {
            // skl2onnx gives [label, probabilities]; the probabilities are a
            // float matrix or ZipMap's sequence of maps.
            let label = signature.outputs.iter().find(|o| matches!(o.elem, ElemType::I64 | ElemType::String));
            let probabilities = signature
                .outputs
                .iter()
                .find(|o| floats(o) || o.elem == ElemType::NotATensor)
                .context("the classifier has no probability output (float32 or a ZipMap)")?;
            let io = (label.map(|o| o.name.clone()), Some(probabilities.name.clone()), None);
            (Task::Classification, classes, io, None)
        }
        None => {
            let value = signature.outputs.iter().find(floats).with_context(|| {
                format!(
                    "no float output to serve: the outputs are {}",
                    signature
                        .outputs
                        .iter()
                        .map(|o| format!("{} ({})", o.name, o.elem.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let output = RegressionOutput {
                name: value.name.clone(),
                unit: String::new(),
                description: String::new(),
                min: None,
                max: None,
            };
            (Task::Regression, Vec::new(), (None, None, Some(value.name.clone())), Some(output))
        }
    };
    let (label_output, probabilities_output, value_output) = onnx_out;
    Ok(ModelCard {
        name: name.to_owned(),
        title: name.to_owned(),
        description: format!(
            "Served from {file} with no card: its inputs, outputs and classes were read from the graph. \
             Add a card.toml to name the features, their units and ranges."
        ),
        version: version.to_owned(),
        task,
        classes,
        onnx: OnnxIo { input, label_output, probabilities_output, value_output },
        output,
        features,
        examples: Vec::new(),
        provenance: Provenance::default(),
    })
}

/// The features and, for a single matrix input, its name: each column as
/// the graph's operators say it may be fed (see [`onnx_ml::InputContract`]).
fn features(signature: &Signature) -> Result<(Option<String>, Vec<FeatureSpec>)> {
    let contract = |i: usize| signature.contracts.get(i).context("the graph's inputs were not read");
    match signature.inputs.as_slice() {
        [] => bail!("the graph has no input"),
        // One matrix: its columns are features `f0…`.
        [only] if width(only).is_some_and(|w| w > 1) => {
            let width = width(only).unwrap_or_default();
            ensure!(width <= 10_000, "the graph's input {:?} declares {width} columns", only.name);
            let columns = &contract(0)?.columns;
            ensure!(
                columns.len() == width,
                "the graph's input {:?} was read as {} columns",
                only.name,
                columns.len()
            );
            let features = columns
                .iter()
                .enumerate()
                .map(|(i, column)| feature(&format!("f{i}"), only, column))
                .collect::<Result<_>>()?;
            Ok((Some(only.name.clone()), features))
        }
        // One input per column, or per group of columns (`<input>_0`, …).
        inputs => {
            let mut features = Vec::with_capacity(inputs.len());
            for (i, input) in inputs.iter().enumerate() {
                let columns = &contract(i)?.columns;
                ensure!(
                    features.len() + columns.len() <= 10_000,
                    "the graph's inputs declare more than 10000 columns"
                );
                if columns.len() == 1 {
                    features.push(feature(&input.name, input, &columns[0])?);
                } else {
                    for (c, column) in columns.iter().enumerate() {
                        features.push(feature(&format!("{}_{c}", input.name), input, column)?);
                    }
                }
            }
            Ok((None, features))
        }
    }
}

/// The feature that feeds one column of `input`, as the graph takes it.
fn feature(name: &str, input: &TensorInfo, column: &ColumnContract) -> Result<FeatureSpec> {
    let mut spec = FeatureSpec::number(name);
    spec.missing = if column.missing.accepted() { Policy::Allowed } else { Policy::Rejected };
    let listed = |keys: &Option<Keys>| -> Option<Vec<f64>> {
        match keys {
            Some(Keys::Ints(k)) => Some(k.iter().map(|&i| i as f64).collect()),
            Some(Keys::Floats(k)) => Some(k.clone()),
            _ => None,
        }
    };
    match input.elem {
        ElemType::F32 | ElemType::F64 | ElemType::I64 | ElemType::I32 => {
            spec.integer = matches!(input.elem, ElemType::I64 | ElemType::I32);
            if let Verdict::Refused(why) = &column.unseen {
                let codes = listed(&column.keys).with_context(|| {
                    format!(
                        "the graph's input {name:?} takes only some numbers ({why}), and no encoder lists them; \
                         write them in a card: [[features]] name = {name:?} choices = [{{ value = …, label = \"…\" }}]"
                    )
                })?;
                spec.choices =
                    Some(codes.into_iter().map(|value| Choice { value, label: value.to_string() }).collect());
            }
        }
        ElemType::String => {
            let Some(Keys::Strings(categories)) = column.keys.clone() else {
                bail!(
                    "the text input {name:?} reaches no encoder that lists its categories; \
                     write them in a card: [[features]] name = {name:?} categories = [\"…\", \"…\"]"
                );
            };
            spec.categories = Some(categories);
            spec.unknown = if column.unseen.accepted() { Policy::Allowed } else { Policy::Rejected };
        }
        other => bail!(
            "the graph's input {name:?} holds {}, which no request can fill; \
             this server feeds float, double, int64 and text inputs",
            other.name()
        ),
    }
    Ok(spec)
}

/// The fixed column count of a `[N, width]` input.
fn width(input: &TensorInfo) -> Option<usize> {
    match input.shape.as_deref()? {
        [_, w] => w.fixed().and_then(|w| usize::try_from(w).ok()),
        _ => None,
    }
}

/// What a card states to describe a model fully without the graph's help.
const COMPLETE: [&str; 4] = ["title", "task", "onnx", "features"];

/// `partial` (a card's TOML) laid over `inferred`: tables merge key by key,
/// features by name (a card that names none of the graph's features, such as
/// names for the columns of a matrix, replaces the list), anything else the
/// card states replaces what was inferred; a complete card (title, task,
/// onnx and features all stated) is taken as written. Then parsed as a card, so a key
/// no card has is still refused.
pub(super) fn merge(inferred: &ModelCard, partial: &str) -> Result<(ModelCard, CardSource)> {
    let stated: Table = toml::from_str(partial).map_err(|e| super::card::toml_error(partial, &e))?;
    let Value::Table(mut base) = Value::try_from(inferred).context("cannot express the inferred card")?
    else {
        bail!("the inferred card is not a table");
    };
    // A card that describes the model fully is taken as written: what it
    // leaves out (a policy, say) is its author's default, not the graph's.
    if COMPLETE.iter().all(|k| stated.contains_key(*k)) {
        return Ok((super::card::parse(partial)?, CardSource::File));
    }
    merge_tables(&mut base, stated);
    let merged = super::card::parse(&toml::to_string(&base).context("cannot write the merged card")?)?;
    Ok((merged, CardSource::Partial))
}

fn merge_tables(base: &mut Table, stated: Table) {
    for (key, value) in stated {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(s)) => merge_tables(b, s),
            (Some(Value::Array(b)), Value::Array(s)) if key == "features" => merge_features(b, s),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn merge_features(base: &mut Vec<Value>, stated: Vec<Value>) {
    let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
    let known: Vec<Option<String>> = base.iter().map(name).collect();
    if !stated.iter().any(|s| known.contains(&name(s))) {
        *base = stated;
        return;
    }
    let mut merged = Vec::with_capacity(base.len().max(stated.len()));
    for s in stated {
        match base.iter().position(|b| name(b).is_some() && name(b) == name(&s)) {
            Some(at) => {
                let Value::Table(mut b) = base.remove(at) else { continue };
                if let Value::Table(s) = s {
                    merge_tables(&mut b, s);
                }
                merged.push(Value::Table(b));
            }
            None => merged.push(s),
        }
    }
    merged.append(base);
    *base = merged;
}

/// A card as `card.toml`, ready to edit.
pub fn to_toml(card: &ModelCard) -> Result<String> {
    let body = toml::to_string_pretty(card).context("cannot write the card as TOML")?;
    Ok(format!(
        "# The card of model {:?}, as served. Save it as models/{}/card.toml and edit it:\n\
         # name the features, give their units, ranges and help, and add example rows.\n\n{body}",
        card.name, card.name
    ))
}
