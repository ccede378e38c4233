//! The CSV adapter: a spreadsheet's rows — a header line naming the
//! features in any order, then one row per line (RFC 4180: quoted fields,
//! embedded commas, quotes and newlines, CRLF or LF, UTF-8 with or without
//! a BOM) — become cells, each located as `["body", "line", 7, "petal_width"]`
//! (the header is line 1). Columns that are not features are kept as sent,
//! to be handed back beside the predictions.

use std::collections::HashMap;
use std::io::Read;

use api_types::{FieldError, FieldErrorKind, LocPart};
use csv::StringRecord;

use super::batch::{Rows, RowsBuilder};
use super::cell::{Cell, Wording};
use super::problems::bounded_key;
use super::schema::FeatureSchema;
use super::{BodyError, Problems};

/// A file's rows: the header and records as sent, and the checked rows.
#[derive(Debug)]
pub struct Table {
    header: StringRecord,
    records: Vec<StringRecord>,
    rows: Rows,
}

impl Table {
    /// The header line as sent.
    pub fn header(&self) -> &StringRecord {
        &self.header
    }

    /// The rows as sent, in order.
    pub fn records(&self) -> &[StringRecord] {
        &self.records
    }

    /// The checked rows, in the same order.
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// Splits the table into the records and the checked rows.
    pub fn into_parts(self) -> (StringRecord, Vec<StringRecord>, Rows) {
        (self.header, self.records, self.rows)
    }
}

fn malformed(line: u64, what: &str) -> BodyError {
    BodyError::Malformed(format!("line {line}: {what}"))
}

/// The location of a cell: its line (the header is line 1) and column name.
fn cell_loc(line: u64, column: &str) -> Vec<LocPart> {
    vec![
        "body".into(),
        "line".into(),
        LocPart::Index(usize::try_from(line).unwrap_or(usize::MAX)),
        bounded_key(column),
    ]
}

/// Columns a file may carry besides the model's features (ids, notes), all
/// kept as sent in the answer.
pub const MAX_EXTRA_COLUMNS: usize = 256;

/// Reads a CSV file of 1 to `max_rows` rows for `schema`; `on_read_error`
/// turns a failure of `source` itself (a body over the limit) into the error to answer.
pub fn read(
    schema: &FeatureSchema,
    source: impl Read,
    max_rows: usize,
    on_read_error: impl Fn(std::io::Error) -> BodyError,
) -> Result<Table, BodyError> {
    let quotes = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = QuoteCounter { inner: source, quotes: quotes.clone() };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(counted);
    let read_error = |e: csv::Error, line: u64| match e.into_kind() {
        csv::ErrorKind::Io(io) => on_read_error(io),
        csv::ErrorKind::Utf8 { .. } => malformed(line, "is not UTF-8 text; save the file as CSV UTF-8"),
        other => malformed(line, &format!("cannot be read as CSV: {other:?}")),
    };

    let mut header = StringRecord::new();
    match reader.read_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Err(malformed(1, "the file is empty; its first line must name the columns")),
        Err(e) => return Err(read_error(e, 1)),
    }
    // Counted before any per-column work: a header of 100,000 columns is
    // refused at once, not checked name by name.
    let most = schema.width() + MAX_EXTRA_COLUMNS;
    if header.len() > most {
        return Err(malformed(
            1,
            &format!(
                "has {} columns; this model takes {} features and a file may carry at most {MAX_EXTRA_COLUMNS} other columns",
                header.len(),
                schema.width()
            ),
        ));
    }
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = first_seen.insert(name, i) {
            let shown: String = name.chars().take(64).collect();
            return Err(malformed(
                1,
                &format!("column {shown:?} is named twice (columns {} and {})", first + 1, i + 1),
            ));
        }
    }
    // The file's column of each feature, in feature order.
    let mut columns = Vec::with_capacity(schema.width());
    let mut problems = Problems::default();
    for col in 0..schema.width() {
        match first_seen.get(schema.name(col)).copied() {
            Some(i) => columns.push(i),
            None => problems.record(|| FieldError {
                loc: cell_loc(1, schema.name(col)),
                msg: format!(
                    "the header has no column for this feature; the file needs columns {}",
                    schema.names_listed()
                ),
                kind: FieldErrorKind::Missing,
                allowed: Some(api_types::Allowed {
                    features: Some(schema.names()),
                    ..api_types::Allowed::default()
                }),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(BodyError::Invalid(problems));
    }

    let mut builder = RowsBuilder::new(schema, &Wording::TEXT);
    let mut records = Vec::new();
    let mut record = StringRecord::new();
    let mut extra_rows = 0usize;
    let mut last_line = 1;
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(e, line)),
        }
        let line = record.position().map_or(line, csv::Position::line);
        last_line = line;
        if record.len() != header.len() {
            let hint = if record.len() < header.len() { "; a quote may be left open" } else { "" };
            return Err(malformed(
                line,
                &format!("has {} fields but the header has {}{hint}", record.len(), header.len()),
            ));
        }
        if records.len() >= max_rows {
            extra_rows += 1;
            continue;
        }
        let row = builder.begin_row();
        for (col, &i) in columns.iter().enumerate() {
            let text = record[i].trim();
            let cell = if text.is_empty() {
                Cell::Blank
            } else if schema.is_categorical(col) {
                Cell::Text(text)
            } else {
                text.parse::<f64>().map_or(Cell::Text(text), Cell::Number)
            };
            builder.set(row, col, cell, || cell_loc(line, schema.name(col)));
        }
        records.push(std::mem::take(&mut record));
    }
    // Quotes come in pairs in a well-formed file; an odd count means a quoted
    // field ran on to the end of the file, swallowing the lines after it.
    if quotes.get() % 2 == 1 {
        return Err(malformed(last_line, "a quote is left open, so the rest of the file reads as one field"));
    }
    let total = records.len() + extra_rows;
    if let Some(violation) = FeatureSchema::batch_size(total, max_rows, "rows") {
        builder.replace_problems(vec!["body".into()], violation);
    }
    let rows = builder.finish().map_err(BodyError::Invalid)?;
    Ok(Table { header, records, rows })
}

/// Counts the quote characters read through it.
struct QuoteCounter<R> {
    inner: R,
    quotes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for QuoteCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let found = buf[..n].iter().filter(|b| **b == b'"').count() as u64;
        self.quotes.set(self.quotes.get() + found);
        Ok(n)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use api_types::{FeatureSpec, FeatureValue, ModelCard, OnnxIo, Policy, Provenance, Task};

    use super::*;

    /// A numeric `a` (0 to 10) and a categorical `island` (Biscoe, Dream; may be missing).
    pub(in crate::input) fn schema() -> FeatureSchema {
        let number = |name: &str| FeatureSpec {
            name: name.to_owned(),
            label: name.to_owned(),
            unit: "cm".to_owned(),
            description: String::new(),
            min: Some(0.0),
            max: Some(10.0),
            step: None,
            default: Some(FeatureValue::Number(1.0)),
            choices: None,
            categories: None,
            missing: Policy::Rejected,
            unknown: Policy::Rejected,
            integer: false,
        };
        let island = FeatureSpec {
            min: None,
            max: None,
            default: None,
            categories: Some(vec!["Biscoe".to_owned(), "Dream".to_owned()]),
            missing: Policy::Allowed,
            ..number("island")
        };
        FeatureSchema::from_card(&ModelCard {
            name: "t".to_owned(),
            title: "T".to_owned(),
            description: String::new(),
            version: "1".to_owned(),
            task: Task::Regression,
            classes: vec![],
            onnx: OnnxIo { input: None, label_output: None, probabilities_output: None, value_output: None },
            output: None,
            features: vec![number("a"), island],
            examples: vec![],
            provenance: Provenance::default(),
        })
        .expect("valid")
    }

    fn parse(text: &str, max: usize) -> Result<Table, BodyError> {
        read(&schema(), text.as_bytes(), max, |e| BodyError::Malformed(e.to_string()))
    }

    fn problems(text: &str) -> Vec<(Vec<LocPart>, FieldErrorKind, String)> {
        match parse(text, 10) {
            Err(BodyError::Invalid(p)) => {
                p.into_errors().into_iter().map(|e| (e.loc, e.kind, e.msg)).collect()
            }
            other => panic!("expected problems: {other:?}"),
        }
    }

    #[test]
    fn columns_come_in_any_order_with_extras_kept_and_quotes_honoured() {
        let text =
            "\u{feff}id,island,a,note\r\n7,Dream,1.5,\"says \"\"hi\"\", then, a\nnewline\"\r\n8,,2,plain\n";

        let table = parse(text, 10).expect("valid");

        assert_eq!(
            table.header().iter().collect::<Vec<_>>(),
            ["id", "island", "a", "note"],
            "the BOM is not part of a name"
        );
        assert_eq!(&table.records()[0][3], "says \"hi\", then, a\nnewline");
        assert_eq!((table.rows().number(0, 0), table.rows().number(1, 0)), (1.5, 2.0));
        assert_eq!(
            table.rows().category(1, 1),
            Some(&crate::input::Category::Missing),
            "a blank cell is missing"
        );
    }

    #[test]
    fn every_bad_cell_is_located_by_line_and_column() {
        let found = problems("a,island\n1,Biscoe\nlots,Dream\n11,Mars\n");

        assert_eq!(
            found.iter().map(|(loc, kind, _)| (loc.clone(), *kind)).collect::<Vec<_>>(),
            vec![
                (cell_loc(3, "a"), FieldErrorKind::Type),
                (cell_loc(4, "a"), FieldErrorKind::Range),
                (cell_loc(4, "island"), FieldErrorKind::Category),
            ]
        );
        assert_eq!(found[0].2, "must be a number, not text");
    }

    #[test]
    fn a_missing_feature_column_is_named_at_the_header() {
        let found = problems("island,id\nDream,1\n");

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, cell_loc(1, "a"));
        assert!(found[0].2.contains("the file needs columns a, island"), "{}", found[0].2);
    }

    #[test]
    fn a_row_with_too_many_fields_or_an_open_quote_is_malformed_at_its_line() {
        for (text, line, says) in [
            ("a,island\n1,Dream\n2,Dream,extra\n", "line 3:", "has 3 fields but the header has 2"),
            ("a,island\n1,\"Dream\n2,Biscoe\n", "line 2:", "a quote is left open"),
        ] {
            let Err(BodyError::Malformed(msg)) = parse(text, 10) else { panic!("malformed: {text:?}") };
            assert!(msg.starts_with(line) && msg.contains(says), "{msg}");
        }
    }

    #[test]
    fn the_row_count_is_one_to_the_limit() {
        for (text, max) in [("a,island\n", 10), ("a,island\n1,\n2,\n3,\n", 2)] {
            let found = problems_at(text, max);
            assert_eq!(found, [FieldErrorKind::BatchSize], "{text:?}");
        }
    }

    fn problems_at(text: &str, max: usize) -> Vec<FieldErrorKind> {
        match parse(text, max) {
            Err(BodyError::Invalid(p)) => p.into_errors().into_iter().map(|e| e.kind).collect(),
            other => panic!("expected problems: {other:?}"),
        }
    }

    use proptest::prelude::*;

    /// Text made of what CSV parsing turns on: separators, quotes, line
    /// ends, a BOM, numbers, category names and stray words.
    fn csv_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(",".to_owned()),
            Just("\"".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("a".to_owned()),
            Just("island".to_owned()),
            Just("Biscoe".to_owned()),
            Just("=1+1".to_owned()),
            (-5.0f64..15.0).prop_map(|x| format!("{x:.1}")),
            "[a-z ]{0,4}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::input::fuzz_cases()))]

        #[test]
        fn any_text_gives_checked_rows_a_malformed_line_or_bounded_located_problems(text in csv_like()) {
            match parse(&text, 5) {
                Ok(table) => {
                    prop_assert!((1..=5).contains(&table.rows().len()));
                    prop_assert_eq!(table.records().len(), table.rows().len());
                    for r in 0..table.rows().len() {
                        prop_assert!((0.0..=10.0).contains(&table.rows().number(r, 0)));
                    }
                }
                Err(BodyError::Malformed(msg)) => {
                    prop_assert!(msg.starts_with("line "), "{}", msg);
                    prop_assert!(msg.len() < 400, "{}", msg);
                }
                Err(BodyError::Invalid(problems)) => {
                    prop_assert!(problems.total() >= 1);
                    let kept = problems.into_errors();
                    prop_assert!(!kept.is_empty() && kept.len() <= crate::input::MAX_REPORTED_PROBLEMS);
                    for e in &kept {
                        prop_assert!(e.msg.len() < 400, "{}", e.msg);
                        prop_assert!(matches!(e.loc.as_slice(), [LocPart::Key(b), ..] if b == "body"), "{:?}", e.loc);
                    }
                }
                Err(BodyError::TooLarge) => prop_assert!(false, "no size limit here"),
            }
        }

        #[test]
        fn a_well_formed_file_reads_back_every_value_as_written(
            values in prop::collection::vec((0u32..=100, prop::bool::ANY), 1..6)
        ) {
            let mut text = "island,a\n".to_owned();
            for (tenths, dream) in &values {
                text.push_str(&format!("{},{}\n", if *dream { "Dream" } else { "" }, f64::from(*tenths) / 10.0));
            }
            let table = parse(&text, 10).expect("valid");
            for (r, (tenths, dream)) in values.iter().enumerate() {
                prop_assert_eq!(table.rows().number(r, 0), (f64::from(*tenths) / 10.0) as f32);
                let want = if *dream { crate::input::Category::Known(1) } else { crate::input::Category::Missing };
                prop_assert_eq!(table.rows().category(r, 1), Some(&want));
            }
        }
    }
}
