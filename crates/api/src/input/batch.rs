//! Checked rows ([`Rows`]) and how adapters build them ([`RowsBuilder`]):
//! an adapter hands over cells with their locations; the builder checks each
//! against the [`FeatureSchema`], stores what passes and keeps a bounded
//! list of what does not.

use api_types::{Allowed, FieldError, FieldErrorKind, LocPart};

use super::cell::{Cell, Wording};
use super::problems::Problems;
use super::schema::{Checked, FeatureSchema, Violation};

/// A category cell of checked rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Category {
    /// One of the feature's categories, by position.
    Known(u32),
    /// A category outside the list, accepted because the feature allows unknowns.
    Unknown(Box<str>),
    /// No value, accepted because the feature allows missing values.
    Missing,
}

/// Rows that passed every rule.
///
/// Numbers are stored row-major, `rows × width`, `NaN` where a value is
/// missing (and in the slots of categorical features); categories beside
/// them, row-major over the categorical columns; whole numbers of integer
/// features, exact, beside them too (`i64::MIN` where missing: what a graph
/// taking int64 is fed, and what its imputers replace). The fields are private:
/// the only way to get rows is to build them against a schema, so the model
/// layer never sees unchecked input.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    rows: usize,
    width: usize,
    numbers: Vec<f32>,
    categorical: Vec<usize>,
    categories: Vec<Category>,
    integral: Vec<usize>,
    ints: Vec<i64>,
}

/// What an integer feature holds where its value is missing.
pub const MISSING_INTEGER: i64 = i64::MIN;

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Number of features per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Row-major numbers, `len × width`.
    pub fn numbers(&self) -> &[f32] {
        &self.numbers
    }

    /// Gives the numbers back, for building a tensor without a copy.
    pub fn into_numbers(self) -> Vec<f32> {
        self.numbers
    }

    /// The number in `row`, column `col` (`NaN` when missing or categorical).
    pub fn number(&self, row: usize, col: usize) -> f32 {
        self.numbers[row * self.width + col]
    }

    /// Rows `start..end` (clamped to the rows there are), as rows of their own.
    pub fn slice(&self, start: usize, end: usize) -> Rows {
        let end = end.min(self.rows);
        let start = start.min(end);
        let per_row = self.categorical.len();
        let whole = self.integral.len();
        Rows {
            rows: end - start,
            width: self.width,
            numbers: self.numbers[start * self.width..end * self.width].to_vec(),
            categorical: self.categorical.clone(),
            categories: self.categories[start * per_row..end * per_row].to_vec(),
            integral: self.integral.clone(),
            ints: self.ints[start * whole..end * whole].to_vec(),
        }
    }

    /// The whole number in `row`, column `col` ([`MISSING_INTEGER`] when
    /// missing); `None` if the column is not an integer feature's.
    pub fn integer(&self, row: usize, col: usize) -> Option<i64> {
        let slot = self.integral.iter().position(|&c| c == col)?;
        self.ints.get(row * self.integral.len() + slot).copied()
    }

    /// The category in `row`, column `col`; `None` if the column is numeric.
    pub fn category(&self, row: usize, col: usize) -> Option<&Category> {
        let slot = self.categorical.iter().position(|&c| c == col)?;
        self.categories.get(row * self.categorical.len() + slot)
    }
}

impl Rows {
    /// New rows mixing two sets of rows checked against the same schema:
    /// row `i` takes column `c` from row `pairs[i].0` of `a` when
    /// `from_a(i, c)`, else from row `pairs[i].1` of `b`. Every cell was
    /// valid where it came from, so the mix is too (explanations replace
    /// some features of a row by a background row's).
    pub fn blend(
        a: &Rows,
        b: &Rows,
        pairs: &[(usize, usize)],
        from_a: impl Fn(usize, usize) -> bool,
    ) -> Rows {
        assert!(
            a.width == b.width && a.categorical == b.categorical && a.integral == b.integral,
            "rows of different schemas"
        );
        let (width, per_row, whole) = (a.width, a.categorical.len(), a.integral.len());
        let mut numbers = Vec::with_capacity(pairs.len() * width);
        let mut categories = Vec::with_capacity(pairs.len() * per_row);
        let mut ints = Vec::with_capacity(pairs.len() * whole);
        for (i, &(ra, rb)) in pairs.iter().enumerate() {
            for col in 0..width {
                let (rows, row) = if from_a(i, col) { (a, ra) } else { (b, rb) };
                numbers.push(rows.numbers[row * width + col]);
            }
            for (slot, &col) in a.categorical.iter().enumerate() {
                let (rows, row) = if from_a(i, col) { (a, ra) } else { (b, rb) };
                categories.push(rows.categories[row * per_row + slot].clone());
            }
            for (slot, &col) in a.integral.iter().enumerate() {
                let (rows, row) = if from_a(i, col) { (a, ra) } else { (b, rb) };
                ints.push(rows.ints[row * whole + slot]);
            }
        }
        Rows {
            rows: pairs.len(),
            width,
            numbers,
            categorical: a.categorical.clone(),
            categories,
            integral: a.integral.clone(),
            ints,
        }
    }

    /// These rows followed by `more` (rows of the same schema).
    pub fn concat(&self, more: &Rows) -> Rows {
        assert!(
            self.width == more.width
                && self.categorical == more.categorical
                && self.integral == more.integral,
            "rows of different schemas"
        );
        let mut out = self.clone();
        out.rows += more.rows;
        out.numbers.extend_from_slice(&more.numbers);
        out.categories.extend_from_slice(&more.categories);
        out.ints.extend_from_slice(&more.ints);
        out
    }

    /// Sets numeric column `col` of `row` to `x`. Only for values the
    /// feature's rules allow (a sweep over its card range).
    pub(crate) fn put_number(&mut self, row: usize, col: usize, x: f32) {
        self.numbers[row * self.width + col] = x;
        if let Some(slot) = self.integral.iter().position(|&c| c == col) {
            self.ints[row * self.integral.len() + slot] = if x.is_nan() { MISSING_INTEGER } else { x as i64 };
        }
    }

    /// Sets categorical column `col` of `row` to `category` (one of its
    /// known categories, or missing where the feature allows it).
    pub(crate) fn put_category(&mut self, row: usize, col: usize, category: Category) {
        if let Some(slot) = self.categorical.iter().position(|&c| c == col) {
            self.categories[row * self.categorical.len() + slot] = category;
        }
    }
}

/// Where adapters put cells; checks each one as it comes.
#[derive(Debug)]
pub struct RowsBuilder<'s> {
    schema: &'s FeatureSchema,
    wording: &'static Wording,
    rows: usize,
    numbers: Vec<f32>,
    categories: Vec<Category>,
    ints: Vec<i64>,
    /// The row cells arrive for one at a time (JSON objects, CSV records),
    /// and which of its columns have been given.
    open_row: usize,
    seen: Vec<bool>,
    problems: Problems,
}

impl<'s> RowsBuilder<'s> {
    /// An empty builder for `schema`, naming types in `wording`.
    pub fn new(schema: &'s FeatureSchema, wording: &'static Wording) -> Self {
        Self {
            schema,
            wording,
            rows: 0,
            numbers: Vec::new(),
            categories: Vec::new(),
            ints: Vec::new(),
            open_row: 0,
            seen: vec![false; schema.width()],
            problems: Problems::default(),
        }
    }

    /// The schema cells are checked against.
    pub fn schema(&self) -> &'s FeatureSchema {
        self.schema
    }

    /// Rows begun so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Starts `count` more rows, every cell missing until set; answers the
    /// first new row's index. The caller bounds `count` before calling.
    /// Rows begun together are filled in any order (tensors come column by
    /// column), so the adapter itself reports a column it lacks altogether.
    pub fn begin_rows(&mut self, count: usize) -> usize {
        let first = self.rows;
        self.rows += count;
        self.numbers.resize(self.rows * self.schema.width(), f32::NAN);
        let categorical = self.schema.categorical_columns().len();
        if categorical > 0 {
            self.categories.resize(self.rows * categorical, Category::Missing);
        }
        let integral = self.schema.integer_columns().len();
        if integral > 0 {
            self.ints.resize(self.rows * integral, MISSING_INTEGER);
        }
        first
    }

    /// Starts one more row, whose cells arrive before the next row begins;
    /// [`RowsBuilder::end_row`] then reports the features it lacks. Answers its index.
    pub fn begin_row(&mut self) -> usize {
        self.seen.fill(false);
        self.open_row = self.begin_rows(1);
        self.open_row
    }

    /// Forgets the last row begun (a sequence that turned out to have no more elements).
    pub fn cancel_last_row(&mut self) {
        if self.rows > 0 {
            self.rows -= 1;
            self.numbers.truncate(self.rows * self.schema.width());
            self.categories.truncate(self.rows * self.schema.categorical_columns().len());
            self.ints.truncate(self.rows * self.schema.integer_columns().len());
        }
    }

    /// Checks `cell` for column `col` of `row` and stores it, or records the
    /// problem at `loc()` (only called then: locations cost allocations).
    #[inline]
    pub fn set(&mut self, row: usize, col: usize, cell: Cell<'_>, loc: impl FnOnce() -> Vec<LocPart>) {
        let width = self.schema.width();
        if row == self.open_row {
            self.seen[col] = true;
        }
        match self.schema.check(col, cell) {
            Ok(Checked::Number(x)) => self.numbers[row * width + col] = x,
            Ok(Checked::Integer(i)) => {
                self.numbers[row * width + col] = i as f32;
                self.set_integer(row, col, i);
            }
            Ok(Checked::Missing) => {
                self.numbers[row * width + col] = f32::NAN;
                self.set_category(row, col, Category::Missing);
                self.set_integer(row, col, MISSING_INTEGER);
            }
            Ok(Checked::Category(i)) => self.set_category(row, col, Category::Known(i)),
            Ok(Checked::Unknown(text)) => self.set_category(row, col, Category::Unknown(text.into())),
            Err(fault) => {
                let (schema, wording) = (self.schema, self.wording);
                self.problems.record(|| error(loc(), schema.violation(col, cell, fault, wording)));
            }
        }
    }

    fn set_integer(&mut self, row: usize, col: usize, value: i64) {
        let integral = self.schema.integer_columns();
        if let Some(slot) = integral.iter().position(|&c| c == col) {
            self.ints[row * integral.len() + slot] = value;
        }
    }

    fn set_category(&mut self, row: usize, col: usize, value: Category) {
        let categorical = self.schema.categorical_columns();
        if let Some(slot) = categorical.iter().position(|&c| c == col) {
            self.categories[row * categorical.len() + slot] = value;
        }
    }

    /// Ends the row begun last: every feature it did not give is missing,
    /// which its rule may refuse; such a problem is located at `loc(feature name)`.
    pub fn end_row(&mut self, loc: impl Fn(&str) -> Vec<LocPart>) {
        for col in 0..self.schema.width() {
            if !self.seen[col]
                && let Some(violation) = self.schema.absent(col)
            {
                let name = self.schema.name(col);
                self.problems.record(|| error(loc(name), violation));
            }
        }
    }

    /// Records a problem found by the adapter itself (an unknown key).
    pub fn report(&mut self, loc: Vec<LocPart>, violation: Violation) {
        self.problems.record(|| error(loc, violation));
    }

    /// Records a problem that has no `allowed` to show (a wrong envelope).
    pub fn report_shape(&mut self, loc: Vec<LocPart>, kind: FieldErrorKind, msg: String) {
        self.problems.record(|| FieldError { loc, msg, kind, allowed: None });
    }

    /// Whether any problem has been found.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Replaces every problem found so far with `loc`/`violation` (a batch
    /// of the wrong size makes its rows' problems beside the point).
    pub fn replace_problems(&mut self, loc: Vec<LocPart>, violation: Violation) {
        self.problems = Problems::default();
        self.report(loc, violation);
    }

    /// The rows, or every problem found.
    pub fn finish(self) -> Result<Rows, Problems> {
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        Ok(Rows {
            rows: self.rows,
            width: self.schema.width(),
            numbers: self.numbers,
            categorical: self.schema.categorical_columns().to_vec(),
            categories: self.categories,
            integral: self.schema.integer_columns().to_vec(),
            ints: self.ints,
        })
    }
}

fn error(loc: Vec<LocPart>, violation: Violation) -> FieldError {
    let allowed = Some(violation.allowed).filter(|a| *a != Allowed::default());
    FieldError { loc, msg: violation.msg, kind: violation.kind, allowed }
}
