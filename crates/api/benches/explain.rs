//! Explanation and what-if latency for one row of every shipped model: the
//! prediction (to find the class explained) plus exact SHAP values against
//! the model's background rows, and a what-if sweep of every feature.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use api::explain::what_if;
use api::input::json_v1;
use api::repository::Registry;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let registry = Registry::load(&models, "iris").expect("the shipped models load");
    let mut group = c.benchmark_group("explain one row");
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    for model in registry.models() {
        let name = model.card().name.clone();
        let golden: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(models.join(&name).join("golden.json")).expect("golden.json"),
        )
        .expect("json");
        let body = serde_json::to_vec(&golden["rows"][0]["features"]).expect("json");
        let rows = json_v1::parse_instance(model.schema(), &body).expect("valid");
        let explainer = model.explainer().expect("explainable");
        group.bench_function(format!("{name} ({})", explainer.method().name()), |b| {
            b.iter(|| {
                let output = model.graph().run(rows.clone()).expect("runs");
                let class = output.predicted_classes()[0];
                explainer
                    .explain(model.graph(), model.schema(), black_box(&rows), &[class])
                    .expect("explains")
            })
        });
        let all: Vec<usize> = (0..model.schema().width()).collect();
        group.bench_function(format!("{name} what-if, every feature"), |b| {
            b.iter(|| {
                let output = model.graph().run(rows.clone()).expect("runs");
                let class = output.predicted_classes()[0];
                what_if(
                    explainer,
                    model.graph(),
                    model.schema(),
                    &model.card().features,
                    black_box(&rows),
                    class,
                    &all,
                )
                .expect("sweeps")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
