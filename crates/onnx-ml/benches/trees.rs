//! Tree ensembles: our operators against stock tract-onnx, rows per second at
//! batch 1, 1,024 and 10,000, and how long a forest takes to load. The
//! forests come from `bench/trees.py`, which also times onnxruntime on the
//! same files and rows; set `TREE_BENCH_DIR` to its output.

// A benchmark reports to its terminal.
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use tract_onnx::prelude::*;

type Plan = TypedRunnableModel;

fn load(onnx: &tract_onnx::Onnx, path: &Path, width: usize) -> TractResult<std::sync::Arc<Plan>> {
    let mut model = onnx.model_for_path(path)?;
    let n = model.symbols.sym("N");
    model.set_input_fact(0, f32::fact(tvec![TDim::from(n), TDim::from(width)]).into())?;
    model.into_optimized()?.into_runnable()
}

/// Rows as floats, JSON null read as a missing value (NaN).
fn floats(rows: &Value) -> Vec<f32> {
    rows.as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r.as_array().expect("row").iter().map(|v| v.as_f64().map_or(f32::NAN, |f| f as f32)))
        .collect()
}

/// Stops the benchmark if our scores differ from onnxruntime's: a fast wrong
/// answer is not a result.
fn check(name: &str, plan: &std::sync::Arc<Plan>, rows: &[f32], width: usize, expected: &Value) {
    let n = expected.as_array().expect("expected rows").len();
    let expected = floats(expected);
    let input = Tensor::from_shape(&[n, width], &rows[..n * width]).expect("tensor");
    let out = plan.run(tvec!(input.into())).expect("runs");
    let ours = out[1].to_plain_array_view::<f32>().expect("scores");
    let worst = ours.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "{name}: our scores differ from onnxruntime's by {worst}");
    eprintln!("{name}: {n} rows match onnxruntime (largest difference {worst:e})");
}

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("TREE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/trees"));
    let Ok(spec) = std::fs::read_to_string(dir.join("rows.json")) else {
        eprintln!("no forests in {}: run bench/trees.py first", dir.display());
        return;
    };
    let spec: Value = serde_json::from_str(&spec).expect("rows.json");
    let width = spec["width"].as_u64().expect("width") as usize;
    let ours = onnx_ml::onnx();
    let stock = tract_onnx::onnx();
    for model in spec["models"].as_array().expect("models") {
        let name = model["name"].as_str().expect("name");
        let rows = floats(&spec["rows"][model["rows"].as_str().expect("row kind")]);
        let available = rows.len() / width;
        let path = dir.join(format!("{name}.onnx"));
        let plan = load(&ours, &path, width).expect("our operators load every forest");
        check(name, &plan, &rows, width, &spec["expected"][name]);

        // Reading, checking and optimizing the graph: what start-up pays per model.
        let mut group = c.benchmark_group(format!("{name}/load"));
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
        group.bench_function("ours", |b| b.iter(|| load(&ours, black_box(&path), width).expect("loads")));
        group.finish();

        for batch in [1usize, 1024, 10_000] {
            let batch = batch.min(available);
            // One row per call goes through the first 1,024 rows in turn, as a
            // server's single-row requests would: the same row every call would
            // let the processor learn its path through every tree.
            let inputs: Vec<Tensor> = if batch == 1 {
                rows.chunks_exact(width)
                    .take(1024)
                    .map(|row| Tensor::from_shape(&[1, width], row).expect("tensor"))
                    .collect()
            } else {
                vec![Tensor::from_shape(&[batch, width], &rows[..batch * width]).expect("tensor")]
            };
            let input = &inputs[0];
            let mut group = c.benchmark_group(format!("{name}/batch {batch}"));
            group.throughput(Throughput::Elements(batch as u64));
            // Stock tract takes up to a second per row-batch call: flat sampling, ten calls.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
            let mut turn = 0;
            group.bench_function("ours", |b| {
                b.iter(|| {
                    turn = (turn + 1) % inputs.len();
                    plan.run(tvec!(black_box(inputs[turn].clone()).into())).expect("runs")
                })
            });
            // Stock tract scores rows one at a time, milliseconds each on these
            // forests: its batch-1 rate is its rate; a 1,024-row call would take minutes.
            if batch == 1 {
                match load(&stock, &path, width) {
                    Ok(stock) => {
                        group.bench_function("stock tract", |b| {
                            b.iter(|| stock.run(tvec!(black_box(input.clone()).into())).expect("runs"))
                        });
                    }
                    Err(err) => eprintln!("{name}: stock tract cannot load it: {err:#}"),
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
