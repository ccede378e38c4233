//! Our own implementations of the `ai.onnx.ml` operators scikit-learn exports
//! use and stock tract lacks or gets wrong: `Scaler`, `ZipMap`, and the tree
//! ensembles (classifier and regressor), registered over tract's ONNX op
//! parsers. Also the start-up check that names any operator still missing.

mod ensemble;
mod scaler;
mod trees;
mod zipmap;

use tract_onnx::prelude::*;

/// tract's ONNX loader with our operators registered.
pub fn onnx() -> tract_onnx::Onnx {
    // ZipMap's declared output is a sequence of maps, not a tensor: let
    // inference derive output types from the ops instead.
    let mut onnx = tract_onnx::onnx().with_ignore_output_types(true);
    onnx.op_register.insert("Scaler", scaler::parse);
    onnx.op_register.insert("ZipMap", zipmap::parse);
    onnx.op_register.insert("TreeEnsembleClassifier", trees::parse_classifier);
    onnx.op_register.insert("TreeEnsembleRegressor", trees::parse_regressor);
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
