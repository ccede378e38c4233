//! Tree ensembles: our operators against stock tract-onnx, rows per second at
//! batch 1 and 1,024. The forests come from `bench/trees.py`, which also times
//! onnxruntime on the same files and rows; set `TREE_BENCH_DIR` to its output.

// A benchmark reports to its terminal.
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tract_onnx::prelude::*;

type Plan = TypedRunnableModel;

fn load(onnx: &tract_onnx::Onnx, path: &std::path::Path, width: usize) -> TractResult<std::sync::Arc<Plan>> {
    let mut model = onnx.model_for_path(path)?;
    let n = model.symbols.sym("N");
    model.set_input_fact(0, f32::fact(tvec![TDim::from(n), TDim::from(width)]).into())?;
    model.into_optimized()?.into_runnable()
}

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("TREE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/trees"));
    let Ok(spec) = std::fs::read_to_string(dir.join("rows.json")) else {
        eprintln!("no forests in {}: run bench/trees.py first", dir.display());
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).expect("rows.json");
    let rows: Vec<f32> = spec["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r.as_array().expect("row").iter().map(|v| v.as_f64().expect("f") as f32))
        .collect();
    let width = spec["width"].as_u64().expect("width") as usize;
    let available = rows.len() / width;
    let ours = onnx_ml::onnx();
    let stock = tract_onnx::onnx();
    for model in spec["models"].as_array().expect("models") {
        let name = model.as_str().expect("name");
        let path = dir.join(format!("{name}.onnx"));
        for batch in [1usize, 1024] {
            let batch = batch.min(available);
            let input = Tensor::from_shape(&[batch, width], &rows[..batch * width]).expect("tensor");
            let mut group = c.benchmark_group(format!("{name}/batch {batch}"));
            group.throughput(Throughput::Elements(batch as u64));
            // Stock tract takes up to a second per row-batch call: flat sampling, ten calls.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
            // Stock tract scores rows one at a time, milliseconds each on these
            // forests: its batch-1 rate is its rate; a 1,024-row call would take minutes.
            let engines: &[(&str, &tract_onnx::Onnx)] =
                if batch == 1 { &[("ours", &ours), ("stock tract", &stock)] } else { &[("ours", &ours)] };
            for &(engine, onnx) in engines {
                match load(onnx, &path, width) {
                    Ok(plan) => {
                        group.bench_function(engine, |b| {
                            b.iter(|| plan.run(tvec!(black_box(input.clone()).into())).expect("runs"))
                        });
                    }
                    Err(err) => eprintln!("{name}: {engine} cannot load it: {err:#}"),
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
