//! The class labels a classifier names, in score-column order: one type for
//! reading a graph's signature and for the operators that answer with them.

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// The classes a classifier names, in score-column order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClassLabels {
    /// `classlabels_strings`.
    Strings(Vec<String>),
    /// `classlabels_int64s` (or `classlabels_ints`).
    Ints(Vec<i64>),
}

impl ClassLabels {
    /// The labels of `node`: `classlabels_strings`, or the integer labels
    /// under whichever of `int_attributes` it sets (tree ensembles and ZipMap
    /// say `classlabels_int64s`, linear and SVM classifiers `classlabels_ints`).
    /// `Ok(None)` when it names none; an error when it names both.
    pub(crate) fn of_node(node: &NodeProto, int_attributes: &[&str]) -> TractResult<Option<Self>> {
        let strings = node.get_attr_opt_vec::<String>("classlabels_strings")?.filter(|s| !s.is_empty());
        let mut ints = None;
        for name in int_attributes {
            if let Some(found) = node.get_attr_opt_vec::<i64>(name)?.filter(|i| !i.is_empty()) {
                ints = Some(found);
                break;
            }
        }
        match (strings, ints) {
            (Some(_), Some(_)) => bail!("a classifier must name its classes once, as strings or as integers"),
            (Some(s), None) => Ok(Some(Self::Strings(s))),
            (None, Some(i)) => Ok(Some(Self::Ints(i))),
            (None, None) => Ok(None),
        }
    }

    /// The labels as text.
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::Strings(s) => s.clone(),
            Self::Ints(i) => i.iter().map(ToString::to_string).collect(),
        }
    }

    /// How many classes.
    pub fn len(&self) -> usize {
        match self {
            Self::Strings(s) => s.len(),
            Self::Ints(i) => i.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type of a label tensor.
    pub(crate) fn datum_type(&self) -> DatumType {
        match self {
            Self::Ints(_) => i64::datum_type(),
            Self::Strings(_) => String::datum_type(),
        }
    }

    /// The labels at `indices`, as a `[len]` tensor.
    pub(crate) fn tensor(&self, indices: &[usize]) -> TractResult<Tensor> {
        Ok(match self {
            Self::Ints(v) => tensor1(&indices.iter().map(|&i| v[i]).collect::<Vec<_>>()),
            Self::Strings(v) => tensor1(&indices.iter().map(|&i| v[i].clone()).collect::<Vec<_>>()),
        })
    }
}
