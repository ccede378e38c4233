//! The encoders and imputers of scikit-learn's DataFrame pipelines, as
//! onnxruntime runs them: `OneHotEncoder`, `LabelEncoder` (opset 2's
//! attributes), `Imputer`, `Binarizer` and `FeatureVectorizer`. Text tensors
//! in and out where the graph needs them.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use crate::tensors::{cast, elements, floats, tensor_of};

/// Implements tract's op traits for a one-output operator whose evaluation
/// is `self.apply(&inputs)` and whose output fact is `self.fact(&inputs)`.
macro_rules! one_output_op {
    ($op:ty, $name:literal) => {
        impl Op for $op {
            fn name(&self) -> StaticName {
                $name.into()
            }

            op_as_typed_op!();
        }

        impl EvalOp for $op {
            op_out_of_plan!();

            fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
                Ok(tvec!(self.apply(&inputs)?.into_tvalue()))
            }
        }

        impl TypedOp for $op {
            fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
                Ok(tvec!(self.fact(inputs)?))
            }

            as_op!();
        }
    };
}

/// What a text or number key looks like to an encoder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Keys {
    Strings(Vec<String>),
    Ints(Vec<i64>),
}

/// `OneHotEncoder`: one float per category, along a new last axis; an
/// unknown value is all zeros (`zeros = 1`, the default) or an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct OneHotEncoder {
    categories: Keys,
    zeros: bool,
}

pub(crate) fn parse_one_hot(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let categories = match (
        node.get_attr_opt_vec::<String>("cats_strings")?,
        node.get_attr_opt_vec::<i64>("cats_int64s")?,
    ) {
        (Some(s), None) if !s.is_empty() => Keys::Strings(s),
        (None, Some(i)) if !i.is_empty() => Keys::Ints(i),
        _ => bail!("exactly one of cats_strings and cats_int64s must be set, and not empty"),
    };
    let zeros = node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0;
    Ok((expand(OneHotEncoder { categories, zeros }), vec![]))
}

impl OneHotEncoder {
    fn width(&self) -> usize {
        match &self.categories {
            Keys::Strings(s) => s.len(),
            Keys::Ints(i) => i.len(),
        }
    }

    /// The category of each element, `None` where it is unknown.
    fn positions(&self, input: &Tensor) -> TractResult<Vec<Option<usize>>> {
        Ok(match (&self.categories, input.datum_type()) {
            (Keys::Strings(cats), DatumType::String) => {
                let index: HashMap<&str, usize> =
                    cats.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
                input
                    .to_plain_array_view::<String>()?
                    .iter()
                    .map(|s| index.get(s.as_str()).copied())
                    .collect()
            }
            (Keys::Ints(cats), dt) if dt != DatumType::String => {
                let index: HashMap<i64, usize> = cats.iter().enumerate().map(|(i, c)| (*c, i)).collect();
                // onnxruntime truncates numbers to integers; NaN matches nothing.
                let keys: Vec<Option<i64>> = match dt {
                    DatumType::I64 => elements::<i64>(input)?.into_iter().map(Some).collect(),
                    _ => cast::<f64>(input)?
                        .into_iter()
                        .map(|x| (!x.is_nan()).then_some(x.trunc() as i64))
                        .collect(),
                };
                keys.into_iter().map(|k| k.and_then(|k| index.get(&k).copied())).collect()
            }
            (_, dt) => bail!("OneHotEncoder: {dt:?} input does not match its categories"),
        })
    }

    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        let input = &inputs[0];
        let width = self.width();
        let positions = self.positions(input)?;
        let mut out = vec![0f32; positions.len() * width];
        for (i, position) in positions.into_iter().enumerate() {
            match position {
                Some(p) => out[i * width + p] = 1.0,
                None if self.zeros => {}
                None => bail!("OneHotEncoder: unknown category and zeros = 0"),
            }
        }
        let mut shape = input.shape().to_vec();
        shape.push(width);
        tensor_of(&shape, out)
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        shape.push(self.width().to_dim());
        Ok(f32::fact(shape))
    }
}

impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
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
        s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)?;
        let width = self.width();
        s.given(&inputs[0].rank, move |s, rank| {
            for i in 0..rank as usize {
                s.equals(&outputs[0].shape[i], &inputs[0].shape[i])?;
            }
            s.equals(&outputs[0].shape[rank as usize], width.to_dim())
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(OneHotEncoder, "OneHotEncoder");

/// A `LabelEncoder`'s values.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Strings(Vec<String>, String),
    Ints(Vec<i64>, i64),
    Floats(Vec<f32>, f32),
}

/// `LabelEncoder` (ai.onnx.ml opset 2): maps keys (text, integers or
/// floats) to values of another type, a default where no key matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LabelEncoder {
    keys: Keys,
    /// Float keys, kept apart: they compare by value and a NaN key never matches.
    float_keys: Option<Vec<f32>>,
    values: Values,
}

// tract dedupes equal ops; float attributes are compared bit for bit.
impl Eq for LabelEncoder {}

impl std::hash::Hash for LabelEncoder {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.keys.hash(state);
    }
}

pub(crate) fn parse_label_encoder(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (keys, float_keys, n_keys) = if let Some(k) = node.get_attr_opt_vec::<String>("keys_strings")? {
        let n = k.len();
        (Keys::Strings(k), None, n)
    } else if let Some(k) = node.get_attr_opt_vec::<i64>("keys_int64s")? {
        let n = k.len();
        (Keys::Ints(k), None, n)
    } else if let Some(k) = floats(ctx, node, "keys_floats")? {
        let n = k.len();
        (Keys::Ints(vec![]), Some(k), n)
    } else {
        bail!(
            "LabelEncoder: no keys (keys_strings, keys_int64s or keys_floats); keys_tensor is not supported"
        )
    };
    let values = if let Some(v) = node.get_attr_opt_vec::<String>("values_strings")? {
        Values::Strings(
            v,
            node.get_attr_opt::<String>("default_string")?.unwrap_or_else(|| "_Unused".to_owned()),
        )
    } else if let Some(v) = node.get_attr_opt_vec::<i64>("values_int64s")? {
        Values::Ints(v, node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1))
    } else if let Some(v) = floats(ctx, node, "values_floats")? {
        Values::Floats(v, node.get_attr_opt::<f32>("default_float")?.unwrap_or(-0.0))
    } else {
        bail!("LabelEncoder: no values (values_strings, values_int64s or values_floats)")
    };
    let n_values = match &values {
        Values::Strings(v, _) => v.len(),
        Values::Ints(v, _) => v.len(),
        Values::Floats(v, _) => v.len(),
    };
    ensure!(n_keys == n_values, "LabelEncoder: {n_keys} keys but {n_values} values");
    Ok((expand(LabelEncoder { keys, float_keys, values }), vec![]))
}

impl LabelEncoder {
    fn value_type(&self) -> DatumType {
        match self.values {
            Values::Strings(..) => String::datum_type(),
            Values::Ints(..) => i64::datum_type(),
            Values::Floats(..) => f32::datum_type(),
        }
    }

    /// The key index of each element (`None`: the default).
    fn matches(&self, input: &Tensor) -> TractResult<Vec<Option<usize>>> {
        Ok(match (&self.keys, &self.float_keys, input.datum_type()) {
            (_, Some(keys), dt) if dt.is_float() => {
                let x = cast::<f32>(input)?;
                x.into_iter().map(|v| keys.iter().position(|k| *k == v)).collect()
            }
            (Keys::Strings(keys), None, DatumType::String) => {
                let index: HashMap<&str, usize> =
                    keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
                input
                    .to_plain_array_view::<String>()?
                    .iter()
                    .map(|s| index.get(s.as_str()).copied())
                    .collect()
            }
            (Keys::Ints(keys), None, DatumType::I64) => {
                let index: HashMap<i64, usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
                elements::<i64>(input)?.into_iter().map(|k| index.get(&k).copied()).collect()
            }
            (_, _, dt) => bail!("LabelEncoder: {dt:?} input does not match its keys"),
        })
    }

    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        let input = &inputs[0];
        let found = self.matches(input)?;
        let shape = input.shape();
        match &self.values {
            Values::Strings(v, d) => {
                tensor_of(shape, found.iter().map(|m| m.map_or(d, |i| &v[i]).clone()).collect())
            }
            Values::Ints(v, d) => tensor_of(shape, found.iter().map(|m| m.map_or(*d, |i| v[i])).collect()),
            Values::Floats(v, d) => tensor_of(shape, found.iter().map(|m| m.map_or(*d, |i| v[i])).collect()),
        }
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        Ok(self.value_type().fact(inputs[0].shape.clone()))
    }
}

impl Expansion for LabelEncoder {
    fn name(&self) -> StaticName {
        "LabelEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, self.value_type())?;
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(LabelEncoder, "LabelEncoder");

/// `Imputer`: replaces the missing marker (NaN, or a given value) with a
/// value per column, for float or int64 tensors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Imputer {
    values: Imputed,
}

#[derive(Debug, Clone, PartialEq)]
enum Imputed {
    Floats { values: Vec<f32>, replaced: f32 },
    Ints { values: Vec<i64>, replaced: i64 },
}

impl Eq for Imputer {}

impl std::hash::Hash for Imputer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(&self.values).hash(state);
    }
}

pub(crate) fn parse_imputer(
    ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let values = if let Some(values) = floats(ctx, node, "imputed_value_floats")?.filter(|v| !v.is_empty()) {
        // Without a replaced value, onnxruntime replaces 0 (and keeps NaN).
        Imputed::Floats { values, replaced: node.get_attr_opt::<f32>("replaced_value_float")?.unwrap_or(0.0) }
    } else if let Some(values) =
        node.get_attr_opt_vec::<i64>("imputed_value_int64s")?.filter(|v| !v.is_empty())
    {
        Imputed::Ints { values, replaced: node.get_attr_opt::<i64>("replaced_value_int64")?.unwrap_or(0) }
    } else {
        bail!("Imputer: neither imputed_value_floats nor imputed_value_int64s is set")
    };
    Ok((expand(Imputer { values }), vec![]))
}

impl Imputer {
    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        let input = &inputs[0];
        let shape = input.shape().to_vec();
        let stride = match shape.as_slice() {
            [n] => *n,
            [_, w, ..] => *w,
            [] => 1,
        }
        .max(1);
        // onnxruntime uses one value for every column when their count differs from the width.
        let pick = |values_len: usize, i: usize| if values_len == stride { i % stride } else { 0 };
        match &self.values {
            Imputed::Floats { values, replaced } => {
                let x = cast::<f32>(input)?;
                let out = x
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let missing = (v.is_nan() && replaced.is_nan()) || v == *replaced;
                        if missing { values[pick(values.len(), i)] } else { v }
                    })
                    .collect();
                tensor_of(&shape, out)
            }
            Imputed::Ints { values, replaced } => {
                let x = elements::<i64>(input)?;
                let out = x
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| if v == *replaced { values[pick(values.len(), i)] } else { v })
                    .collect();
                tensor_of(&shape, out)
            }
        }
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        let dt = match self.values {
            Imputed::Floats { .. } => f32::datum_type(),
            Imputed::Ints { .. } => i64::datum_type(),
        };
        Ok(dt.fact(inputs[0].shape.clone()))
    }
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        let dt = match self.values {
            Imputed::Floats { .. } => f32::datum_type(),
            Imputed::Ints { .. } => i64::datum_type(),
        };
        s.equals(&outputs[0].datum_type, dt)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(Imputer, "Imputer");

/// `Binarizer`: 1 where the value is above the threshold, else 0, in the input's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Binarizer {
    threshold: f32,
}

impl Eq for Binarizer {}

impl std::hash::Hash for Binarizer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.threshold.to_bits().hash(state);
    }
}

pub(crate) fn parse_binarizer(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    // onnxruntime's default threshold is 0.
    Ok((expand(Binarizer { threshold: node.get_attr_opt::<f32>("threshold")?.unwrap_or(0.0) }), vec![]))
}

impl Binarizer {
    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        let input = &inputs[0];
        let x = cast::<f64>(input)?;
        ensure!(!x.iter().any(|v| v.is_nan()), "Binarizer: input holds NaN");
        let out: Vec<f64> =
            x.into_iter().map(|v| if v > f64::from(self.threshold) { 1.0 } else { 0.0 }).collect();
        Ok(tensor_of(input.shape(), out)?.cast_to_dt(input.datum_type())?.into_owned())
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        Ok(inputs[0].without_value())
    }
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(Binarizer, "Binarizer");

/// `FeatureVectorizer`: concatenates its inputs' rows into one float
/// matrix, each cut or zero-padded to its declared width.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FeatureVectorizer {
    dims: Vec<usize>,
}

pub(crate) fn parse_feature_vectorizer(
    _ctx: &ParsingContext<'_>,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let dims = node.get_attr_opt_vec::<i64>("inputdimensions")?.unwrap_or_default();
    let dims = dims
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| format_err!("negative input dimension")))
        .collect::<TractResult<_>>()?;
    Ok((expand(FeatureVectorizer { dims }), vec![]))
}

impl FeatureVectorizer {
    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        ensure!(
            inputs.len() == self.dims.len(),
            "FeatureVectorizer: {} inputs for {} dimensions",
            inputs.len(),
            self.dims.len()
        );
        let rows = inputs[0].shape().first().copied().unwrap_or(1);
        let width: usize = self.dims.iter().sum();
        let mut out = vec![0f32; rows * width];
        let mut offset = 0;
        for (input, &dim) in inputs.iter().zip(&self.dims) {
            let n = input.shape().first().copied().unwrap_or(1);
            ensure!(n == rows, "FeatureVectorizer: inputs have {rows} and {n} rows");
            let x = cast::<f32>(input)?;
            let per_row = x.len().checked_div(rows).unwrap_or(0);
            for r in 0..rows {
                for c in 0..dim.min(per_row) {
                    out[r * width + offset + c] = x[r * per_row + c];
                }
            }
            offset += dim;
        }
        tensor_of(&[rows, width], out)
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        let rows = inputs[0].shape.iter().next().cloned().unwrap_or_else(|| 1.to_dim());
        Ok(f32::fact([rows, self.dims.iter().sum::<usize>().to_dim()]))
    }
}

impl Expansion for FeatureVectorizer {
    fn name(&self) -> StaticName {
        "FeatureVectorizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.dims.len())?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], self.dims.iter().sum::<usize>().to_dim())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(FeatureVectorizer, "FeatureVectorizer");

/// `ArrayFeatureExtractor`: picks elements of the last axis by index, as
/// onnxruntime does: a scalar index keeps the axis (`[N, 1]`), a rank-1
/// input becomes one row, and a negative or too large index is an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ArrayFeatureExtractor;

pub(crate) fn parse_array_feature_extractor(
    _ctx: &ParsingContext<'_>,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(ArrayFeatureExtractor), vec![]))
}

impl ArrayFeatureExtractor {
    fn apply(&self, inputs: &[TValue]) -> TractResult<Tensor> {
        let (x, indices) = (&inputs[0], cast::<i64>(&inputs[1])?);
        let shape = x.shape();
        let last = *shape.last().unwrap_or(&1);
        let picks: Vec<usize> = indices
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .filter(|i| *i < last)
                    .ok_or_else(|| format_err!("ArrayFeatureExtractor: index {i} is outside 0..{last}"))
            })
            .collect::<TractResult<_>>()?;
        let mut out_shape: Vec<usize> =
            if shape.len() <= 1 { vec![1] } else { shape[..shape.len() - 1].to_vec() };
        out_shape.push(picks.len());
        let outer = shape.iter().rev().skip(1).product::<usize>().max(1);
        fn gather<T: Datum + Clone>(
            x: &Tensor,
            outer: usize,
            last: usize,
            picks: &[usize],
            shape: &[usize],
        ) -> TractResult<Tensor> {
            let values = elements::<T>(x)?;
            let mut out = Vec::with_capacity(outer * picks.len());
            for r in 0..outer {
                out.extend(picks.iter().map(|&p| values[r * last + p].clone()));
            }
            tensor_of(shape, out)
        }
        match x.datum_type() {
            DatumType::F32 => gather::<f32>(x, outer, last, &picks, &out_shape),
            DatumType::F64 => gather::<f64>(x, outer, last, &picks, &out_shape),
            DatumType::I64 => gather::<i64>(x, outer, last, &picks, &out_shape),
            DatumType::I32 => gather::<i32>(x, outer, last, &picks, &out_shape),
            DatumType::String => gather::<String>(x, outer, last, &picks, &out_shape),
            dt => bail!("ArrayFeatureExtractor: {dt:?} input"),
        }
    }

    fn fact(&self, inputs: &[&TypedFact]) -> TractResult<TypedFact> {
        let x = &inputs[0].shape;
        let k: TDim = inputs[1].shape.iter().product();
        let mut shape: TVec<TDim> =
            if x.rank() <= 1 { tvec![1.to_dim()] } else { x.iter().take(x.rank() - 1).cloned().collect() };
        shape.push(k);
        Ok(inputs[0].datum_type.fact(shape))
    }
}

impl Expansion for ArrayFeatureExtractor {
    fn name(&self) -> StaticName {
        "ArrayFeatureExtractor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given(&inputs[0].rank, move |s, rank| {
            let rank = rank as usize;
            if rank <= 1 {
                s.equals(&outputs[0].rank, 2)?;
                s.equals(&outputs[0].shape[0], 1.to_dim())
            } else {
                s.equals(&outputs[0].rank, rank as i64)?;
                for i in 0..rank - 1 {
                    s.equals(&outputs[0].shape[i], &inputs[0].shape[i])?;
                }
                Ok(())
            }
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

one_output_op!(ArrayFeatureExtractor, "ArrayFeatureExtractor");
