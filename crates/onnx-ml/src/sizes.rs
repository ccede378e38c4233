//! The sizes an ONNX file declares for its tensors (initializers and
//! constant attributes), checked against the data it holds before anything
//! is built from them: a shape is only a claim, and a file that claims
//! gigabytes it does not hold is refused with the tensor named.

use anyhow::{Result, bail};
use tract_onnx::pb::{ModelProto, TensorProto, tensor_proto::DataType};

/// Refuses the first tensor whose shape does not match the data it carries.
pub fn check_tensor_sizes(proto: &ModelProto) -> Result<()> {
    let Some(graph) = proto.graph.as_ref() else { return Ok(()) };
    let attributes = graph.node.iter().flat_map(|n| &n.attribute);
    let tensors = graph
        .initializer
        .iter()
        .chain(attributes.clone().filter_map(|a| a.t.as_ref()))
        .chain(attributes.flat_map(|a| &a.tensors));
    for tensor in tensors {
        check(tensor)?;
    }
    Ok(())
}

fn check(t: &TensorProto) -> Result<()> {
    // Data kept outside the file is tract's to refuse; there is nothing here to compare.
    if t.data_location == Some(1) {
        return Ok(());
    }
    let mut elements: u64 = 1;
    for &d in &t.dims {
        let Ok(d) = u64::try_from(d) else { bail!("tensor {:?} has a negative dimension {d}", t.name) };
        let Some(product) = elements.checked_mul(d) else {
            bail!("tensor {:?} declares shape {:?}, more elements than can exist", t.name, t.dims)
        };
        elements = product;
    }
    let kind = DataType::try_from(t.data_type).ok();
    let width: Option<u64> = match kind {
        Some(DataType::Uint8 | DataType::Int8 | DataType::Bool) => Some(1),
        Some(DataType::Uint16 | DataType::Int16 | DataType::Float16 | DataType::Bfloat16) => Some(2),
        Some(DataType::Float | DataType::Int32 | DataType::Uint32) => Some(4),
        Some(DataType::Double | DataType::Int64 | DataType::Uint64 | DataType::Complex64) => Some(8),
        Some(DataType::Complex128) => Some(16),
        _ => None,
    };
    let held: u64 = if !t.raw_data.is_empty() {
        let Some(width) = width else { return Ok(()) };
        (t.raw_data.len() as u64) / width
    } else {
        let typed = [
            t.float_data.len(),
            t.int32_data.len(),
            t.string_data.len(),
            t.int64_data.len(),
            t.double_data.len(),
            t.uint64_data.len(),
        ];
        typed.iter().map(|&n| n as u64).sum()
    };
    let declared = match kind {
        // Complex numbers are stored as two floats each.
        Some(DataType::Complex64 | DataType::Complex128) if t.raw_data.is_empty() => {
            elements.saturating_mul(2)
        }
        _ => elements,
    };
    if held != declared {
        let size = width.map_or(String::new(), |w| format!(" ({} bytes)", elements.saturating_mul(w)));
        bail!("tensor {:?} declares shape {:?}{size} but holds {held} element(s)", t.name, t.dims);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(dims: Vec<i64>, raw: usize) -> TensorProto {
        TensorProto {
            name: "w".to_owned(),
            dims,
            data_type: DataType::Float as i32,
            raw_data: vec![0; raw],
            ..Default::default()
        }
    }

    #[test]
    fn a_tensor_holding_what_its_shape_says_passes() {
        assert!(check(&floats(vec![2, 3], 24)).is_ok());
        let typed = TensorProto {
            dims: vec![2],
            data_type: DataType::Int64 as i32,
            int64_data: vec![1, 2],
            ..Default::default()
        };
        assert!(check(&typed).is_ok());
        let scalar =
            TensorProto { data_type: DataType::Float as i32, float_data: vec![1.0], ..Default::default() };
        assert!(check(&scalar).is_ok());
    }

    #[test]
    fn a_shape_larger_than_the_data_is_refused_naming_the_tensor() {
        let err = check(&floats(vec![1 << 31, 1], 4)).expect_err("refused").to_string();
        assert!(
            err.contains("\"w\"") && err.contains("2147483648") && err.contains("8589934592 bytes"),
            "{err}"
        );
        assert!(check(&floats(vec![1 << 40, 1 << 40], 0)).is_err(), "overflowing products are refused");
        assert!(check(&floats(vec![-1, 4], 16)).is_err(), "negative dimensions are refused");
    }
}
