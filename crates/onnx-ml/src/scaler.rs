//! `Scaler`: `(x - offset) * scale`, per feature or for all, wired as tract's
//! own subtraction and multiplication so the optimizer can fuse them.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::{cast::cast, math};
use tract_onnx::tract_hir::internal::*;

/// `(x - offset) * scale`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

pub(crate) fn parse(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset = node.get_attr_opt_vec::<f32>("offset")?.unwrap_or_else(|| vec![0.0]);
    let scale = node.get_attr_opt_vec::<f32>("scale")?.unwrap_or_else(|| vec![1.0]);
    ensure!(!offset.is_empty() && !scale.is_empty(), "offset and scale must not be empty");
    Ok((expand(Scaler { offset, scale }), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        let rank = fact.rank();
        ensure!(rank >= 1, "Scaler takes a tensor of rank 1 or more");
        let mut x = inputs[0];
        if fact.datum_type != f32::datum_type() {
            x = model.wire_node(format!("{prefix}.cast"), cast(f32::datum_type()), &[x])?[0];
        }
        let per_feature = |values: &[f32]| -> TractResult<Arc<Tensor>> {
            let mut shape = vec![1; rank];
            shape[rank - 1] = values.len();
            Ok(Tensor::from_shape(&shape, values)?.into_arc_tensor())
        };
        let offset = model.add_const(format!("{prefix}.offset"), per_feature(&self.offset)?)?;
        let shifted = model.wire_node(format!("{prefix}.sub"), math::sub(), &[x, offset])?[0];
        let scale = model.add_const(format!("{prefix}.scale"), per_feature(&self.scale)?)?;
        model.wire_node(format!("{prefix}.mul"), math::mul(), &[shifted, scale])
    }
}
