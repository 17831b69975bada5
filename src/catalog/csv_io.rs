//! CSV import and export of a supplier's catalog (layout and rules: docs/catalog-csv.md).
//!
//! One row per SKU; the product columns repeat on every row of a product. [`parse`]
//! reads and validates the whole file in memory and collects every problem with its
//! line and column; [`import`] then writes the valid rows in one write transaction:
//! products are upserted by (supplier, `product_ref`), SKUs by (supplier, `sku`), and
//! rows already stored but absent from the file are kept. [`export`] writes the same
//! layout, so an export imports back unchanged.

use std::collections::HashMap;
use std::io::Write;

use chrono::NaiveDateTime;
use csv::ByteRecord;
use diesel::prelude::*;

use super::model::{self, CURRENCY, Product, Sku, Supplier};
use super::taxonomy::CategoryPath;
use crate::accounts::profile::{format_yuan, parse_yuan};
use crate::db::schema::{products, skus, suppliers};
use crate::db::{DbConn, write_tx};
use crate::i18n::Locale;

/// How much one import may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    pub max_bytes: usize,
    pub max_rows: usize,
}

impl ImportLimits {
    /// `kaibo catalog import`.
    pub const CLI: ImportLimits = ImportLimits {
        max_bytes: 256 * 1024 * 1024,
        max_rows: 2_000_000,
    };
    /// An upload through the supplier portal.
    pub const UPLOAD: ImportLimits = ImportLimits {
        max_bytes: 16 * 1024 * 1024,
        max_rows: 200_000,
    };
}

/// At most this many errors are listed; one more entry says how many were left out.
pub const MAX_ERRORS: usize = 1_000;

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5_000;
const CODE_MAX: usize = 64;
const TAGS_MAX: usize = 500;
const URL_MAX: usize = 2_000;
const VARIANT_MAX: usize = 50;
const STOCK_MAX: i64 = 100_000_000;
const WEIGHT_MAX: i64 = 1_000_000;

/// One problem in the file: where (physical line of the record's start, the header being
/// line 1, and the column if there is one) and what, as a translation key under `csv.`
/// with its arguments. Line 0 is the closing "and N more" entry of a capped list.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl RowError {
    fn new(line: u64, column: Option<&str>, key: &'static str) -> Self {
        Self {
            line,
            column: column.map(str::to_string),
            key,
            args: Vec::new(),
        }
    }

    fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// `line 4, column cost: not a price: “abc”`, in the given language.
    pub fn message(&self, locale: Locale) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reason = fill(&locale.t(self.key), &args);
        let line = self.line.to_string();
        match (&self.column, self.line) {
            (_, 0) => reason,
            (Some(column), _) => fill(
                &locale.t("csv.at_line_column"),
                &[("line", &line), ("column", column), ("reason", &reason)],
            ),
            (None, _) => fill(
                &locale.t("csv.at_line"),
                &[("line", &line), ("reason", &reason)],
            ),
        }
    }
}

/// Replaces `%{name}` placeholders in one pass, so a value that itself contains a
/// placeholder is left as it is.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A value as quoted in a message: at most 60 characters.
fn shown(value: &str) -> String {
    const MAX: usize = 60;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Supplier,
    ProductRef,
    Sku,
    Title,
    Description,
    Category,
    Tags,
    ImageUrl,
    Cost,
    Suggested,
    MinPrice,
    Commission,
    Stock,
    Weight,
    Size,
    Colour,
}

const NCOL: usize = 16;

/// Every column in the order the exporter writes them: (column, name, required).
const COLUMNS: [(Col, &str, bool); NCOL] = [
    (Col::Supplier, "supplier", false),
    (Col::ProductRef, "product_ref", true),
    (Col::Sku, "sku", true),
    (Col::Title, "title", true),
    (Col::Description, "description", false),
    (Col::Category, "category", true),
    (Col::Tags, "tags", false),
    (Col::ImageUrl, "image_url", false),
    (Col::Cost, "cost", true),
    (Col::Suggested, "suggested_price", true),
    (Col::MinPrice, "min_price", true),
    (Col::Commission, "commission_percent", true),
    (Col::Stock, "stock", true),
    (Col::Weight, "weight_g", true),
    (Col::Size, "size", false),
    (Col::Colour, "colour", false),
];

/// The columns every row of one product must repeat identically.
const PRODUCT_COLUMNS: [Col; 9] = [
    Col::Title,
    Col::Description,
    Col::Category,
    Col::Tags,
    Col::ImageUrl,
    Col::Cost,
    Col::Suggested,
    Col::MinPrice,
    Col::Commission,
];

impl Col {
    fn name(self) -> &'static str {
        COLUMNS[self as usize].1
    }

    /// Header names are case-insensitive; spaces and hyphens count as underscores.
    fn from_header(name: &str) -> Option<Col> {
        let name = name.trim().to_lowercase().replace([' ', '-'], "_");
        let name = match name.as_str() {
            "color" => "colour",
            other => other,
        };
        COLUMNS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(c, _, _)| *c)
    }
}

/// A validated product with its validated SKUs, in file order.
#[derive(Debug, Clone, PartialEq)]
struct ProductIn {
    line: u64,
    product_ref: String,
    title: String,
    description: String,
    category: String,
    /// Comma-separated, as stored.
    tags: String,
    image_url: Option<String>,
    cost_fen: i64,
    suggested_fen: i64,
    min_price_fen: i64,
    commission_bp: i32,
    skus: Vec<SkuIn>,
}

#[derive(Debug, Clone, PartialEq)]
struct SkuIn {
    line: u64,
    supplier: Option<String>,
    sku_code: String,
    size: Option<String>,
    colour: Option<String>,
    stock: i32,
    weight_g: i32,
}

/// A read and validated file: the valid rows grouped by product, and every problem.
#[derive(Debug, Clone, Default)]
pub struct ParsedCsv {
    products: Vec<ProductIn>,
    /// In line order, at most [`MAX_ERRORS`] of them plus a closing line-0 entry saying
    /// how many more there were.
    pub errors: Vec<RowError>,
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    /// The file as a whole is unusable (size, encoding, header): nothing can be imported,
    /// even skipping invalid rows.
    fatal: bool,
    omitted: usize,
}

impl ParsedCsv {
    /// Rows without any problem found while parsing.
    pub fn valid_rows(&self) -> usize {
        self.products.iter().map(|p| p.skus.len()).sum()
    }

    /// Products with at least one valid row.
    pub fn valid_products(&self) -> usize {
        self.products.len()
    }

    /// Whether the file's problems (if any) are about the whole file rather than rows,
    /// so that `skip_invalid` cannot help.
    pub fn is_fatal(&self) -> bool {
        self.fatal
    }
}

/// Collects errors up to the cap.
#[derive(Default)]
struct Errors {
    list: Vec<RowError>,
    omitted: usize,
}

impl Errors {
    fn push(&mut self, error: RowError) {
        if self.list.len() < MAX_ERRORS {
            self.list.push(error);
        } else {
            self.omitted += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty() && self.omitted == 0
    }

    fn finish(mut self) -> Vec<RowError> {
        self.list.sort_by_key(|e| e.line);
        if self.list.len() > MAX_ERRORS {
            self.omitted += self.list.len() - MAX_ERRORS;
            self.list.truncate(MAX_ERRORS);
        }
        if self.omitted > 0 {
            self.list
                .push(RowError::new(0, None, "csv.more_errors").arg("count", self.omitted));
        }
        self.list
    }
}

/// The first row of a product: what later rows are compared with.
struct Slot {
    first_line: u64,
    product_ref: String,
    /// Normalised values of the product columns (None where the field was unreadable).
    norms: [Option<String>; PRODUCT_COLUMNS.len()],
    fields: Option<ProductFields>,
    skus: Vec<SkuIn>,
}

#[derive(Debug, Clone)]
struct ProductFields {
    title: String,
    description: String,
    category: String,
    tags: String,
    image_url: Option<String>,
    cost_fen: i64,
    suggested_fen: i64,
    min_price_fen: i64,
    commission_bp: i32,
}

struct Header {
    /// For each column, its index in the record.
    map: [Option<usize>; NCOL],
    len: usize,
}

/// Reads and validates a whole file. Never fails: every problem is in `errors`.
pub fn parse(bytes: &[u8], limits: &ImportLimits) -> ParsedCsv {
    let mut errors = Errors::default();
    let fatal = |errors: Errors, rows| {
        let omitted = errors.omitted;
        ParsedCsv {
            products: Vec::new(),
            errors: errors.finish(),
            rows,
            fatal: true,
            omitted,
        }
    };
    if bytes.len() > limits.max_bytes {
        errors.push(
            RowError::new(1, None, "csv.too_large").arg("max", limits.max_bytes / (1024 * 1024)),
        );
        return fatal(errors, 0);
    }
    if looks_utf16(bytes) {
        errors.push(RowError::new(1, None, "csv.utf16"));
        return fatal(errors, 0);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            errors.push(RowError::new(1, None, "csv.empty"));
            return fatal(errors, 0);
        }
        Err(e) => {
            errors.push(unreadable(&e));
            return fatal(errors, 0);
        }
    }
    let header_line = start_line(bytes, &record).max(1);
    let (header, header_ok) = read_header(&record, header_line, &mut errors);
    let Some(header) = header else {
        return fatal(errors, 0);
    };
    let mut state = State {
        slots: Vec::new(),
        by_ref: HashMap::new(),
        skus_seen: HashMap::new(),
    };
    let mut rows = 0usize;
    let mut file_ok = header_ok;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                errors.push(unreadable(&e));
                file_ok = false;
                break;
            }
        }
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        let line = start_line(bytes, &record);
        if rows == limits.max_rows {
            errors.push(RowError::new(line, None, "csv.too_many_rows").arg("max", limits.max_rows));
            file_ok = false;
            break;
        }
        rows += 1;
        state.row(&header, &record, line, &mut errors);
    }
    if rows == 0 && file_ok && errors.is_empty() {
        errors.push(RowError::new(header_line, None, "csv.no_rows"));
        file_ok = false;
    }
    let products = state
        .slots
        .into_iter()
        .filter(|s| !s.skus.is_empty())
        .filter_map(|s| {
            let f = s.fields?;
            Some(ProductIn {
                line: s.first_line,
                product_ref: s.product_ref,
                title: f.title,
                description: f.description,
                category: f.category,
                tags: f.tags,
                image_url: f.image_url,
                cost_fen: f.cost_fen,
                suggested_fen: f.suggested_fen,
                min_price_fen: f.min_price_fen,
                commission_bp: f.commission_bp,
                skus: s.skus,
            })
        })
        .collect();
    let omitted = errors.omitted;
    ParsedCsv {
        products: if file_ok { products } else { Vec::new() },
        errors: errors.finish(),
        rows,
        fatal: !file_ok,
        omitted,
    }
}

/// The physical line a record starts on. The reader's position is where it started
/// reading, before any blank lines it skipped, so those are counted here.
fn start_line(bytes: &[u8], record: &ByteRecord) -> u64 {
    let Some(pos) = record.position() else {
        return 0;
    };
    let from = (pos.byte() as usize).min(bytes.len());
    let skipped = bytes[from..]
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    pos.line() + skipped as u64
}

/// A UTF-16 byte-order mark, or the NUL bytes of UTF-16 text without one.
fn looks_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || (bytes.len() >= 4 && bytes[..4].contains(&0))
}

fn unreadable(e: &csv::Error) -> RowError {
    let line = e.position().map_or(0, |p| p.line());
    RowError::new(line, None, "csv.unreadable").arg("detail", e)
}

/// Maps header names to columns. Returns None when rows cannot be read at all (missing
/// required columns), and whether the header is free of problems.
fn read_header(record: &ByteRecord, line: u64, errors: &mut Errors) -> (Option<Header>, bool) {
    let mut map = [None; NCOL];
    let mut ok = true;
    if record.len() == 1 && record[0].iter().any(|b| *b == b';' || *b == b'\t') {
        errors.push(RowError::new(line, None, "csv.wrong_delimiter"));
        return (None, false);
    }
    let expected = COLUMNS.map(|(_, n, _)| n).join(", ");
    for (i, raw) in record.iter().enumerate() {
        let position = (i + 1).to_string();
        let name = match std::str::from_utf8(raw) {
            Ok(name) => name.trim(),
            Err(e) => {
                errors.push(
                    RowError::new(line, Some(&position), "csv.invalid_utf8")
                        .arg("byte", e.valid_up_to() + 1),
                );
                ok = false;
                continue;
            }
        };
        if name.is_empty() {
            errors.push(RowError::new(line, Some(&position), "csv.unnamed_column"));
            ok = false;
            continue;
        }
        match Col::from_header(name) {
            None => {
                errors.push(
                    RowError::new(line, Some(name), "csv.unknown_column")
                        .arg("name", shown(name))
                        .arg("expected", &expected),
                );
                ok = false;
            }
            Some(col) => match map[col as usize] {
                Some(first) => {
                    errors.push(
                        RowError::new(line, Some(col.name()), "csv.duplicate_column")
                            .arg("first", first + 1)
                            .arg("position", i + 1),
                    );
                    ok = false;
                }
                None => map[col as usize] = Some(i),
            },
        }
    }
    let mut complete = true;
    for (col, name, required) in COLUMNS {
        if required && map[col as usize].is_none() {
            errors.push(RowError::new(line, Some(name), "csv.missing_column"));
            complete = false;
        }
    }
    let header = complete.then_some(Header {
        map,
        len: record.len(),
    });
    (header, ok && complete)
}

struct State {
    slots: Vec<Slot>,
    by_ref: HashMap<String, usize>,
    skus_seen: HashMap<String, u64>,
}

/// One row's decoded fields and the problems found in it.
struct Row<'a> {
    line: u64,
    vals: [&'a str; NCOL],
    bad: [bool; NCOL],
    errors: Vec<RowError>,
}

impl Row<'_> {
    fn err(&mut self, col: Col, key: &'static str) -> &mut RowError {
        self.errors
            .push(RowError::new(self.line, Some(col.name()), key));
        self.errors.last_mut().expect("just pushed")
    }

    fn fail(&mut self, col: Col, key: &'static str, args: &[(&'static str, String)]) {
        let e = self.err(col, key);
        e.args.extend(args.iter().cloned());
    }

    /// A text field: None when unreadable, empty but required, or too long.
    fn text(&mut self, col: Col, required: bool, max: usize) -> Option<String> {
        if self.bad[col as usize] {
            return None;
        }
        let value = self.vals[col as usize];
        if value.is_empty() && required {
            self.fail(col, "csv.required", &[]);
            return None;
        }
        let length = value.chars().count();
        if length > max {
            self.fail(
                col,
                "csv.too_long",
                &[("length", length.to_string()), ("max", max.to_string())],
            );
            return None;
        }
        Some(value.to_string())
    }

    fn optional(&mut self, col: Col, max: usize) -> Option<Option<String>> {
        self.text(col, false, max)
            .map(|v| (!v.is_empty()).then_some(v))
    }

    fn price(&mut self, col: Col) -> Option<i64> {
        if self.bad[col as usize] {
            return None;
        }
        let value = self.vals[col as usize];
        match parse_yuan(value) {
            Ok(Some(0)) => {
                self.fail(col, "csv.price_zero", &[]);
                None
            }
            Ok(Some(fen)) => Some(fen),
            Ok(None) => {
                self.fail(col, "csv.required", &[]);
                None
            }
            Err(_) => {
                self.fail(col, "csv.not_a_price", &[("value", shown(value))]);
                None
            }
        }
    }

    fn integer(&mut self, col: Col) -> Option<i64> {
        if self.bad[col as usize] {
            return None;
        }
        let value = self.vals[col as usize];
        if value.is_empty() {
            self.fail(col, "csv.required", &[]);
            return None;
        }
        match value.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(col, "csv.not_an_integer", &[("value", shown(value))]);
                None
            }
        }
    }
}

/// `15`, `15.5`, `15.25` or `15.25%` -> basis points, 0 to 10,000.
fn parse_percent(input: &str) -> Option<i32> {
    let input = input.trim().trim_end_matches('%').trim_end();
    let (whole, frac) = input.split_once('.').unwrap_or((input, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let bp = whole.parse::<i32>().ok()? * 100 + format!("{frac:0<2}").parse::<i32>().ok()?;
    (bp <= 10_000).then_some(bp)
}

fn format_percent(bp: i32) -> String {
    match bp % 100 {
        0 => format!("{}", bp / 100),
        f if f % 10 == 0 => format!("{}.{}", bp / 100, f / 10),
        f => format!("{}.{f:02}", bp / 100),
    }
}

/// `a | b|c` -> `a,b,c` (as stored), or the first tag that contains a comma.
fn parse_tags(input: &str) -> Result<String, &str> {
    let mut tags: Vec<&str> = Vec::new();
    for tag in input.split('|').map(str::trim).filter(|t| !t.is_empty()) {
        if tag.contains(',') {
            return Err(tag);
        }
        tags.push(tag);
    }
    Ok(tags.join(","))
}

fn parse_category(input: &str) -> Option<String> {
    CategoryPath::parse(&input.to_lowercase()).map(|p| p.as_string())
}

fn valid_url(input: &str) -> bool {
    url::Url::parse(input)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// The value a product column is compared by: parsed where it parses (so `29.9` equals
/// `29.90`), else the text.
fn normalise(col: Col, value: &str) -> String {
    let parsed = match col {
        Col::Cost | Col::Suggested | Col::MinPrice => {
            parse_yuan(value).ok().flatten().map(|f| f.to_string())
        }
        Col::Commission => parse_percent(value).map(|b| b.to_string()),
        Col::Category => parse_category(value),
        Col::Tags => parse_tags(value).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| value.to_string())
}

impl State {
    fn row(&mut self, header: &Header, record: &ByteRecord, line: u64, errors: &mut Errors) {
        let mut row = Row {
            line,
            vals: [""; NCOL],
            bad: [false; NCOL],
            errors: Vec::new(),
        };
        if record.len() != header.len {
            errors.push(
                RowError::new(line, None, "csv.column_count")
                    .arg("found", record.len())
                    .arg("expected", header.len),
            );
            return;
        }
        for (c, index) in header.map.iter().enumerate() {
            let Some(i) = index else { continue };
            match std::str::from_utf8(&record[*i]) {
                Ok(v) => row.vals[c] = v.trim(),
                Err(e) => {
                    row.bad[c] = true;
                    row.errors.push(
                        RowError::new(line, Some(COLUMNS[c].1), "csv.invalid_utf8")
                            .arg("byte", e.valid_up_to() + 1),
                    );
                }
            }
        }
        let supplier = row.optional(Col::Supplier, CODE_MAX);
        let product_ref = row.text(Col::ProductRef, true, CODE_MAX);
        let sku_code = row.text(Col::Sku, true, CODE_MAX);
        let size = row.optional(Col::Size, VARIANT_MAX);
        let colour = row.optional(Col::Colour, VARIANT_MAX);
        let stock = row.integer(Col::Stock).and_then(|n| {
            if n < 0 {
                row.fail(
                    Col::Stock,
                    "csv.negative_stock",
                    &[("value", n.to_string())],
                );
                None
            } else if n > STOCK_MAX {
                row.fail(
                    Col::Stock,
                    "csv.number_too_large",
                    &[("max", STOCK_MAX.to_string())],
                );
                None
            } else {
                Some(n as i32)
            }
        });
        let weight = row.integer(Col::Weight).and_then(|n| {
            if n <= 0 {
                row.fail(
                    Col::Weight,
                    "csv.weight_not_positive",
                    &[("value", n.to_string())],
                );
                None
            } else if n > WEIGHT_MAX {
                row.fail(
                    Col::Weight,
                    "csv.number_too_large",
                    &[("max", WEIGHT_MAX.to_string())],
                );
                None
            } else {
                Some(n as i32)
            }
        });
        if let Some(code) = &sku_code {
            if let Some(first) = self.skus_seen.get(code) {
                row.fail(
                    Col::Sku,
                    "csv.duplicate_sku",
                    &[("value", shown(code)), ("first", first.to_string())],
                );
            } else {
                self.skus_seen.insert(code.clone(), line);
            }
        }
        if let Some(product_ref) = product_ref {
            let product_ok = match self.by_ref.get(&product_ref) {
                Some(&index) => {
                    let slot = &self.slots[index];
                    for (k, col) in PRODUCT_COLUMNS.iter().enumerate() {
                        if row.bad[*col as usize] {
                            continue;
                        }
                        let Some(first) = &slot.norms[k] else {
                            continue;
                        };
                        if normalise(*col, row.vals[*col as usize]) != *first {
                            row.fail(
                                *col,
                                "csv.product_mismatch",
                                &[
                                    ("first", slot.first_line.to_string()),
                                    ("product", shown(&product_ref)),
                                ],
                            );
                        }
                    }
                    slot.fields.is_some()
                }
                None => {
                    let norms = PRODUCT_COLUMNS.map(|col| {
                        (!row.bad[col as usize]).then(|| normalise(col, row.vals[col as usize]))
                    });
                    let fields = product_fields(&mut row);
                    let ok = fields.is_some();
                    self.by_ref.insert(product_ref.clone(), self.slots.len());
                    self.slots.push(Slot {
                        first_line: line,
                        product_ref: product_ref.clone(),
                        norms,
                        fields,
                        skus: Vec::new(),
                    });
                    ok
                }
            };
            if row.errors.is_empty()
                && product_ok
                && let (
                    Some(supplier),
                    Some(sku_code),
                    Some(size),
                    Some(colour),
                    Some(stock),
                    Some(weight_g),
                ) = (supplier, sku_code, size, colour, stock, weight)
            {
                let index = self.by_ref[&product_ref];
                self.slots[index].skus.push(SkuIn {
                    line,
                    supplier,
                    sku_code,
                    size,
                    colour,
                    stock,
                    weight_g,
                });
            }
        }
        for e in row.errors {
            errors.push(e);
        }
    }
}

/// The product columns of a product's first row, checked.
fn product_fields(row: &mut Row) -> Option<ProductFields> {
    let title = row.text(Col::Title, true, TITLE_MAX);
    let description = row.text(Col::Description, false, DESCRIPTION_MAX);
    let category = row.text(Col::Category, true, usize::MAX).and_then(|c| {
        let parsed = parse_category(&c);
        if parsed.is_none() {
            row.fail(
                Col::Category,
                "csv.unknown_category",
                &[("value", shown(&c))],
            );
        }
        parsed
    });
    let tags = row
        .text(Col::Tags, false, TAGS_MAX)
        .and_then(|t| match parse_tags(&t) {
            Ok(tags) => Some(tags),
            Err(tag) => {
                row.fail(Col::Tags, "csv.tag_comma", &[("value", shown(tag))]);
                None
            }
        });
    let image_url = row.optional(Col::ImageUrl, URL_MAX).and_then(|u| match u {
        Some(url) if !valid_url(&url) => {
            row.fail(Col::ImageUrl, "csv.bad_url", &[("value", shown(&url))]);
            None
        }
        other => Some(other),
    });
    let cost = row.price(Col::Cost);
    let suggested = row.price(Col::Suggested);
    let min = row.price(Col::MinPrice);
    let commission = if row.bad[Col::Commission as usize] {
        None
    } else {
        let value = row.vals[Col::Commission as usize];
        if value.is_empty() {
            row.fail(Col::Commission, "csv.required", &[]);
            None
        } else {
            let bp = parse_percent(value);
            if bp.is_none() {
                row.fail(
                    Col::Commission,
                    "csv.not_a_percent",
                    &[("value", shown(value))],
                );
            }
            bp
        }
    };
    let yuan = |fen: i64| format_yuan(Some(fen));
    if let (Some(min), Some(cost)) = (min, cost)
        && min < cost
    {
        row.fail(
            Col::MinPrice,
            "csv.min_below_cost",
            &[("min", yuan(min)), ("cost", yuan(cost))],
        );
        return None;
    }
    if let (Some(min), Some(suggested)) = (min, suggested)
        && min > suggested
    {
        row.fail(
            Col::MinPrice,
            "csv.min_above_suggested",
            &[("min", yuan(min)), ("suggested", yuan(suggested))],
        );
        return None;
    }
    Some(ProductFields {
        title: title?,
        description: description?,
        category: category?,
        tags: tags?,
        image_url: image_url?,
        cost_fen: cost?,
        suggested_fen: suggested?,
        min_price_fen: min?,
        commission_bp: commission?,
    })
}

/// What an import did. Rows identical to what is stored are neither written nor counted
/// as updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub products_added: usize,
    pub products_updated: usize,
    pub skus_added: usize,
    pub skus_updated: usize,
    pub rows_skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} invalid row(s)", .0.len())]
    Invalid(Vec<RowError>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// How many SKU rows are inserted between two progress reports.
const PROGRESS_BATCH: usize = 3_000;

/// The rows of `parsed` that can be imported for `supplier`, and every problem: those
/// found by [`parse`], and rows whose `supplier` column names another supplier.
#[allow(clippy::type_complexity)]
fn for_supplier<'a>(
    parsed: &'a ParsedCsv,
    supplier: &Supplier,
) -> (Errors, Vec<(&'a ProductIn, Vec<&'a SkuIn>)>) {
    let mut errors = Errors {
        list: parsed
            .errors
            .iter()
            .filter(|e| e.line != 0)
            .cloned()
            .collect(),
        omitted: parsed.omitted,
    };
    let mut keep = Vec::with_capacity(parsed.products.len());
    for product in &parsed.products {
        let rows: Vec<&SkuIn> = product
            .skus
            .iter()
            .filter(|s| match &s.supplier {
                Some(code) if !code.eq_ignore_ascii_case(&supplier.code) => {
                    // Uncapped here: `finish` sorts by line, then caps.
                    errors.list.push(
                        RowError::new(s.line, Some("supplier"), "csv.wrong_supplier")
                            .arg("value", shown(code))
                            .arg("expected", &supplier.code),
                    );
                    false
                }
                _ => true,
            })
            .collect();
        if !rows.is_empty() {
            keep.push((product, rows));
        }
    }
    (errors, keep)
}

/// Every problem an import of `parsed` for `supplier` reports (with `skip_invalid`,
/// the rows that are skipped): [`ParsedCsv::errors`] plus rows of other suppliers.
pub fn problems(parsed: &ParsedCsv, supplier: &Supplier) -> Vec<RowError> {
    for_supplier(parsed, supplier).0.finish()
}

/// Validates, then writes everything in ONE write transaction (atomic), unless
/// `skip_invalid`, in which case the valid rows land and the invalid ones are counted in
/// `rows_skipped` (a file-level problem such as a bad header still rejects the file).
/// Bumps the catalog version when anything was written. `progress(n)` is called with
/// the rows handled so far (written, or found unchanged).
pub fn import(
    conn: &mut DbConn,
    supplier: &Supplier,
    parsed: &ParsedCsv,
    skip_invalid: bool,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary, ImportError> {
    let (errors, keep) = for_supplier(parsed, supplier);
    if parsed.fatal || (!skip_invalid && !errors.is_empty()) {
        return Err(ImportError::Invalid(errors.finish()));
    }
    let rows_kept: usize = keep.iter().map(|(_, rows)| rows.len()).sum();
    let mut summary = ImportSummary {
        rows_skipped: parsed.rows - rows_kept,
        ..Default::default()
    };
    if keep.is_empty() {
        return Ok(summary);
    }
    write_tx(conn, |conn| {
        model::lock_for_write(conn)?;
        let (_, mut next_product, mut next_sku) = model::next_ids(conn)?;
        let stored_products: HashMap<String, Product> = products::table
            .filter(products::supplier_id.eq(supplier.id))
            .select(Product::as_select())
            .load(conn)?
            .into_iter()
            .map(|p| (p.product_ref.clone(), p))
            .collect();
        let stored_skus: HashMap<String, Sku> = skus::table
            .filter(skus::supplier_id.eq(supplier.id))
            .select(Sku::as_select())
            .load(conn)?
            .into_iter()
            .map(|s| (s.sku_code.clone(), s))
            .collect();
        let (mut new_products, mut changed_products) = (Vec::new(), Vec::new());
        let (mut new_skus, mut changed_skus) = (Vec::new(), Vec::new());
        let mut unchanged = 0usize;
        for (p, rows) in &keep {
            let stored = stored_products.get(&p.product_ref);
            let product = Product {
                id: stored.map_or(next_product, |s| s.id),
                supplier_id: supplier.id,
                product_ref: p.product_ref.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
                category: p.category.clone(),
                tags: p.tags.clone(),
                image_url: p.image_url.clone(),
                cost_fen: p.cost_fen,
                suggested_fen: p.suggested_fen,
                min_price_fen: p.min_price_fen,
                commission_bp: p.commission_bp,
                currency: CURRENCY.to_string(),
                updated_at: now,
            };
            let product_id = product.id;
            match stored {
                None => {
                    next_product += 1;
                    new_products.push(product);
                }
                Some(old) => {
                    if (Product {
                        updated_at: old.updated_at,
                        ..product.clone()
                    }) != *old
                    {
                        changed_products.push(product);
                    }
                }
            }
            for s in rows {
                let stored = stored_skus.get(&s.sku_code);
                let sku = Sku {
                    id: stored.map_or(next_sku, |s| s.id),
                    product_id,
                    supplier_id: supplier.id,
                    sku_code: s.sku_code.clone(),
                    size: s.size.clone(),
                    colour: s.colour.clone(),
                    stock: s.stock,
                    weight_g: s.weight_g,
                };
                match stored {
                    None => {
                        next_sku += 1;
                        new_skus.push(sku);
                    }
                    Some(old) if *old == sku => unchanged += 1,
                    Some(_) => changed_skus.push(sku),
                }
            }
        }
        let mut done = unchanged;
        progress(done as u64);
        model::insert_products(conn, &new_products)?;
        for chunk in changed_products.chunks(UPDATE_BATCH) {
            update_products(conn, chunk)?;
        }
        for chunk in new_skus.chunks(PROGRESS_BATCH) {
            model::insert_skus(conn, chunk)?;
            done += chunk.len();
            progress(done as u64);
        }
        for chunk in changed_skus.chunks(UPDATE_BATCH) {
            update_skus(conn, chunk)?;
            done += chunk.len();
            progress(done as u64);
        }
        summary.products_added = new_products.len();
        summary.products_updated = changed_products.len();
        summary.skus_added = new_skus.len();
        summary.skus_updated = changed_skus.len();
        if !(new_products.is_empty()
            && changed_products.is_empty()
            && new_skus.is_empty()
            && changed_skus.is_empty())
        {
            model::bump_version(conn, now)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(summary)
}

/// Rows per UPDATE on PostgreSQL, and between progress reports on SQLite.
const UPDATE_BATCH: usize = 2_000;

/// Updates stored products to the given values. SQLite runs one cached statement per
/// row inside the transaction, which is fast in-process; PostgreSQL, where each
/// statement is a round trip, gets one `UPDATE ... FROM unnest(...)` per batch.
fn update_products(conn: &mut DbConn, rows: &[Product]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
    match conn {
        DbConn::Postgres(c) => {
            let Some(first) = rows.first() else {
                return Ok(());
            };
            let text = |f: fn(&Product) -> &String| -> Vec<&str> {
                rows.iter().map(|p| f(p).as_str()).collect()
            };
            diesel::sql_query(
                "UPDATE products SET title = v.title, description = v.description, \
                 category = v.category, tags = v.tags, image_url = v.image_url, \
                 cost_fen = v.cost_fen, suggested_fen = v.suggested_fen, \
                 min_price_fen = v.min_price_fen, commission_bp = v.commission_bp, \
                 updated_at = $11 \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::integer[]) \
                 AS v(id, title, description, category, tags, image_url, cost_fen, \
                 suggested_fen, min_price_fen, commission_bp) \
                 WHERE products.id = v.id",
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(text(|p| &p.title))
            .bind::<Array<Text>, _>(text(|p| &p.description))
            .bind::<Array<Text>, _>(text(|p| &p.category))
            .bind::<Array<Text>, _>(text(|p| &p.tags))
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter()
                    .map(|p| p.image_url.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|p| p.cost_fen).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(rows.iter().map(|p| p.suggested_fen).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(rows.iter().map(|p| p.min_price_fen).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(rows.iter().map(|p| p.commission_bp).collect::<Vec<_>>())
            .bind::<Timestamp, _>(first.updated_at)
            .execute(c)?;
        }
        DbConn::Sqlite(_) => {
            for p in rows {
                diesel::update(products::table.find(p.id))
                    .set((
                        products::title.eq(&p.title),
                        products::description.eq(&p.description),
                        products::category.eq(&p.category),
                        products::tags.eq(&p.tags),
                        products::image_url.eq(&p.image_url),
                        products::cost_fen.eq(p.cost_fen),
                        products::suggested_fen.eq(p.suggested_fen),
                        products::min_price_fen.eq(p.min_price_fen),
                        products::commission_bp.eq(p.commission_bp),
                        products::updated_at.eq(p.updated_at),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Updates stored SKUs to the given values (see [`update_products`]).
fn update_skus(conn: &mut DbConn, rows: &[Sku]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
    // Placements lock their batch's SKUs in id order; so does this, so the two wait for
    // each other instead of deadlocking.
    let mut ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    crate::orders::deferred::lock_skus(conn, &ids)?;
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query(
                "UPDATE skus SET product_id = v.product_id, size = v.size, \
                 colour = v.colour, stock = v.stock, weight_g = v.weight_g \
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
                 $5::integer[], $6::integer[]) \
                 AS v(id, product_id, size, colour, stock, weight_g) \
                 WHERE skus.id = v.id",
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|s| s.id).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(rows.iter().map(|s| s.product_id).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter().map(|s| s.size.as_deref()).collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter().map(|s| s.colour.as_deref()).collect::<Vec<_>>(),
            )
            .bind::<Array<Integer>, _>(rows.iter().map(|s| s.stock).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(rows.iter().map(|s| s.weight_g).collect::<Vec<_>>())
            .execute(c)?;
        }
        DbConn::Sqlite(_) => {
            for s in rows {
                diesel::update(skus::table.find(s.id))
                    .set((
                        skus::product_id.eq(s.product_id),
                        skus::size.eq(&s.size),
                        skus::colour.eq(&s.colour),
                        skus::stock.eq(s.stock),
                        skus::weight_g.eq(s.weight_g),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Products read per query while exporting.
const EXPORT_PAGE: i64 = 2_000;

/// Writes the CSV (UTF-8 with BOM, same layout the importer reads, so export -> import
/// round-trips) of one supplier or of all, in product order; returns the rows written.
/// Products without SKUs have no row and are left out.
pub fn export(
    conn: &mut DbConn,
    supplier: Option<&Supplier>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let codes: HashMap<i64, String> = match supplier {
        Some(s) => HashMap::from([(s.id, s.code.clone())]),
        None => suppliers::table
            .select((suppliers::id, suppliers::code))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect(),
    };
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS.map(|(_, name, _)| name))?;
    let mut rows = 0usize;
    let mut after = 0i64;
    loop {
        let mut query = products::table
            .filter(products::id.gt(after))
            .order(products::id)
            .limit(EXPORT_PAGE)
            .select(Product::as_select())
            .into_boxed();
        if let Some(s) = supplier {
            query = query.filter(products::supplier_id.eq(s.id));
        }
        let page: Vec<Product> = query.load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let ids: Vec<i64> = page.iter().map(|p| p.id).collect();
        let page_skus: Vec<Sku> = skus::table
            .filter(skus::product_id.eq_any(&ids))
            .order((skus::product_id, skus::id))
            .select(Sku::as_select())
            .load(conn)?;
        let mut by_product: HashMap<i64, Vec<&Sku>> = HashMap::new();
        for s in &page_skus {
            by_product.entry(s.product_id).or_default().push(s);
        }
        for p in &page {
            let Some(list) = by_product.get(&p.id) else {
                continue;
            };
            let code = codes.get(&p.supplier_id).map_or("", String::as_str);
            let tags = p.tag_list().join("|");
            let (cost, suggested, min) = (
                format_yuan(Some(p.cost_fen)),
                format_yuan(Some(p.suggested_fen)),
                format_yuan(Some(p.min_price_fen)),
            );
            let commission = format_percent(p.commission_bp);
            for s in list {
                let (stock, weight) = (s.stock.to_string(), s.weight_g.to_string());
                writer.write_record([
                    code,
                    p.product_ref.as_str(),
                    s.sku_code.as_str(),
                    p.title.as_str(),
                    p.description.as_str(),
                    p.category.as_str(),
                    tags.as_str(),
                    p.image_url.as_deref().unwrap_or(""),
                    cost.as_str(),
                    suggested.as_str(),
                    min.as_str(),
                    commission.as_str(),
                    stock.as_str(),
                    weight.as_str(),
                    s.size.as_deref().unwrap_or(""),
                    s.colour.as_deref().unwrap_or(""),
                ])?;
                rows += 1;
            }
        }
    }
    writer.flush()?;
    Ok(rows)
}

/// Every message key this module uses, for the translation test.
#[cfg(test)]
const KEYS: &[&str] = &[
    "csv.at_line_column",
    "csv.at_line",
    "csv.more_errors",
    "csv.too_large",
    "csv.too_many_rows",
    "csv.utf16",
    "csv.invalid_utf8",
    "csv.empty",
    "csv.no_rows",
    "csv.unreadable",
    "csv.wrong_delimiter",
    "csv.unnamed_column",
    "csv.unknown_column",
    "csv.duplicate_column",
    "csv.missing_column",
    "csv.column_count",
    "csv.required",
    "csv.too_long",
    "csv.not_a_price",
    "csv.price_zero",
    "csv.min_below_cost",
    "csv.min_above_suggested",
    "csv.not_a_percent",
    "csv.not_an_integer",
    "csv.number_too_large",
    "csv.negative_stock",
    "csv.weight_not_positive",
    "csv.unknown_category",
    "csv.bad_url",
    "csv.tag_comma",
    "csv.duplicate_sku",
    "csv.product_mismatch",
    "csv.wrong_supplier",
];

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "supplier,product_ref,sku,title,description,category,tags,image_url,cost,suggested_price,min_price,commission_percent,stock,weight_g,size,colour";

    /// A valid row of product `p`, SKU `s`.
    fn row(p: &str, s: &str) -> String {
        format!(
            "sup-1,{p},{s},Silk Serum,Light and fast,beauty/skincare,serum|hydrating,https://img.example.com/a.jpg,20.00,59.90,29.9,15.5,100,120,30ml,"
        )
    }

    /// `row` with one column replaced.
    fn row_with(p: &str, s: &str, column: &str, value: &str) -> String {
        let i = HEADER.split(',').position(|c| c == column).unwrap();
        let mut fields: Vec<String> = row(p, s).split(',').map(str::to_string).collect();
        fields[i] = value.to_string();
        fields.join(",")
    }

    fn file(rows: &[String]) -> Vec<u8> {
        let mut text = String::from(HEADER);
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        text.into_bytes()
    }

    fn parse_all(bytes: &[u8]) -> ParsedCsv {
        parse(bytes, &ImportLimits::CLI)
    }

    /// (line, column, key) of each error.
    fn problems(parsed: &ParsedCsv) -> Vec<(u64, Option<&str>, &str)> {
        parsed
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_deref(), e.key))
            .collect()
    }

    fn only(bytes: &[u8]) -> (u64, Option<String>, &'static str) {
        let parsed = parse_all(bytes);
        assert_eq!(parsed.errors.len(), 1, "{:#?}", parsed.errors);
        let e = &parsed.errors[0];
        (e.line, e.column.clone(), e.key)
    }

    fn col(name: &str) -> Option<String> {
        Some(name.to_string())
    }

    #[test]
    fn a_good_file_groups_skus_by_product() {
        let parsed = parse_all(&file(&[
            row("P1", "P1-a"),
            row("P2", "P2-a"),
            row_with("P1", "P1-b", "size", "50ml"),
        ]));
        assert!(parsed.errors.is_empty(), "{:#?}", parsed.errors);
        assert_eq!((parsed.rows, parsed.valid_rows()), (3, 3));
        assert_eq!(parsed.valid_products(), 2);
        let p1 = &parsed.products[0];
        assert_eq!(p1.product_ref, "P1");
        assert_eq!(
            (
                p1.cost_fen,
                p1.suggested_fen,
                p1.min_price_fen,
                p1.commission_bp
            ),
            (2000, 5990, 2990, 1550)
        );
        assert_eq!(p1.tags, "serum,hydrating");
        assert_eq!(p1.category, "beauty/skincare");
        assert_eq!(p1.skus.len(), 2);
        assert_eq!(p1.skus[1].size.as_deref(), Some("50ml"));
        assert_eq!(p1.skus[1].line, 4);
        assert_eq!(p1.skus[0].colour, None);
    }

    #[test]
    fn a_utf8_bom_is_accepted_and_headers_are_case_insensitive_in_any_order() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            "Weight_G,SKU,Product_Ref,Title,Category,Cost,Suggested Price,MIN_PRICE,commission_percent,Stock,Color\n\
             120,A-1,A,Tea,tea/tea,10,20,15,10,5,green\n"
                .as_bytes(),
        );
        let parsed = parse_all(&bytes);
        assert!(parsed.errors.is_empty(), "{:#?}", parsed.errors);
        assert_eq!(parsed.valid_rows(), 1);
        assert_eq!(parsed.products[0].skus[0].colour.as_deref(), Some("green"));
        assert_eq!(parsed.products[0].description, "");
    }

    #[test]
    fn utf16_is_named() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "product_ref,sku\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(only(&bytes), (1, None, "csv.utf16"));
        let parsed = parse_all(&bytes);
        assert!(parsed.is_fatal());
        assert!(parsed.errors[0].message(Locale::En).contains("UTF-16"));
        assert!(parsed.errors[0].message(Locale::En).contains("UTF-8"));
        // Without a byte-order mark, the NUL bytes give it away.
        assert_eq!(only(&bytes[2..]), (1, None, "csv.utf16"));
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let mut bytes = file(&[row("P1", "P1-a")]);
        bytes.extend_from_slice(
            b"sup-1,P2,P2-a,Bad \xE4\xBD title,x,beauty,,,20,59.9,29.9,15,1,1,,\n",
        );
        let parsed = parse_all(&bytes);
        assert_eq!(problems(&parsed), [(3, Some("title"), "csv.invalid_utf8")]);
        assert_eq!(parsed.valid_rows(), 1);
        assert_eq!(
            parsed.errors[0].message(Locale::En),
            "line 3, column title: not valid UTF-8 text (byte 5 of the field); save the file as UTF-8"
        );

        let bytes = b"product_ref,s\xFFku\nx,y\n";
        let parsed = parse_all(bytes);
        assert_eq!(parsed.errors[0].line, 1);
        assert_eq!(parsed.errors[0].column.as_deref(), Some("2"));
        assert_eq!(parsed.errors[0].key, "csv.invalid_utf8");
        assert!(parsed.is_fatal());
    }

    #[test]
    fn header_problems_are_all_reported() {
        let text = "product_ref,sku,title,title,category,cost,price,min_price,commission_percent,stock\nP,S,T,T,beauty,1,2,1,1,1\n";
        let parsed = parse_all(text.as_bytes());
        assert_eq!(
            problems(&parsed),
            [
                (1, Some("title"), "csv.duplicate_column"),
                (1, Some("price"), "csv.unknown_column"),
                (1, Some("suggested_price"), "csv.missing_column"),
                (1, Some("weight_g"), "csv.missing_column"),
            ]
        );
        assert!(parsed.is_fatal());
        assert_eq!(
            parsed.errors[0].message(Locale::En),
            "line 1, column title: the column appears twice (columns 3 and 4)"
        );
        // A semicolon-separated file is recognised as such.
        assert_eq!(
            only(b"product_ref;sku;title\nP;S;T\n"),
            (1, None, "csv.wrong_delimiter")
        );
        assert_eq!(only(b""), (1, None, "csv.empty"));
        assert_eq!(
            only(format!("{HEADER}\n").as_bytes()),
            (1, None, "csv.no_rows")
        );
    }

    #[test]
    fn unknown_columns_do_not_stop_row_checks() {
        let text = format!("{HEADER},extra\n{},x\n", row_with("P", "S", "stock", "-1"));
        let parsed = parse_all(text.as_bytes());
        assert_eq!(
            problems(&parsed),
            [
                (1, Some("extra"), "csv.unknown_column"),
                (2, Some("stock"), "csv.negative_stock"),
            ]
        );
        assert_eq!(parsed.valid_rows(), 0, "a bad header imports nothing");
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let bytes = file(&[row("P1", "P1-a"), "sup-1,P2,P2-a,too,short".into()]);
        assert_eq!(only(&bytes), (3, None, "csv.column_count"));
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::En),
            "line 3: the row has 5 fields but the header has 16"
        );
    }

    #[test]
    fn bad_prices_are_named_with_their_value() {
        let bytes = file(&[
            row("P1", "P1-a"),
            row("P2", "P2-a"),
            row_with("P3", "P3-a", "cost", "abc"),
        ]);
        assert_eq!(only(&bytes), (4, col("cost"), "csv.not_a_price"));
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::En),
            "line 4, column cost: not a price: “abc” (write yuan such as 29.90)"
        );
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::ZhCn),
            "第 4 行，cost 列：不是有效的价格：“abc”（请以元为单位填写，如 29.90）"
        );
        for (value, key) in [
            ("-5", "csv.not_a_price"),
            ("1.234", "csv.not_a_price"),
            ("0", "csv.price_zero"),
            ("", "csv.required"),
        ] {
            let bytes = file(&[row_with("P", "S", "suggested_price", value)]);
            assert_eq!(only(&bytes), (2, col("suggested_price"), key), "{value}");
        }
        // ¥ signs and one decimal are fine.
        let bytes = file(&[row_with("P", "S", "cost", "¥19.5")]);
        assert!(parse_all(&bytes).errors.is_empty());
    }

    #[test]
    fn min_price_must_lie_between_cost_and_suggested() {
        let bytes = file(&[row_with("P", "S", "min_price", "19.99")]);
        assert_eq!(only(&bytes), (2, col("min_price"), "csv.min_below_cost"));
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::En),
            "line 2, column min_price: the minimum price 19.99 is below the cost 20"
        );
        let bytes = file(&[row("A", "A-1"), row_with("P", "S", "min_price", "60")]);
        assert_eq!(
            only(&bytes),
            (3, col("min_price"), "csv.min_above_suggested")
        );
    }

    #[test]
    fn stock_weight_and_commission_are_checked() {
        let cases = [
            ("stock", "-3", "csv.negative_stock"),
            ("stock", "2.5", "csv.not_an_integer"),
            ("stock", "", "csv.required"),
            ("stock", "999999999999", "csv.number_too_large"),
            ("weight_g", "0", "csv.weight_not_positive"),
            ("weight_g", "heavy", "csv.not_an_integer"),
            ("commission_percent", "101", "csv.not_a_percent"),
            ("commission_percent", "12.345", "csv.not_a_percent"),
            ("commission_percent", "-1", "csv.not_a_percent"),
        ];
        for (column, value, key) in cases {
            let bytes = file(&[row_with("P", "S", column, value)]);
            assert_eq!(only(&bytes), (2, col(column), key), "{column}={value}");
        }
        let bytes = file(&[row_with("P", "S", "commission_percent", "12.25%")]);
        assert_eq!(parse_all(&bytes).products[0].commission_bp, 1225);
        for bp in [0, 5, 50, 1225, 1500, 1550, 10_000] {
            assert_eq!(parse_percent(&format_percent(bp)), Some(bp));
        }
    }

    #[test]
    fn categories_urls_and_tags_are_checked() {
        let cases = [
            ("category", "beauty/rockets", "csv.unknown_category"),
            ("category", "weapons", "csv.unknown_category"),
            ("category", "", "csv.required"),
            ("image_url", "javascript:alert(1)", "csv.bad_url"),
            ("image_url", "ftp://x.example/a.png", "csv.bad_url"),
        ];
        for (column, value, key) in cases {
            let bytes = file(&[row_with("P", "S", column, value)]);
            assert_eq!(only(&bytes), (2, col(column), key), "{column}={value}");
        }
        let bytes = format!("{HEADER}\n{}\n", row_with("P", "S", "tags", "\"a,b|c\""));
        assert_eq!(only(bytes.as_bytes()), (2, col("tags"), "csv.tag_comma"));
        // Category paths are case-insensitive; a top category alone is fine.
        let bytes = file(&[row_with("P", "S", "category", "Beauty/SkinCare")]);
        assert_eq!(parse_all(&bytes).products[0].category, "beauty/skincare");
        let bytes = file(&[row_with("P", "S", "category", "pets")]);
        assert!(parse_all(&bytes).errors.is_empty());
    }

    #[test]
    fn empty_required_and_over_long_fields_are_named() {
        for column in ["product_ref", "sku", "title"] {
            let bytes = file(&[row("A", "A-1"), row_with("P", "S", column, "")]);
            assert_eq!(only(&bytes), (3, col(column), "csv.required"), "{column}");
        }
        let title = "长".repeat(TITLE_MAX + 1);
        let bytes = file(&[row_with("P", "S", "title", &title)]);
        assert_eq!(only(&bytes), (2, col("title"), "csv.too_long"));
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::En),
            "line 2, column title: too long: 201 characters, at most 200"
        );
        let ok = file(&[row_with("P", "S", "title", &"长".repeat(TITLE_MAX))]);
        assert!(parse_all(&ok).errors.is_empty());
        let description = "d".repeat(DESCRIPTION_MAX + 1);
        let bytes = file(&[row_with("P", "S", "description", &description)]);
        assert_eq!(only(&bytes), (2, col("description"), "csv.too_long"));
    }

    #[test]
    fn duplicate_skus_name_the_first_line() {
        let bytes = file(&[row("P1", "X"), row("P2", "Y"), row("P2", "X")]);
        assert_eq!(only(&bytes), (4, col("sku"), "csv.duplicate_sku"));
        assert_eq!(
            parse_all(&bytes).errors[0].message(Locale::En),
            "line 4, column sku: SKU “X” is already on line 2"
        );
    }

    #[test]
    fn rows_of_one_product_must_agree() {
        let bytes = file(&[
            row("P1", "P1-a"),
            row("P2", "P2-a"),
            // 59.9 is the same price as 59.90: not a difference.
            row_with("P1", "P1-b", "suggested_price", "59.9"),
            row_with("P1", "P1-c", "cost", "21"),
        ]);
        let parsed = parse_all(&bytes);
        assert_eq!(
            problems(&parsed),
            [(5, Some("cost"), "csv.product_mismatch")]
        );
        assert_eq!(
            parsed.errors[0].message(Locale::En),
            "line 5, column cost: differs from line 2, the first row of product “P1”; every row of a product must repeat the same product columns"
        );
        assert_eq!(parsed.valid_rows(), 3);
    }

    #[test]
    fn an_invalid_first_row_is_reported_once_and_invalidates_its_product() {
        let bytes = file(&[
            row_with("P1", "P1-a", "category", "nope"),
            row_with("P1", "P1-b", "category", "nope"),
            row("P2", "P2-a"),
        ]);
        let parsed = parse_all(&bytes);
        assert_eq!(
            problems(&parsed),
            [(2, Some("category"), "csv.unknown_category")]
        );
        assert_eq!((parsed.rows, parsed.valid_rows()), (3, 1));
    }

    #[test]
    fn lines_are_physical_and_blank_rows_are_ignored() {
        let text = format!(
            "{HEADER}\n{}\n\n{}\n,,,,,,,,,,,,,,,\n{}\n",
            row("P1", "P1-a").replace("Light and fast", "\"two\nlines\""),
            row("P2", "P2-a"),
            row_with("P3", "P3-a", "stock", "-1"),
        );
        let parsed = parse_all(text.as_bytes());
        assert_eq!(
            problems(&parsed),
            [(7, Some("stock"), "csv.negative_stock")]
        );
        assert_eq!(parsed.rows, 3);
        assert_eq!(parsed.products[0].description, "two\nlines");
        assert_eq!(parsed.products[1].line, 5);
        // Windows line ends, and blank lines before the header.
        let text = format!(
            "\r\n{HEADER}\r\n\r\n{}\r\n{}\r\n",
            row("P1", "P1-a"),
            row_with("P2", "P2-a", "stock", "-1"),
        );
        assert_eq!(
            only(text.as_bytes()),
            (5, col("stock"), "csv.negative_stock")
        );
        let text = "\n\nproduct_ref\nP\n";
        assert_eq!(parse_all(text.as_bytes()).errors[0].line, 3);
    }

    #[test]
    fn oversized_files_are_rejected_where_they_cross_the_limit() {
        let bytes = file(&[row("P1", "P1-a"), row("P1", "P1-b"), row("P1", "P1-c")]);
        let limits = ImportLimits {
            max_bytes: 1024 * 1024,
            max_rows: 2,
        };
        let parsed = parse(&bytes, &limits);
        assert_eq!(problems(&parsed), [(4, None, "csv.too_many_rows")]);
        assert!(parsed.is_fatal());
        assert_eq!(parsed.valid_rows(), 0);
        assert_eq!(
            parsed.errors[0].message(Locale::En),
            "line 4: the file has more than 2 rows"
        );
        let limits = ImportLimits {
            max_bytes: 100,
            max_rows: 10,
        };
        let parsed = parse(&bytes, &limits);
        assert_eq!(problems(&parsed), [(1, None, "csv.too_large")]);
    }

    #[test]
    fn the_error_list_is_capped_and_says_how_many_more() {
        let rows: Vec<String> = (0..MAX_ERRORS + 250)
            .map(|i| row_with(&format!("P{i}"), &format!("S{i}"), "stock", "-1"))
            .collect();
        let parsed = parse_all(&file(&rows));
        assert_eq!(parsed.errors.len(), MAX_ERRORS + 1);
        assert_eq!(parsed.errors[MAX_ERRORS - 1].line, MAX_ERRORS as u64 + 1);
        let last = parsed.errors.last().unwrap();
        assert_eq!((last.line, last.key), (0, "csv.more_errors"));
        assert_eq!(last.message(Locale::En), "and 250 more error(s) not listed");
        assert_eq!(last.message(Locale::ZhCn), "另有 250 个错误未列出");
    }

    #[test]
    fn every_key_is_translated_in_both_languages() {
        for key in KEYS {
            for locale in Locale::ALL {
                let text = locale.t(key);
                assert!(!text.ends_with(key), "{key} in {}", locale.code());
            }
        }
        // Placeholders are filled once: a value that looks like one stays as it is.
        assert_eq!(
            fill("%{a} and %{b}", &[("a", "%{b}"), ("b", "x")]),
            "%{b} and x"
        );
        assert_eq!(fill("50%{", &[]), "50%{");
    }

    mod database {
        use super::*;
        use crate::db::{DatabaseUrl, build_pool, run_migrations};

        fn database() -> (tempfile::TempDir, crate::db::Pool) {
            let dir = tempfile::tempdir().unwrap();
            let pool = build_pool(&DatabaseUrl::Sqlite(dir.path().join("t.db")), 1).unwrap();
            run_migrations(&pool).unwrap();
            (dir, pool)
        }

        fn supplier(conn: &mut DbConn, code: &str) -> Supplier {
            model::create_supplier(
                conn,
                Supplier {
                    id: 0,
                    code: code.into(),
                    name: format!("Supplier {code}"),
                    user_id: None,
                    region: "zhejiang".into(),
                    rating_centi: 480,
                    handling_hours: 48,
                    reliability_bp: 9700,
                    return_days: 7,
                    return_policy: "7-day returns".into(),
                    created_at: now(),
                },
            )
            .unwrap()
        }

        fn now() -> NaiveDateTime {
            chrono::DateTime::from_timestamp(1_790_000_000, 0)
                .unwrap()
                .naive_utc()
        }

        #[test]
        fn imports_upserts_rejects_and_round_trips() {
            let (_dir, pool) = database();
            let mut conn = pool.get().unwrap();
            let sup = supplier(&mut conn, "sup-1");
            let other = supplier(&mut conn, "sup-2");
            let good = parse_all(&file(&[
                row("P1", "P1-a"),
                row_with("P1", "P1-b", "size", "50ml"),
                row("P2", "P2-a"),
            ]));
            let mut seen = Vec::new();
            let done = import(&mut conn, &sup, &good, false, now(), |n| seen.push(n)).unwrap();
            assert_eq!(
                done,
                ImportSummary {
                    products_added: 2,
                    skus_added: 3,
                    ..Default::default()
                }
            );
            assert_eq!(seen.last(), Some(&3));
            let version = model::version(&mut conn).unwrap();

            // The same file again changes nothing and does not bump the version.
            let again = import(&mut conn, &sup, &good, false, now(), |_| {}).unwrap();
            assert_eq!(again, ImportSummary::default());
            assert_eq!(model::version(&mut conn).unwrap(), version);

            // A changed price and stock update in place; a new SKU is added.
            let changed = parse_all(&file(&[
                row_with("P1", "P1-a", "stock", "7"),
                row_with("P2", "P2-a", "suggested_price", "69"),
                row_with("P2", "P2-new", "suggested_price", "69"),
            ]));
            let done = import(&mut conn, &sup, &changed, false, now(), |_| {}).unwrap();
            assert_eq!(
                done,
                ImportSummary {
                    products_updated: 1,
                    skus_added: 1,
                    skus_updated: 1,
                    ..Default::default()
                }
            );
            assert!(model::version(&mut conn).unwrap() > version);
            assert_eq!(model::sku_count(&mut conn).unwrap(), 4, "P1-b is kept");

            // Rows for another supplier are refused; nothing is written.
            let before = model::sku_count(&mut conn).unwrap();
            let wrong = parse_all(&file(&[row("P9", "P9-a")]));
            assert!(wrong.errors.is_empty());
            assert_eq!(crate::catalog::csv_io::problems(&wrong, &other).len(), 1);
            assert!(crate::catalog::csv_io::problems(&wrong, &sup).is_empty());
            match import(&mut conn, &other, &wrong, false, now(), |_| {}) {
                Err(ImportError::Invalid(errors)) => {
                    assert_eq!(errors.len(), 1);
                    assert_eq!((errors[0].line, errors[0].key), (2, "csv.wrong_supplier"));
                    assert_eq!(errors[0].column.as_deref(), Some("supplier"));
                }
                other => panic!("{other:?}"),
            }
            // An invalid file writes nothing; with skip_invalid the good rows land.
            let mixed = parse_all(&file(&[
                row("P3", "P3-a"),
                row_with("P4", "P4-a", "cost", "x"),
                row_with("P3", "P3-b", "stock", "-1"),
            ]));
            assert!(matches!(
                import(&mut conn, &sup, &mixed, false, now(), |_| {}),
                Err(ImportError::Invalid(e)) if e.len() == 2
            ));
            assert_eq!(model::sku_count(&mut conn).unwrap(), before);
            let done = import(&mut conn, &sup, &mixed, true, now(), |_| {}).unwrap();
            assert_eq!(
                (done.products_added, done.skus_added, done.rows_skipped),
                (1, 1, 2)
            );

            // Export, then import the export: nothing changes.
            let mut out = Vec::new();
            let rows = export(&mut conn, Some(&sup), &mut out).unwrap();
            assert_eq!(rows, 5);
            assert!(out.starts_with(b"\xEF\xBB\xBFsupplier,product_ref,sku,"));
            let text = String::from_utf8(out.clone()).unwrap();
            assert!(text.contains(",serum|hydrating,"), "{text}");
            assert!(text.contains(",20,59.90,29.90,15.5,"), "{text}");
            let back = parse_all(&out);
            assert!(back.errors.is_empty(), "{:#?}", back.errors);
            let done = import(&mut conn, &sup, &back, false, now(), |_| {}).unwrap();
            assert_eq!(done, ImportSummary::default());
            let mut all = Vec::new();
            assert_eq!(export(&mut conn, None, &mut all).unwrap(), 5);
        }
    }
}
