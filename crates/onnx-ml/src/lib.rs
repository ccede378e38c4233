//! Our own `ai.onnx.ml` operators for tract, and the reading of an ONNX
//! graph's signature.
//!
//! scikit-learn's exports use operators that stock tract lacks or gets wrong;
//! [`register`] adds our `Scaler`, `ZipMap`, `TreeEnsembleClassifier` and
//! `TreeEnsembleRegressor` to any tract-onnx loader. Each matches
//! onnxruntime, which the zoo test (`tests/zoo.rs`) checks on 60 exports.
//! [`Signature::inspect`] reads what a graph takes and gives — inputs,
//! outputs, class labels, operators — without running or trusting it, and
//! [`unsupported_operators`] names anything nothing implements. The tree
//! ensembles expose their structure ([`TreeEnsemble`]) for explanations.
//!
//! Nothing here knows HTTP, JSON requests or model cards.

mod contract;
mod direct;
mod encoders;
mod ensemble;
mod labels;
mod linear;
mod scaler;
mod signature;
mod sizes;
mod tensors;
mod tree_ensemble5;
mod trees;
mod zipmap;

use tract_onnx::prelude::*;

pub use contract::{ColumnContract, InputContract, Keys, Verdict};
pub use direct::Direct;
pub use ensemble::{Aggregate, Mode, NodeView, PostTransform, TreeEnsemble};
pub use labels::ClassLabels;
pub use linear::{LinearClassifier, LinearRegressor, LinearWeights};
pub use signature::{Dim, ElemType, Signature, TensorInfo};
pub use sizes::check_tensor_sizes;
pub use trees::{TreeClassifier, TreeRegressor};

/// Adds our operators to `onnx`, replacing tract's own where it has one.
pub fn register(onnx: &mut tract_onnx::Onnx) {
    // ZipMap's declared output is a sequence of maps, not a tensor: let
    // inference derive output types from the ops instead.
    onnx.ignore_output_types = true;
    onnx.op_register.insert("Scaler", scaler::parse);
    onnx.op_register.insert("ZipMap", zipmap::parse);
    onnx.op_register.insert("TreeEnsembleClassifier", trees::parse_classifier);
    onnx.op_register.insert("TreeEnsembleRegressor", trees::parse_regressor);
    onnx.op_register.insert("TreeEnsemble", trees::parse_tree_ensemble);
    onnx.op_register.insert("LinearClassifier", linear::parse_classifier);
    onnx.op_register.insert("LinearRegressor", linear::parse_regressor);
    onnx.op_register.insert("OneHotEncoder", encoders::parse_one_hot);
    onnx.op_register.insert("LabelEncoder", encoders::parse_label_encoder);
    onnx.op_register.insert("Imputer", encoders::parse_imputer);
    onnx.op_register.insert("Binarizer", encoders::parse_binarizer);
    onnx.op_register.insert("FeatureVectorizer", encoders::parse_feature_vectorizer);
    onnx.op_register.insert("ArrayFeatureExtractor", encoders::parse_array_feature_extractor);
}

/// tract's ONNX loader with our operators registered.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    register(&mut onnx);
    onnx
}

/// Every operator in `model` that nothing implements, as "`Op` (node `name`)".
pub fn unsupported_operators(model: &InferenceModel) -> Vec<String> {
    model
        .nodes()
        .iter()
        .filter_map(|node| {
            let name = node.op.name();
            name.strip_prefix("Unimplemented(")
                .and_then(|op| op.strip_suffix(')'))
                .map(|op| format!("{op} (node {:?})", node.name))
        })
        .collect()
}
