//! Reading and building tensors of any element type, for the operators here.

use tract_onnx::prelude::*;

/// The elements of `t`, row-major, as `T` (no conversion: the type must match).
pub(crate) fn elements<T: Datum + Clone>(t: &Tensor) -> TractResult<Vec<T>> {
    Ok(t.to_plain_array_view::<T>()?.iter().cloned().collect())
}

/// The elements of `t`, row-major, converted to `T` as tract casts.
pub(crate) fn cast<T: Datum + Clone>(t: &Tensor) -> TractResult<Vec<T>> {
    let converted = t.cast_to::<T>()?;
    elements(&converted)
}

/// A tensor of `shape` holding `data`, row-major.
pub(crate) fn tensor_of<T: Datum>(shape: &[usize], data: Vec<T>) -> TractResult<Tensor> {
    Ok(tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into())
}

/// A float attribute given either as floats or (ai.onnx.ml opset 3) as a tensor.
pub(crate) fn floats(
    ctx: &tract_onnx::model::ParsingContext<'_>,
    node: &tract_onnx::pb::NodeProto,
    name: &str,
) -> TractResult<Option<Vec<f32>>> {
    if let Some(v) = node.get_attr_opt_vec::<f32>(name)? {
        return Ok(Some(v));
    }
    let tensor_name = format!("{name}_as_tensor");
    match node.get_attr_opt::<&tract_onnx::pb::TensorProto>(&tensor_name)? {
        Some(proto) => {
            let t = ctx.load_tensor(proto)?;
            let t = t.cast_to::<f32>()?;
            Ok(Some(t.to_plain_array_view::<f32>()?.iter().copied().collect()))
        }
        None => Ok(None),
    }
}
