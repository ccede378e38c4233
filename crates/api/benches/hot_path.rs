//! The request hot path, piece by piece, on the shipped iris model: body
//! parse + validation, inference, response serialization, for 1 and 1,000 rows.

use std::hint::black_box;
use std::path::PathBuf;

use api::input::json_v1;
use api::repository::Registry;
use api::routes::{batch_answer, single_answer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let registry = Registry::load(&models, "iris").expect("the shipped models load");
    let model = registry.default_model().expect("the default model loads").clone();
    let row = json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2});
    let one = serde_json::to_vec(&row).expect("json");
    let many = serde_json::to_vec(&json!({"instances": vec![row; 1000]})).expect("json");

    for (label, rows, body) in [("1 row", 1usize, &one), ("1000 rows", 1000, &many)] {
        let mut group = c.benchmark_group(format!("iris {label}"));
        group.throughput(Throughput::Elements(rows as u64));
        let parse = |body: &[u8]| {
            if rows == 1 {
                json_v1::parse_instance(model.schema(), body).expect("valid")
            } else {
                json_v1::parse_batch(model.schema(), body, 10_000).expect("valid")
            }
        };
        group.bench_function("parse and validate", |b| b.iter(|| parse(black_box(body))));
        let matrix = parse(body);
        group.bench_function("inference", |b| {
            b.iter(|| model.graph().run(black_box(matrix.clone())).expect("runs"))
        });
        let output = model.graph().run(matrix).expect("runs");
        group.bench_function("serialize response", |b| {
            b.iter(|| {
                let output = black_box(&output);
                if rows == 1 {
                    serde_json::to_vec(&single_answer(&model, output))
                } else {
                    serde_json::to_vec(&batch_answer(&model, output))
                }
                .expect("serializable")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
