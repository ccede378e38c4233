//! One ONNX graph loaded with tract, optimized once for a symbolic batch size.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail, ensure};
use api_types::{ModelCard, Signature, Task, TensorSpec};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid};
use tract_onnx::tract_hir::internal::DimLike;

use super::onnx_ml;
use crate::domain::FeatureMatrix;

/// What a graph answers for a batch, protocol-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOutput {
    /// Row-major `rows × classes` probabilities.
    Probabilities {
        /// The values.
        data: Vec<f32>,
        /// Number of classes per row.
        classes: usize,
    },
    /// One value per row.
    Values(Vec<f32>),
}

/// Plan states kept for reuse; more than this are dropped after use.
const POOLED_STATES: usize = 8;

/// A runnable, optimized graph and the one output it serves.
#[derive(Debug)]
pub struct Graph {
    plan: Arc<TypedRunnableModel>,
    /// Ready-made run states: spawning one allocates for every node, which
    /// costs more than running a small model on one row.
    states: Mutex<Vec<TypedSimpleState>>,
    signature: Signature,
    task: Task,
    width: usize,
    classes: usize,
}

impl Graph {
    /// Loads `path`, checks it against `card`, and optimizes it for any batch size.
    ///
    /// Unsupported operators only show up while optimizing, so that happens
    /// here, at start-up, never on a request.
    pub fn load(path: &Path, card: &ModelCard) -> Result<Self> {
        let mut model = onnx_ml::onnx()
            .model_for_path(path)
            .map_err(|e| anyhow!("{e:#}"))
            .context("not a readable ONNX model")?;
        let unsupported = onnx_ml::unsupported_operators(&model);
        ensure!(
            unsupported.is_empty(),
            "the graph uses operators this server does not implement: {}",
            unsupported.join(", ")
        );

        let inputs = model.input_outlets()?.to_vec();
        ensure!(inputs.len() == 1, "the graph has {} inputs; a card describes exactly one", inputs.len());
        let input_name = model.node(inputs[0].node).name.clone();
        ensure!(
            input_name == card.onnx.input,
            "the card's onnx.input is {:?} but the graph's input is {:?}",
            card.onnx.input,
            input_name
        );
        let width = card.features.len();
        let declared = model.input_fact(0)?.shape.clone();
        if let GenericFactoid::Only(rank) = declared.rank() {
            ensure!(rank == 2, "the graph's input has rank {rank}; expected [batch, features]");
        }
        if let Some(cols) =
            declared.dims().nth(1).and_then(|d| d.concretize()).and_then(|d| d.to_usize().ok())
        {
            ensure!(cols == width, "the graph takes {cols} features per row but the card lists {width}");
        }

        let output_names: Vec<String> = model
            .output_outlets()?
            .iter()
            .filter_map(|o| model.outlet_label(*o).map(str::to_owned))
            .collect();
        let served = card.served_output().context("the card names no served output")?.to_owned();
        for wanted in [Some(&served), card.onnx.label_output.as_ref()].into_iter().flatten() {
            ensure!(
                output_names.iter().any(|n| n == wanted),
                "the card names output {wanted:?} but the graph's outputs are {output_names:?}"
            );
        }
        // Serving only one output lets tract prune the rest of the graph (for
        // classifiers, the label branch: the label served is the argmax).
        model.select_outputs_by_name([served.as_str()])?;

        let batch = model.symbols.sym("N");
        model.set_input_fact(0, f32::fact(tvec![TDim::from(batch), TDim::from(width)]).into())?;
        let typed = model
            .into_optimized()
            .map_err(|e| anyhow!("{e:#}"))
            .context("tract cannot run this graph (an operator or shape it does not support)")?;

        let out_fact = typed.output_fact(0)?.clone();
        let out_shape = out_fact.shape.to_tvec();
        let classes = match card.task {
            Task::Classification => {
                ensure!(
                    out_shape.len() == 2,
                    "output {served:?} has rank {}; expected [batch, classes]",
                    out_shape.len()
                );
                let n = out_shape[1]
                    .to_usize()
                    .map_err(|_| anyhow!("output {served:?} has no fixed class count"))?;
                ensure!(
                    n == card.classes.len(),
                    "output {served:?} gives {n} probabilities per row but the card lists {} classes",
                    card.classes.len()
                );
                n
            }
            Task::Regression => {
                let per_row: usize = out_shape.iter().skip(1).map(|d| d.to_usize().unwrap_or(0)).product();
                ensure!(
                    (1..=2).contains(&out_shape.len()) && per_row == 1,
                    "output {served:?} has shape {out_shape:?}; a regressor must give one value per row"
                );
                1
            }
        };
        let signature = Signature {
            input: TensorSpec {
                name: input_name,
                dtype: "float32".to_owned(),
                shape: vec![None, Some(width)],
            },
            output: TensorSpec {
                name: served,
                dtype: dtype_name(out_fact.datum_type),
                shape: out_shape
                    .iter()
                    .enumerate()
                    .map(|(i, d)| if i == 0 { None } else { d.to_usize().ok() })
                    .collect(),
            },
        };
        let plan = typed.into_runnable().map_err(|e| anyhow!("{e:#}")).context("cannot plan the graph")?;
        Ok(Self { plan, states: Mutex::new(Vec::new()), signature, task: card.task, width, classes })
    }

    /// The input and served output as loaded.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Runs the graph on checked rows.
    pub fn run(&self, rows: FeatureMatrix) -> Result<ModelOutput> {
        ensure!(
            rows.cols() == self.width,
            "rows have {} columns, the graph takes {}",
            rows.cols(),
            self.width
        );
        let n = rows.rows();
        let input: Tensor = tract_ndarray::Array2::from_shape_vec((n, self.width), rows.into_values())
            .context("Failed to shape the input tensor")?
            .into();
        let pooled = self.states.lock().ok().and_then(|mut pool| pool.pop());
        let mut state = match pooled {
            Some(state) => state,
            None => self.plan.spawn().map_err(|e| anyhow!("{e:#}")).context("Failed to prepare a run")?,
        };
        let outputs = state
            .run(tvec!(input.into()))
            .map_err(|e| anyhow!("{e:#}"))
            .context("Failed to run the graph")?;
        if let Ok(mut pool) = self.states.lock()
            && pool.len() < POOLED_STATES
        {
            pool.push(state);
        }
        let out = outputs.first().context("the graph returned no output")?;
        let out =
            out.cast_to::<f32>().map_err(|e| anyhow!("{e:#}")).context("Failed to read the output as f32")?;
        let data: Vec<f32> =
            out.to_plain_array_view::<f32>().map_err(|e| anyhow!("{e:#}"))?.iter().copied().collect();
        let expected = n * self.classes;
        if data.len() != expected {
            bail!("the graph returned {} values for {n} rows; expected {expected}", data.len());
        }
        Ok(match self.task {
            Task::Classification => ModelOutput::Probabilities { data, classes: self.classes },
            Task::Regression => ModelOutput::Values(data),
        })
    }
}

fn dtype_name(dt: DatumType) -> String {
    match dt {
        DatumType::F32 => "float32".to_owned(),
        DatumType::F64 => "float64".to_owned(),
        DatumType::I64 => "int64".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}
