//! A direct evaluator for the graphs most tabular models optimize to: one
//! float matrix in, elementwise arithmetic with constants (a scaler, a
//! normalizer), row sums, and a linear model or tree ensemble; run on plain
//! vectors. Tract's plan allocates a tensor per node and walks a generic
//! session per run, which on a few rows costs more than all the arithmetic
//! (4–5 µs of a 20 µs `/predict`, measured); here a run is a few loops.
//!
//! Built from tract's optimized graph, node for node, so it computes what
//! tract computes; a graph with any node it does not know runs on tract, and
//! its caller should keep it only where it agrees with tract on probe rows
//! (the API's `Graph::load` checks 64).

use std::collections::HashMap;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_core::ops::source::TypedSource;
use tract_onnx::tract_hir::internal::DimLike;

/// The evaluator: steps in graph order, each writing one new matrix.
#[derive(Debug, Clone)]
pub struct Direct {
    width: usize,
    steps: Vec<Step>,
    /// The matrix holding the served output.
    output: usize,
}

#[derive(Debug, Clone, Copy)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

#[derive(Debug, Clone, Copy)]
enum Unary {
    Abs,
    Recip,
    Neg,
}

#[derive(Debug, Clone)]
enum Step {
    Binary { op: Binary, a: Value, b: Value, width: usize },
    Unary { op: Unary, a: usize, width: usize },
    SumRow { a: usize, width: usize },
    LinearClassifier { a: usize, op: crate::LinearClassifier },
    LinearRegressor { a: usize, op: crate::LinearRegressor },
    TreeClassifier { a: usize, width: usize, op: crate::TreeClassifier },
    TreeRegressor { a: usize, width: usize, op: crate::TreeRegressor },
}

/// An outlet of the graph, and an operand of a step: a matrix computed
/// earlier, `rows × width` (as an operand, a width of 1 broadcasts across
/// the columns), or a constant row (one value, or one per column).
#[derive(Debug, Clone)]
enum Value {
    Matrix { index: usize, width: usize },
    Constant(Vec<f32>),
}

impl Direct {
    /// The evaluator for `typed` (optimized, one output, its batch axis
    /// first), or `None` when it has a node this evaluator does not know.
    pub fn build(typed: &TypedModel) -> Option<Self> {
        let [input] = typed.input_outlets().ok()? else { return None };
        let [output] = typed.output_outlets().ok()? else { return None };
        let width = matrix_width(typed, *input)?;
        let mut values: HashMap<OutletId, Value> = HashMap::new();
        let mut steps = Vec::new();
        for id in typed.eval_order().ok()? {
            let node = typed.node(id);
            let inputs: Vec<Value> =
                node.inputs.iter().map(|o| values.get(o).cloned()).collect::<Option<_>>()?;
            let out_width = |slot: usize| matrix_width(typed, OutletId::new(id, slot));
            // The matrix the next step writes: the input is matrix 0.
            let next = steps.len() + 1;
            let produced: Vec<(usize, Value)> = if node.op_as::<TypedSource>().is_some() {
                (node.id == input.node).then_some(())?;
                vec![(0, Value::Matrix { index: 0, width })]
            } else if let Some(konst) = node.op_as::<Const>() {
                let tensor = konst.val();
                (tensor.datum_type() == f32::datum_type()
                    && tensor.shape().iter().rev().skip(1).all(|d| *d == 1))
                .then_some(())?;
                vec![(
                    0,
                    Value::Constant(tensor.to_plain_array_view::<f32>().ok()?.iter().copied().collect()),
                )]
            } else if let Some(bin) = node.op_as::<TypedBinOp>() {
                // A set output type means quantized arithmetic.
                bin.1.is_none().then_some(())?;
                let op = match bin.0.name() {
                    "Add" => Binary::Add,
                    "Sub" => Binary::Sub,
                    "Mul" => Binary::Mul,
                    "Div" => Binary::Div,
                    "Max" => Binary::Max,
                    "Min" => Binary::Min,
                    _ => return None,
                };
                let width = out_width(0)?;
                let [a, b] = [&inputs[0], &inputs[1]].map(|v| operand(v, width));
                steps.push(Step::Binary { op, a: a?, b: b?, width });
                vec![(0, Value::Matrix { index: next, width })]
            } else if let Some(ew) = node.op_as::<ElementWiseOp>() {
                ew.1.is_none().then_some(())?;
                let op = match ew.0.name().as_ref() {
                    "Abs" => Unary::Abs,
                    "Recip" => Unary::Recip,
                    "Neg" => Unary::Neg,
                    _ => return None,
                };
                let (a, width) = full_matrix(&inputs[0], out_width(0)?)?;
                steps.push(Step::Unary { op, a, width });
                vec![(0, Value::Matrix { index: next, width })]
            } else if let Some(reduce) = node.op_as::<Reduce>() {
                (matches!(reduce.reducer, Reducer::Sum)
                    && reduce.axes.as_slice() == [1]
                    && out_width(0)? == 1)
                    .then_some(())?;
                let Value::Matrix { index: a, width } = inputs[0] else { return None };
                steps.push(Step::SumRow { a, width });
                vec![(0, Value::Matrix { index: next, width: 1 })]
            } else if let Some(op) = node.op_as::<crate::LinearClassifier>() {
                let (a, _) = full_matrix(&inputs[0], op.weights().features())?;
                steps.push(Step::LinearClassifier { a, op: op.clone() });
                // Output 0, the labels, is left out: nothing may read it.
                vec![(1, Value::Matrix { index: next, width: out_width(1)? })]
            } else if let Some(op) = node.op_as::<crate::LinearRegressor>() {
                let (a, _) = full_matrix(&inputs[0], op.weights().features())?;
                steps.push(Step::LinearRegressor { a, op: op.clone() });
                vec![(0, Value::Matrix { index: next, width: out_width(0)? })]
            } else if let Some(op) = node.op_as::<crate::TreeClassifier>() {
                let Value::Matrix { index: a, width } = inputs[0] else { return None };
                (width >= op.ensemble().n_features()).then_some(())?;
                steps.push(Step::TreeClassifier { a, width, op: op.clone() });
                vec![(1, Value::Matrix { index: next, width: out_width(1)? })]
            } else if let Some(op) = node.op_as::<crate::TreeRegressor>() {
                let Value::Matrix { index: a, width } = inputs[0] else { return None };
                (width >= op.ensemble().n_features()).then_some(())?;
                steps.push(Step::TreeRegressor { a, width, op: op.clone() });
                vec![(0, Value::Matrix { index: next, width: out_width(0)? })]
            } else {
                return None;
            };
            for (slot, value) in produced {
                values.insert(OutletId::new(id, slot), value);
            }
        }
        let Value::Matrix { index: output, .. } = values.get(output)? else { return None };
        Some(Self { width, steps, output: *output })
    }

    /// The served output for `rows` row-major rows of the input's width.
    pub fn run(&self, input: Vec<f32>, rows: usize) -> Vec<f32> {
        debug_assert_eq!(input.len(), rows * self.width);
        let mut matrices: Vec<Vec<f32>> = Vec::with_capacity(self.steps.len() + 1);
        matrices.push(input);
        for step in &self.steps {
            let out = match step {
                Step::Binary { op, a, b, width } => binary(*op, &matrices, a, b, rows, *width),
                Step::Unary { op, a, width } => {
                    let f: fn(f32) -> f32 = match op {
                        Unary::Abs => f32::abs,
                        Unary::Recip => f32::recip,
                        Unary::Neg => |x: f32| -x,
                    };
                    matrices[*a][..rows * width].iter().map(|x| f(*x)).collect()
                }
                Step::SumRow { a, width } => {
                    matrices[*a].chunks_exact(*width).map(|row| row.iter().sum()).collect()
                }
                Step::LinearClassifier { a, op } => op.class_scores(&matrices[*a]),
                Step::LinearRegressor { a, op } => op.values(&matrices[*a]),
                Step::TreeClassifier { a, width, op } => op.class_scores(&matrices[*a], rows, *width),
                Step::TreeRegressor { a, width, op } => op.values(&matrices[*a], rows, *width),
            };
            matrices.push(out);
        }
        matrices.swap_remove(self.output)
    }
}

/// The width of a `[batch, width]` float outlet.
fn matrix_width(typed: &TypedModel, outlet: OutletId) -> Option<usize> {
    let fact = typed.outlet_fact(outlet).ok()?;
    (fact.datum_type == f32::datum_type()).then_some(())?;
    match fact.shape.dims() {
        [batch, width] if batch.to_i64().is_err() => width.to_usize().ok(),
        _ => None,
    }
}

/// `value` as an operand of a step `width` wide, if it broadcasts to it.
fn operand(value: &Value, width: usize) -> Option<Value> {
    let broadcasts = match value {
        Value::Matrix { width: w, .. } => *w == width || *w == 1,
        Value::Constant(c) => c.len() == width || c.len() == 1,
    };
    broadcasts.then(|| value.clone())
}

/// `value` as a computed matrix exactly `width` wide.
fn full_matrix(value: &Value, width: usize) -> Option<(usize, usize)> {
    match value {
        Value::Matrix { index, width: w } if *w == width => Some((*index, width)),
        _ => None,
    }
}

fn binary(op: Binary, matrices: &[Vec<f32>], a: &Value, b: &Value, rows: usize, width: usize) -> Vec<f32> {
    let f: fn(f32, f32) -> f32 = match op {
        Binary::Add => |x: f32, y: f32| x + y,
        Binary::Sub => |x: f32, y: f32| x - y,
        Binary::Mul => |x: f32, y: f32| x * y,
        Binary::Div => |x: f32, y: f32| x / y,
        Binary::Max => f32::max,
        Binary::Min => f32::min,
    };
    let at = |operand: &Value, r: usize, c: usize| match operand {
        Value::Matrix { index, width: 1 } => matrices[*index][r],
        Value::Matrix { index, width: w } => matrices[*index][r * w + c],
        Value::Constant(values) if values.len() == 1 => values[0],
        Value::Constant(values) => values[c],
    };
    let mut out = Vec::with_capacity(rows * width);
    for r in 0..rows {
        for c in 0..width {
            out.push(f(at(a, r, c), at(b, r, c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tract_onnx::tract_core::ops::math;
    use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};

    use super::*;

    /// `[N, 3]` floats in, scaled, L1-normalized as skl2onnx's Normalizer
    /// optimizes to, then `last` applied.
    fn scaler_normalizer(last: Option<Box<dyn TypedOp>>) -> TypedModel {
        let mut model = TypedModel::default();
        let n = model.symbols.sym("N");
        let x = model.add_source("x", f32::fact(tvec![n.to_dim(), 3.to_dim()])).expect("source");
        let mean = model.add_const("mean", tensor2(&[[1f32, -2.0, 0.5]])).expect("const");
        let scale = model.add_const("scale", tensor2(&[[0.5f32, 4.0, 3.0]])).expect("const");
        let x = model.wire_node("sub", math::sub(), &[x, mean]).expect("sub")[0];
        let x = model.wire_node("mul", math::mul(), &[x, scale]).expect("mul")[0];
        let abs = model.wire_node("abs", math::abs(), &[x]).expect("abs")[0];
        let reduce = Reduce::new(tvec![1], Reducer::Sum);
        let sum = model.wire_node("sum", reduce, &[abs]).expect("sum")[0];
        let floor = model.add_const("floor", tensor2(&[[1e-12f32]])).expect("const");
        let sum = model.wire_node("max", math::max(), &[sum, floor]).expect("max")[0];
        let recip = model.wire_node("recip", math::recip(), &[sum]).expect("recip")[0];
        let mut y = model.wire_node("normalize", math::mul(), &[x, recip]).expect("normalize")[0];
        if let Some(op) = last {
            y = model.wire_node("last", op, &[y]).expect("last")[0];
        }
        model.select_output_outlets(&[y]).expect("output");
        model
    }

    fn planned(model: TypedModel, rows: &[f32]) -> Vec<f32> {
        let plan = model.into_runnable().expect("plan");
        let input = tract_ndarray::Array2::from_shape_vec((rows.len() / 3, 3), rows.to_vec()).expect("shape");
        let out = plan.run(tvec!(Tensor::from(input).into())).expect("run");
        out[0].to_plain_array_view::<f32>().expect("f32").iter().copied().collect()
    }

    #[test]
    fn a_scaler_and_a_normalizer_run_directly_with_the_plans_answers() {
        let model = scaler_normalizer(None);
        let rows = [5.1f32, 3.5, 1.4, -0.2, 0.0, 7.25, 1.0, -2.0, 0.5, 1e4, -3e3, 0.01];

        let direct = Direct::build(&model).expect("every node is known");
        let answers = direct.run(rows.to_vec(), 4);

        let expected = planned(model, &rows);
        assert_eq!(answers.len(), 12);
        for (d, p) in answers.iter().zip(&expected) {
            assert!((d - p).abs() <= 1e-6 * p.abs().max(1.0), "{answers:?} against {expected:?}");
        }
    }

    #[test]
    fn a_graph_with_a_node_it_does_not_know_is_left_to_tract() {
        let model = scaler_normalizer(Some(Box::new(math::exp())));

        assert!(Direct::build(&model).is_none());
    }
}
