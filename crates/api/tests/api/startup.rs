//! Loading the models directory: the shipped models, and every way a model can be refused.

use std::fs;
use std::path::Path;

use api::repository::Registry;
use api_types::ModelCard;
use tempfile::TempDir;

use crate::helpers::models_dir;

/// A models dir holding a copy of the shipped `iris`, with `edit` applied to its card.
fn iris_copy(edit: impl FnOnce(&mut ModelCard)) -> TempDir {
    let tmp = TempDir::new().expect("temp dir");
    let dir = tmp.path().join("iris");
    fs::create_dir(&dir).expect("mkdir");
    let src = models_dir().join("iris");
    fs::copy(src.join("model.onnx"), dir.join("model.onnx")).expect("copy model");
    let mut card: ModelCard =
        toml::from_str(&fs::read_to_string(src.join("card.toml")).expect("card")).expect("parse card");
    edit(&mut card);
    fs::write(dir.join("card.toml"), toml::to_string(&card).expect("serialize card")).expect("write card");
    tmp
}

fn load_error(dir: &Path) -> String {
    format!("{:#}", Registry::load(dir, "iris").expect_err("loading should fail"))
}

#[test]
fn the_shipped_models_load() {
    let registry = Registry::load(&models_dir(), "iris").expect("shipped models load");
    assert_eq!(
        registry.names(),
        ["cancer", "cars", "diabetes", "diabetes-trees", "iris", "penguins", "wine"]
    );
}

#[test]
fn a_corrupt_onnx_file_fails_naming_the_file() {
    let tmp = iris_copy(|_| {});
    fs::write(tmp.path().join("iris/model.onnx"), b"this is not protobuf").expect("write");

    let err = load_error(tmp.path());

    assert!(err.contains("iris/model.onnx"), "{err}");
    assert!(err.contains("not a readable ONNX model"), "{err}");
}

#[test]
fn a_card_with_fewer_features_than_the_graph_fails_naming_the_mismatch() {
    let tmp = iris_copy(|card| {
        card.features.pop();
        for example in &mut card.examples {
            example.values.shift_remove("petal_width");
        }
    });

    let err = load_error(tmp.path());

    assert!(err.contains("iris/model.onnx does not match"), "{err}");
    assert!(err.contains("the graph takes 4 features per row but the card lists 3"), "{err}");
}

#[test]
fn a_card_with_the_wrong_class_count_fails_naming_the_mismatch() {
    let tmp = iris_copy(|card| card.classes.push("daisy".to_owned()));

    let err = load_error(tmp.path());

    assert!(err.contains("gives 3 probabilities per row but the card lists 4 classes"), "{err}");
}

#[test]
fn a_card_naming_a_missing_output_fails_listing_the_real_ones() {
    let tmp = iris_copy(|card| card.onnx.probabilities_output = Some("probs".to_owned()));

    let err = load_error(tmp.path());

    assert!(
        err.contains(r#"names output "probs" but the graph's outputs are ["label", "probabilities"]"#),
        "{err}"
    );
}

#[test]
fn a_card_with_a_wrong_input_name_fails() {
    let tmp = iris_copy(|card| card.onnx.input = Some("features".to_owned()));

    let err = load_error(tmp.path());

    assert!(err.contains(r#"the card's onnx.input is "features" but the graph's input is "input""#), "{err}");
}

#[test]
fn an_invalid_card_fails_naming_the_card_file() {
    let tmp = iris_copy(|card| card.features[0].default = Some(api_types::FeatureValue::Number(99.0)));

    let err = load_error(tmp.path());

    assert!(err.contains("iris/card.toml is not a valid model card"), "{err}");
    assert!(err.contains("default 99 is not an accepted value"), "{err}");
}

#[test]
fn a_card_with_an_unknown_key_fails_naming_the_card_file() {
    let tmp = iris_copy(|_| {});
    let card = tmp.path().join("iris/card.toml");
    let text = fs::read_to_string(&card).expect("card");
    fs::write(&card, format!("colour = \"blue\"\n{text}")).expect("write");

    let err = load_error(tmp.path());

    assert!(err.contains("iris/card.toml is not a valid model card"), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn a_missing_models_dir_fails_naming_it() {
    let err = load_error(Path::new("/no/such/models"));

    assert!(err.contains("Failed to read the models directory /no/such/models"), "{err}");
}

#[test]
fn a_models_dir_without_models_fails() {
    let tmp = TempDir::new().expect("temp dir");

    let err = load_error(tmp.path());

    assert!(err.contains("holds no model"), "{err}");
}

#[test]
fn a_missing_default_model_fails_listing_the_available_ones() {
    let err = format!("{:#}", Registry::load(&models_dir(), "tulip").expect_err("no tulip"));

    assert!(err.contains(r#"the default model "tulip" is not in"#), "{err}");
    assert!(err.contains("available: cancer, cars, diabetes, diabetes-trees, iris, penguins, wine"), "{err}");
}

#[test]
fn a_model_file_without_a_card_is_served_from_what_its_graph_declares() {
    let tmp = iris_copy(|_| {});
    fs::remove_file(tmp.path().join("iris/card.toml")).expect("rm");

    let registry = Registry::load(tmp.path(), "iris").expect("a cardless model loads");

    let model = registry.get("iris").expect("iris");
    assert_eq!(model.status().card_source, api_types::CardSource::Inferred);
    assert_eq!(model.card().classes, ["0", "1", "2"], "the classifier's own labels");
    let names: Vec<&str> = model.card().features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f0", "f1", "f2", "f3"], "the columns of its one matrix input");
    assert!(model.card().features.iter().all(|f| f.min.is_none() && f.max.is_none()), "no ranges");
}

/// The shipped iris graph, decoded, to be broken in one way.
fn iris_graph() -> tract_onnx::pb::ModelProto {
    let bytes = fs::read(models_dir().join("iris/model.onnx")).expect("iris model");
    prost::Message::decode(bytes.as_slice()).expect("iris decodes")
}

fn with_graph(graph: &tract_onnx::pb::ModelProto) -> TempDir {
    let tmp = iris_copy(|_| {});
    fs::write(tmp.path().join("iris/model.onnx"), prost::Message::encode_to_vec(graph)).expect("write");
    tmp
}

#[test]
fn a_truncated_onnx_file_fails_naming_the_file() {
    let tmp = iris_copy(|_| {});
    let bytes = fs::read(models_dir().join("iris/model.onnx")).expect("iris model");
    fs::write(tmp.path().join("iris/model.onnx"), &bytes[..bytes.len() / 2]).expect("write");

    let err = load_error(tmp.path());

    assert!(err.contains("iris/model.onnx") && err.contains("not a readable ONNX model"), "{err}");
}

#[test]
fn an_unknown_operator_is_refused_by_name() {
    let mut graph = iris_graph();
    graph.graph.as_mut().expect("graph").node[0].op_type = "Frobnicate".to_owned();

    let err = load_error(with_graph(&graph).path());

    assert!(err.contains("iris/model.onnx") && err.contains("Frobnicate"), "{err}");
}

#[test]
fn a_graph_with_a_cycle_is_refused() {
    let mut graph = iris_graph();
    let nodes = &mut graph.graph.as_mut().expect("graph").node;
    let last_output = nodes.last().expect("nodes").output[0].clone();
    nodes[0].input[0] = last_output;

    let err = load_error(with_graph(&graph).path());

    assert!(err.contains("iris/model.onnx"), "{err}");
}

#[test]
fn a_tensor_claiming_two_gigabytes_is_refused_before_anything_is_allocated() {
    for raw_data in [vec![0; 4], Vec::new()] {
        let mut graph = iris_graph();
        let huge = tract_onnx::pb::TensorProto {
            name: "huge".to_owned(),
            dims: vec![1 << 31, 1],
            data_type: tract_onnx::pb::tensor_proto::DataType::Float as i32,
            raw_data,
            ..Default::default()
        };
        graph.graph.as_mut().expect("graph").initializer.push(huge);

        let err = load_error(with_graph(&graph).path());

        assert!(err.contains("iris/model.onnx") && err.contains("2147483648"), "{err}");
    }
}
