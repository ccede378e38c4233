//! The Open Inference Protocol (KServe V2) adapter: a request's input
//! tensors — JSON `data`, flat or nested, or binary blobs — become cells,
//! each located as `input 'name' row r feature 'f'`.
//!
//! A model takes its graph's inputs that carry several features by their
//! names (a matrix, `[N, features]`), and one input per feature named by the
//! feature (`[N]` or `[N, 1]`), the way MLServer's pandas codec sends a
//! DataFrame. Every size is checked against
//! the shape, and the shape against the batch limit, before anything is
//! allocated for it; framing (compression, the binary header length) is the
//! route's job.

use api_types::LocPart;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::batch::{Rows, RowsBuilder};
use super::cell::{Cell, Wording};
use super::problems::bounded_key;
use super::schema::FeatureSchema;
use super::{BodyError, Problems};

/// A tensor element type this server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    /// 32-bit float.
    Fp32,
    /// 64-bit float.
    Fp64,
    /// 32-bit integer.
    Int32,
    /// 64-bit integer.
    Int64,
    /// Length-prefixed byte strings (text).
    Bytes,
}

impl Datatype {
    /// Reads a protocol datatype name; anything else is a clear refusal.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "FP32" => Self::Fp32,
            "FP64" => Self::Fp64,
            "INT32" => Self::Int32,
            "INT64" => Self::Int64,
            "BYTES" => Self::Bytes,
            other => {
                let shown: String = other.chars().take(32).collect();
                return Err(format!(
                    "datatype {shown:?} is not accepted; numbers are FP32, FP64, INT32 or INT64, text is BYTES"
                ));
            }
        })
    }

    /// Its protocol name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fp32 => "FP32",
            Self::Fp64 => "FP64",
            Self::Int32 => "INT32",
            Self::Int64 => "INT64",
            Self::Bytes => "BYTES",
        }
    }

    /// Bytes per element in binary form (`None` for BYTES, whose elements vary).
    fn width(self) -> Option<usize> {
        match self {
            Self::Fp32 | Self::Int32 => Some(4),
            Self::Fp64 | Self::Int64 => Some(8),
            Self::Bytes => None,
        }
    }
}

/// Where an input tensor's elements are.
#[derive(Debug, Clone, Copy)]
pub enum TensorData<'a> {
    /// The JSON `data` field, flat or nested, row-major.
    Json(&'a RawValue),
    /// The tensor's binary blob, after the JSON header.
    Binary(&'a [u8]),
}

/// One input tensor of a request, as framed.
#[derive(Debug, Clone, Copy)]
pub struct InputTensor<'a> {
    /// Its name: the graph's matrix input, or a feature.
    pub name: &'a str,
    /// Its shape, as sent (negative dimensions are refused here).
    pub shape: &'a [i64],
    /// Its datatype, as sent.
    pub datatype: &'a str,
    /// Its elements.
    pub data: TensorData<'a>,
}

/// Numbers up to 2^53 convert to a float exactly; larger integers are refused.
const EXACT_INTEGER: i64 = 1 << 53;

/// A graph input that carries several features (a matrix), and which.
pub type Group<'a> = (&'a str, &'a [usize]);

/// Turns the request's input tensors into checked rows for `schema`;
/// `groups` are the graph's inputs of several features (a tensor named as
/// one fills its features; any other tensor is named as its feature).
pub fn rows(
    schema: &FeatureSchema,
    groups: &[Group<'_>],
    tensors: &[InputTensor<'_>],
    max_rows: usize,
) -> Result<Rows, BodyError> {
    let layout = layout(schema, groups, tensors)?;
    let mut n_rows = None;
    for (tensor, columns) in tensors.iter().zip(&layout) {
        let rows = rows_of(tensor, columns.len(), schema)?;
        if *n_rows.get_or_insert(rows) != rows {
            return Err(malformed(
                tensor.name,
                &format!("has {rows} rows but the other inputs have {}", n_rows.unwrap_or(0)),
            ));
        }
    }
    let n_rows = n_rows.unwrap_or(0);
    if let Some(violation) = FeatureSchema::batch_size(n_rows, max_rows, "rows") {
        let mut problems = Problems::default();
        problems.record(|| api_types::FieldError {
            loc: vec!["request".into()],
            msg: violation.msg,
            kind: violation.kind,
            allowed: Some(violation.allowed),
        });
        return Err(BodyError::Invalid(problems));
    }

    let mut builder = RowsBuilder::new(schema, &Wording::TENSOR);
    builder.begin_rows(n_rows);
    for (tensor, columns) in tensors.iter().zip(&layout) {
        let datatype = Datatype::parse(tensor.datatype).map_err(|e| malformed(tensor.name, &e))?;
        for &col in columns {
            let wanted_text = schema.is_categorical(col);
            if wanted_text != (datatype == Datatype::Bytes) {
                let takes = if wanted_text { "text: BYTES" } else { "numbers: FP32, FP64, INT32 or INT64" };
                return Err(malformed(
                    tensor.name,
                    &format!("is {}, but feature '{}' takes {takes}", datatype.name(), schema.name(col)),
                ));
            }
        }
        let width = columns.len();
        let expected = n_rows * width;
        let per_feature = !groups.iter().any(|(name, _)| *name == tensor.name);
        let mut index = 0usize;
        let mut put = |value: Element<'_>| -> Result<(), String> {
            if index >= expected {
                return Err(format!("holds more than the {expected} elements its shape says"));
            }
            let (row, col) = (index / width, columns[index % width]);
            index += 1;
            // A NaN, a JSON null and an empty BYTES element are all "no
            // value": the schema takes it as missing or refuses it as such.
            let cell = match value {
                Element::Number(x) if x.is_nan() => Cell::Null,
                Element::Number(x) => Cell::Number(x),
                Element::Text("") | Element::Null => Cell::Blank,
                Element::Text(t) => Cell::Text(t),
                Element::Other(what) => Cell::Other(what),
            };
            builder.set(row, col, cell, || {
                let mut loc: Vec<LocPart> =
                    vec!["input".into(), bounded_key(tensor.name), "row".into(), row.into()];
                if !per_feature {
                    loc.extend(["feature".into(), schema.name(col).into()]);
                }
                loc
            });
            Ok(())
        };
        match tensor.data {
            TensorData::Binary(bytes) => decode_binary(bytes, datatype, expected, &mut put),
            TensorData::Json(raw) => decode_json(raw, datatype, &mut put),
        }
        .map_err(|e| malformed(tensor.name, &e))?;
        if index != expected {
            return Err(malformed(
                tensor.name,
                &format!("holds {index} elements but its shape says {expected}"),
            ));
        }
    }
    for col in 0..schema.width() {
        if !layout.iter().any(|columns| columns.contains(&col))
            && let Some(violation) = schema.absent(col)
        {
            builder.report(vec!["input".into(), schema.name(col).into()], violation);
        }
    }
    builder.finish().map_err(BodyError::Invalid)
}

/// Which feature columns each tensor fills: a group's, in order, for a
/// graph input of several features; its own for a feature's input.
fn layout(
    schema: &FeatureSchema,
    groups: &[Group<'_>],
    tensors: &[InputTensor<'_>],
) -> Result<Vec<Vec<usize>>, BodyError> {
    if tensors.is_empty() {
        return Err(BodyError::Malformed("the request has no inputs".to_owned()));
    }
    let mut layout: Vec<Vec<usize>> = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let columns = match groups.iter().find(|(name, _)| *name == tensor.name) {
            Some((_, cols)) => cols.to_vec(),
            None => match schema.column(tensor.name) {
                Some(col) => vec![col],
                None => {
                    let grouped: String = groups
                        .iter()
                        .map(|(name, cols)| format!("'{name}' ([N, {}]), or ", cols.len()))
                        .collect();
                    return Err(malformed(
                        tensor.name,
                        &format!(
                            "is not an input of this model; it takes {grouped}one input per feature ([N] or [N, 1]): {}",
                            schema.names_listed()
                        ),
                    ));
                }
            },
        };
        if layout.iter().any(|c| c.iter().any(|col| columns.contains(col))) {
            return Err(malformed(tensor.name, "is given twice"));
        }
        layout.push(columns);
    }
    Ok(layout)
}

/// The number of rows `tensor`'s shape says, checked against its columns.
fn rows_of(tensor: &InputTensor<'_>, columns: usize, schema: &FeatureSchema) -> Result<usize, BodyError> {
    let dims = tensor.shape;
    if let Some(d) = dims.iter().find(|d| **d < 0) {
        return Err(malformed(tensor.name, &format!("has a negative dimension ({d}) in its shape {dims:?}")));
    }
    let as_usize = |d: i64| usize::try_from(d).unwrap_or(usize::MAX);
    match dims {
        [n] if columns == 1 => Ok(as_usize(*n)),
        [n, 1] if columns == 1 => Ok(as_usize(*n)),
        [n, w] if columns > 1 && as_usize(*w) == columns => Ok(as_usize(*n)),
        _ if columns == 1 => {
            Err(malformed(tensor.name, &format!("has shape {dims:?}; a feature's input is [N] or [N, 1]")))
        }
        _ => Err(malformed(
            tensor.name,
            &format!(
                "has shape {dims:?}; this model's matrix input is [N, {}] ({})",
                schema.width(),
                schema.names_listed()
            ),
        )),
    }
}

fn malformed(input: &str, what: &str) -> BodyError {
    let shown: String = input.chars().take(64).collect();
    BodyError::Malformed(format!("input '{shown}' {what}"))
}

/// One element of a tensor, as its encoding gave it.
#[derive(Debug, Clone, Copy)]
enum Element<'a> {
    Number(f64),
    Text(&'a str),
    /// JSON `null`: no value.
    Null,
    Other(&'static str),
}

/// Reads `expected` elements of `datatype` from a binary blob, little-endian.
fn decode_binary(
    bytes: &[u8],
    datatype: Datatype,
    expected: usize,
    put: &mut dyn FnMut(Element<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let Some(width) = datatype.width() else {
        // BYTES: each element a 4-byte little-endian length, then its bytes.
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                return Err(format!(
                    "binary data ends inside an element's 4-byte length ({} bytes left)",
                    rest.len()
                ));
            };
            let len = u32::from_le_bytes(*len) as usize;
            let Some((element, tail)) = (len <= tail.len()).then(|| tail.split_at(len)) else {
                return Err(format!(
                    "binary data has an element of {len} bytes but only {} bytes follow",
                    tail.len()
                ));
            };
            let text = std::str::from_utf8(element)
                .map_err(|_| "binary data holds text that is not UTF-8".to_owned())?;
            put(Element::Text(text))?;
            rest = tail;
        }
        return Ok(());
    };
    if bytes.len() != expected.saturating_mul(width) {
        return Err(format!(
            "has binary_data_size {} bytes, but its shape holds {expected} {} elements ({} bytes)",
            bytes.len(),
            datatype.name(),
            expected.saturating_mul(width)
        ));
    }
    for chunk in bytes.chunks_exact(width) {
        let value = match datatype {
            Datatype::Fp32 => f64::from(f32::from_le_bytes(chunk.try_into().unwrap_or_default())),
            Datatype::Fp64 => f64::from_le_bytes(chunk.try_into().unwrap_or_default()),
            Datatype::Int32 => f64::from(i32::from_le_bytes(chunk.try_into().unwrap_or_default())),
            Datatype::Int64 => exact(i64::from_le_bytes(chunk.try_into().unwrap_or_default()))?,
            Datatype::Bytes => unreachable!("BYTES has no fixed width"),
        };
        put(Element::Number(value))?;
    }
    Ok(())
}

fn exact(v: i64) -> Result<f64, String> {
    if (-EXACT_INTEGER..=EXACT_INTEGER).contains(&v) {
        Ok(v as f64)
    } else {
        Err(format!("holds the integer {v}, which no float represents exactly"))
    }
}

/// Python's `json` module, which `tritonclient` and the kserve SDK use,
/// writes a NaN float as the bare token `NaN` and infinities as `Infinity`
/// and `-Infinity`: not JSON. Quoting them (outside strings) gives JSON in
/// which a numeric tensor reads them as the numbers they mean (NaN is a
/// missing value where the feature allows one; infinities are refused by the
/// schema like any other). `None` when `json` holds none of them.
pub fn quote_non_finite(json: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped, mut copied) = (false, false, 0);
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = [&b"NaN"[..], b"Infinity", b"-Infinity"].into_iter().find(|t| json[i..].starts_with(t));
        if let Some(token) = token {
            let buffer = out.get_or_insert_with(|| Vec::with_capacity(json.len() + 64));
            buffer.extend_from_slice(&json[copied..i]);
            buffer.push(b'"');
            buffer.extend_from_slice(token);
            buffer.push(b'"');
            i += token.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    let mut out = out?;
    out.extend_from_slice(&json[copied..]);
    Some(out)
}

/// Reads the JSON `data` array, flat or nested, in row-major order.
fn decode_json(
    raw: &RawValue,
    datatype: Datatype,
    put: &mut dyn FnMut(Element<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let text = datatype == Datatype::Bytes;
    let integer = matches!(datatype, Datatype::Int32 | Datatype::Int64);
    let mut sink = Sink { put, lengths: Vec::new(), leaf_depth: None };
    Flatten { sink: &mut sink, text, integer, depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| format!("data: {e}"))
}

/// Where flattened elements go, and the nesting seen so far: nested `data`
/// must be a regular array (every array at one depth as long, every element
/// at one depth), not only hold the right number of elements.
struct Sink<'p, 'f> {
    put: &'p mut (dyn FnMut(Element<'_>) -> Result<(), String> + 'f),
    /// The length of the arrays at each depth (past the outermost), as first seen.
    lengths: Vec<Option<usize>>,
    leaf_depth: Option<usize>,
}

/// The deepest nesting accepted in `data` (a tensor of rank 2 needs 2).
const MAX_DEPTH: usize = 8;

struct Flatten<'s, 'p, 'f> {
    sink: &'s mut Sink<'p, 'f>,
    text: bool,
    integer: bool,
    depth: usize,
}

impl Flatten<'_, '_, '_> {
    fn leaf<E: de::Error>(&mut self, element: Element<'_>) -> Result<(), E> {
        if *self.sink.leaf_depth.get_or_insert(self.depth) != self.depth {
            return Err(E::custom("the array is ragged: its elements are nested to different depths"));
        }
        let element = match element {
            Element::Number(_) if self.text => Element::Other("a number"),
            Element::Text(t) if !self.text => match t {
                "NaN" => Element::Number(f64::NAN),
                "Infinity" => Element::Number(f64::INFINITY),
                "-Infinity" => Element::Number(f64::NEG_INFINITY),
                _ => Element::Other("a string"),
            },
            Element::Number(x) if self.integer && x.fract() != 0.0 => {
                return Err(E::custom(format!("{x} is not an integer")));
            }
            other => other,
        };
        (self.sink.put)(element).map_err(E::custom)
    }
}

impl<'de> DeserializeSeed<'de> for Flatten<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of tensor elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!("arrays nest deeper than {MAX_DEPTH}")));
        }
        let (sink, text, integer, depth) = (self.sink, self.text, self.integer, self.depth + 1);
        let mut count = 0usize;
        while seq.next_element_seed(Flatten { sink: &mut *sink, text, integer, depth })?.is_some() {
            count += 1;
        }
        // The outermost array holds the rows; every array inside must be as
        // long as the others at its depth.
        if self.depth > 0 {
            let at = self.depth - 1;
            if sink.lengths.len() <= at {
                sink.lengths.resize(at + 1, None);
            }
            if *sink.lengths[at].get_or_insert(count) != count {
                return Err(de::Error::custom(format!(
                    "the array is ragged: arrays at depth {} hold {} and {count} elements",
                    self.depth + 1,
                    sink.lengths[at].unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.leaf(Element::Number(v))
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        let x = exact(v).map_err(E::custom)?;
        self.leaf(Element::Number(x))
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        let x = exact(i64::try_from(v).unwrap_or(i64::MAX)).map_err(E::custom)?;
        self.leaf(Element::Number(x))
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        self.leaf(Element::Text(v))
    }

    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        self.leaf(Element::Other("a boolean"))
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.leaf(Element::Null)
    }

    fn visit_map<A: de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        self.leaf(Element::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::input::csv::tests::schema;

    fn tensor_parts() -> impl Strategy<Value = (String, Vec<i64>, String, Result<Value, Vec<u8>>)> {
        let name = prop_oneof![
            Just("a".to_owned()),
            Just("island".to_owned()),
            Just("input".to_owned()),
            "[a-z]{1,3}"
        ];
        let shape = prop::collection::vec(-2i64..6, 0..3);
        let datatype = prop_oneof![
            Just("FP32".to_owned()),
            Just("FP64".to_owned()),
            Just("INT64".to_owned()),
            Just("INT32".to_owned()),
            Just("BYTES".to_owned()),
            Just("BOOL".to_owned()),
        ];
        let leaf = prop_oneof![
            (-3.0f64..13.0).prop_map(|x| serde_json::json!(x)),
            (-3i64..13).prop_map(|x| serde_json::json!(x)),
            prop_oneof![Just("Biscoe"), Just("Dream"), Just("NaN"), Just(""), Just("x")]
                .prop_map(|t| serde_json::json!(t)),
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
        ];
        let json =
            leaf.prop_recursive(2, 16, 5, |inner| prop::collection::vec(inner, 0..5).prop_map(Value::Array));
        let data = prop_oneof![json.prop_map(Ok), prop::collection::vec(any::<u8>(), 0..48).prop_map(Err)];
        (name, shape, datatype, data)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::input::fuzz_cases()))]

        #[test]
        fn any_tensors_give_checked_rows_or_a_bounded_error_naming_the_input(
            parts in prop::collection::vec(tensor_parts(), 0..4),
            grouped in any::<bool>(),
        ) {
            let raws: Vec<Option<Box<RawValue>>> = parts
                .iter()
                .map(|(_, _, _, data)| data.as_ref().ok().map(|v| serde_json::value::to_raw_value(v).expect("raw")))
                .collect();
            let tensors: Vec<InputTensor<'_>> = parts
                .iter()
                .zip(&raws)
                .map(|((name, shape, datatype, data), raw)| InputTensor {
                    name,
                    shape,
                    datatype,
                    data: match (raw, data) {
                        (Some(raw), _) => TensorData::Json(raw),
                        (None, Err(bytes)) => TensorData::Binary(bytes),
                        (None, Ok(_)) => unreachable!("JSON data has its raw value"),
                    },
                })
                .collect();
            let all: Vec<usize> = (0..schema().width()).collect();
            let groups: Vec<Group<'_>> = if grouped { vec![("input", &all[..])] } else { Vec::new() };
            match rows(&schema(), &groups, &tensors, 4) {
                Ok(rows) => {
                    prop_assert!(rows.len() <= 4);
                    for r in 0..rows.len() {
                        let a = rows.number(r, 0);
                        prop_assert!((0.0..=10.0).contains(&a), "{}", a);
                    }
                }
                Err(BodyError::Malformed(msg)) => prop_assert!(msg.len() < 400, "{}", msg),
                Err(BodyError::Invalid(problems)) => {
                    let kept = problems.into_errors();
                    prop_assert!(!kept.is_empty() && kept.len() <= crate::input::MAX_REPORTED_PROBLEMS);
                    prop_assert!(kept.iter().all(|e| e.msg.len() < 400));
                }
                Err(BodyError::TooLarge) => prop_assert!(false, "no size limit here"),
            }
        }

        #[test]
        fn quoting_touches_only_bare_non_finite_tokens(text in "[\\[\\],\" a-zNIfinty0-9.-]{0,40}") {
            let bytes = text.as_bytes();
            match quote_non_finite(bytes) {
                None => prop_assert!(!text.contains("NaN") && !text.contains("Infinity") || text.contains('"')),
                Some(out) => {
                    prop_assert!(out.len() > bytes.len() && (out.len() - bytes.len()) % 2 == 0);
                    let unquoted: Vec<u8> = out.iter().copied().filter(|&b| b != b'"').collect();
                    let original: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'"').collect();
                    prop_assert_eq!(unquoted, original);
                }
            }
        }

        #[test]
        fn json_written_by_serde_is_never_rewritten(values in prop::collection::vec(-1e6f64..1e6, 0..8), word in "[a-zA-Z ]{0,12}") {
            let text = serde_json::to_vec(&serde_json::json!({"data": values, "name": word, "quoted": "NaN"})).expect("json");
            prop_assert!(quote_non_finite(&text).is_none());
        }
    }
}
