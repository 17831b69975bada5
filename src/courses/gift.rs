//! Converts a Moodle GIFT question bank into a Kaibo `quiz.md` page.
//!
//! GIFT puts one question per paragraph: `::Name:: question text {answers}`. The file is
//! read the way Moodle's own importer reads it (same type detection, escapes, weights and
//! feedback rules); what Kaibo can express is converted and the rest is reported:
//!
//! | GIFT | Kaibo |
//! |---|---|
//! | `{=right ~wrong}` | single choice |
//! | `{~%50%a ~%50%b ~%-100%c}` | multiple choice (positive weight = correct option) |
//! | `{T}`, `{FALSE#wrong answer feedback#right answer feedback}` | true/false |
//! | `{=GMV =gross merchandise value}` | short answer (fully correct answers only) |
//! | `{#20:0.5}`, `{#18..22}`, `{#20}` | numeric (one answer) |
//! | `#feedback` after an answer | the option's `> feedback` |
//! | `####text` | the `Why:` paragraph |
//! | matching, essay `{}`, description (no braces) | skipped, with their line numbers |
//!
//! Every converted question is loaded with Kaibo's own quiz parser before it is kept, so
//! the page always loads without errors or warnings.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use super::markdown::Links;
use super::{quiz, source};

/// The `Why:` text of questions whose bank has no general feedback.
pub const DEFAULT_WHY: &str = "Imported from a GIFT question bank without general feedback.";
const RIGHT_FEEDBACK: &str = "Correct.";
const WRONG_FEEDBACK: &str = "Not quite.";
const MAX_ID_LEN: usize = 48;
const MAX_CHOICES: usize = 26;
const MAX_ANSWER_CHARS: usize = 200;

/// The result of converting one GIFT file.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// A complete `quiz.md`: front matter, then one `###` section per converted question.
    pub markdown: String,
    /// How many questions are in `markdown`.
    pub converted: usize,
    /// Questions left out, in file order.
    pub skipped: Vec<Skipped>,
    /// What changed on the way (dropped partial-credit answers, feedback, images, ...) and
    /// why questions were skipped, each starting with `line N:`.
    pub warnings: Vec<String>,
}

/// A question Kaibo has no equivalent for, or one that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line where the question starts in the GIFT file.
    pub line: usize,
    /// `matching`, `essay`, `description` or `invalid` (see the warnings for the reason).
    pub kind: String,
    /// The `::Title::`, or the start of the question text when there is none.
    pub title: String,
}

/// Converts a GIFT question bank into a `quiz.md` page titled `title`.
pub fn convert(source: &str, title: &str) -> Conversion {
    let mut markdown = front_matter(title);
    let mut converted = 0;
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    for block in blocks(source) {
        let line = block.line;
        let (name, body) = split_title(&block.text);
        let shown = name.clone().unwrap_or_else(|| snippet(body));
        let mut notes = Vec::new();
        let question = match read_question(body, &mut notes) {
            Ok(question) => question,
            Err(skip) => {
                if let Some(reason) = skip.reason {
                    warnings.push(format!("line {line}: skipped: {reason}"));
                }
                skipped.push(Skipped {
                    line,
                    kind: skip.kind.to_string(),
                    title: shown,
                });
                continue;
            }
        };
        let base = name
            .as_deref()
            .map(slug)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("q-{line}"));
        let id = unique_id(&base, &used);
        let rich = render(&question, &id, name.as_deref(), false);
        let result = match check(&rich) {
            Ok(()) => Ok(rich),
            Err(message) => {
                let plain = render(&question, &id, name.as_deref(), true);
                if plain != rich && check(&plain).is_ok() {
                    notes.push(format!(
                        "its markdown does not load in Kaibo ({message}), so it was imported as plain text"
                    ));
                    Ok(plain)
                } else {
                    Err(message)
                }
            }
        };
        match result {
            Ok(md) => {
                used.insert(id);
                markdown.push('\n');
                markdown.push_str(&md);
                converted += 1;
                warnings.extend(notes.into_iter().map(|n| format!("line {line}: {n}")));
            }
            Err(message) => {
                warnings.push(format!(
                    "line {line}: skipped: the converted question does not load in Kaibo: {message}"
                ));
                skipped.push(Skipped {
                    line,
                    kind: "invalid".into(),
                    title: shown,
                });
            }
        }
    }
    if converted == 0 {
        warnings.push(
            "no question could be converted, so the page has no questions and Kaibo will reject it"
                .into(),
        );
    }
    Conversion {
        markdown,
        converted,
        skipped,
        warnings,
    }
}

fn front_matter(title: &str) -> String {
    format!(
        "+++\ntitle = {}\n\n[quiz]\npass_mark = 80\nmax_attempts = 0\nshuffle = false\n+++\n",
        toml_string(title)
    )
}

fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Loads one converted question with Kaibo's quiz parser; any diagnostic is a failure.
fn check(question: &str) -> Result<(), String> {
    let doc = format!("{}\n{question}", front_matter("Import check"));
    let path = Path::new("quiz.md");
    let split = source::split(path, &doc).map_err(|d| d.message)?;
    let pages = HashMap::new();
    let assets = HashSet::new();
    let links = Links {
        course_slug: "import",
        dir: "",
        pages: &pages,
        assets: &assets,
    };
    let mut diags = Vec::new();
    let parsed = quiz::parse(path, &doc, &split, &links, &mut diags);
    if let Some(d) = diags.first() {
        return Err(d.message.clone());
    }
    match parsed {
        Some(q) if q.questions.len() == 1 => Ok(()),
        _ => Err("the question did not load".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Reading GIFT

/// Escaped GIFT characters (`\~`, `\=`, `\#`, `\{`, `\}`, `\:`, `\\`, `\n`) are hidden as
/// private-use characters while a question is taken apart, so they never act as syntax,
/// and revealed when a piece of text is finished.
const HIDDEN_BASE: u32 = 0xF0000;
/// Marks the gap in a missing-word question; written as `_____`.
const BLANK: char = '\u{F0100}';
const BLANK_TEXT: &str = "_____";

fn hide(c: char) -> char {
    char::from_u32(HIDDEN_BASE + u32::from(c)).unwrap_or(c)
}

fn hide_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(next @ ('\\' | ':' | '#' | '=' | '{' | '}' | '~')) => {
                chars.next();
                out.push(hide(next));
            }
            Some('n') => {
                chars.next();
                out.push(hide('\n'));
            }
            _ => out.push('\\'),
        }
    }
    out
}

fn reveal(text: &str) -> String {
    text.chars()
        .map(|c| {
            let code = u32::from(c);
            if (HIDDEN_BASE..HIDDEN_BASE + 0x80).contains(&code) {
                char::from((code - HIDDEN_BASE) as u8)
            } else {
                c
            }
        })
        .collect()
}

/// One question's text: its non-comment lines, trimmed and joined, escapes hidden.
struct Block {
    line: usize,
    text: String,
}

/// Splits the file at blank lines, drops `//` comment lines and `$CATEGORY:` lines.
fn blocks(source: &str) -> Vec<Block> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut out = Vec::new();
    let mut lines: Vec<(usize, &str)> = Vec::new();
    for (i, line) in source.lines().chain(std::iter::once("")).enumerate() {
        let line = line.trim();
        if !line.is_empty() {
            lines.push((i + 1, line));
            continue;
        }
        let kept: Vec<(usize, &str)> = lines
            .drain(..)
            .filter(|(_, l)| !l.starts_with("//") && !l.starts_with("$CATEGORY:"))
            .collect();
        if let Some(&(first, _)) = kept.first() {
            let text: Vec<&str> = kept.iter().map(|(_, l)| *l).collect();
            out.push(Block {
                line: first,
                text: hide_escapes(&text.join("\n")),
            });
        }
    }
    out
}

/// Takes `::Title::` off the front of a question.
fn split_title(text: &str) -> (Option<String>, &str) {
    let Some(rest) = text.strip_prefix("::") else {
        return (None, text);
    };
    match rest.find("::") {
        Some(end) => {
            let title = collapse(&reveal(&rest[..end]));
            (
                Some(title).filter(|t| !t.is_empty()),
                rest[end + 2..].trim(),
            )
        }
        // Moodle reads an unterminated name as part of the text.
        None => (None, rest.trim()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Moodle's default "auto-format": text that may contain HTML.
    Moodle,
    Html,
    Plain,
    Markdown,
}

/// A piece of question text with its format, escapes revealed.
#[derive(Debug, Clone)]
struct Text {
    format: Format,
    text: String,
}

impl Text {
    fn is_empty(&self) -> bool {
        plain_text(self).is_empty()
    }
}

/// Reads an optional `[html]`, `[markdown]`, `[plain]` or `[moodle]` prefix.
fn with_format(raw: &str, default: Format) -> Text {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        let format = match &rest[..end] {
            "html" => Some(Format::Html),
            "markdown" => Some(Format::Markdown),
            "plain" => Some(Format::Plain),
            "moodle" => Some(Format::Moodle),
            _ => None,
        };
        if let Some(format) = format {
            return Text {
                format,
                text: reveal(rest[end + 1..].trim()),
            };
        }
    }
    Text {
        format: default,
        text: reveal(raw),
    }
}

/// Splits `answer#feedback` at the first `#`.
fn split_feedback(raw: &str, format: Format) -> (Text, Option<Text>) {
    match raw.split_once('#') {
        Some((answer, feedback)) => (
            with_format(answer, format),
            Some(with_format(feedback, format)).filter(|f| !f.is_empty()),
        ),
        None => (with_format(raw, format), None),
    }
}

/// Reads a `%50%` answer weight (percent) off the front of an answer.
fn split_weight(raw: &str) -> Option<(f64, &str)> {
    let rest = raw.strip_prefix('%')?;
    let end = rest.find('%')?;
    let weight: f64 = rest[..end].trim().parse().ok()?;
    weight.is_finite().then_some((weight, &rest[end + 1..]))
}

fn is_full(weight: f64) -> bool {
    weight >= 99.99
}

struct Skip {
    kind: &'static str,
    reason: Option<String>,
}

fn skip(kind: &'static str) -> Skip {
    Skip { kind, reason: None }
}

fn invalid(reason: impl Into<String>) -> Skip {
    Skip {
        kind: "invalid",
        reason: Some(reason.into()),
    }
}

struct Question {
    prompt: Text,
    answers: Answers,
    why: Option<Text>,
}

enum Answers {
    Choice(Vec<Opt>),
    TrueFalse {
        truth: bool,
        /// Shown to a trainee who picks the wrong option.
        wrong: Option<Text>,
        /// Shown to a trainee who picks the right option.
        right: Option<Text>,
    },
    Short(Vec<String>),
    /// The text after `= `: `20 ± 0.5`, `18 .. 22` or a number Kaibo reads exactly.
    Numeric(String),
}

struct Opt {
    label: Text,
    correct: bool,
    feedback: Option<Text>,
}

/// Typed answers plus the feedback of the kept answers and whether other feedback was lost.
struct Typed {
    answers: Answers,
    feedback: Vec<Text>,
    lost_feedback: bool,
}

/// Reads one question (title already removed). `notes` collects what changed.
fn read_question(body: &str, notes: &mut Vec<String>) -> Result<Question, Skip> {
    let (open, close) = match (body.find('{'), body.find('}')) {
        (None, None) => return Err(skip("description")),
        (Some(open), Some(close)) if open < close => (open, close),
        _ => {
            return Err(invalid(
                "the braces around the answers do not match (write a literal brace as `\\{` or `\\}`)",
            ));
        }
    };
    let before = &body[..open];
    let after = &body[close + 1..];
    if after.contains(['{', '}']) {
        return Err(invalid(
            "the question has more than one answer block, and Kaibo has no question with several blanks",
        ));
    }
    let question_text = if after.trim().is_empty() {
        before.to_string()
    } else {
        format!("{before}{BLANK}{after}")
    };
    let prompt = with_format(&question_text, Format::Moodle);
    let format = prompt.format;

    let mut answer_text = body[open + 1..close].trim();
    let mut why = None;
    if let Some(at) = answer_text.rfind("####") {
        why = Some(with_format(&answer_text[at + 4..], format)).filter(|w| !w.is_empty());
        answer_text = answer_text[..at].trim();
    }

    let typed = if answer_text.is_empty() {
        return Err(skip("essay"));
    } else if let Some(numeric) = answer_text.strip_prefix('#') {
        read_numeric(numeric, format, notes)?
    } else if answer_text.contains('~') {
        read_choices(answer_text, format, notes)?
    } else if answer_text.contains('=') && answer_text.contains("->") {
        return Err(skip("matching"));
    } else if is_true_false(answer_text) {
        read_true_false(answer_text, format)
    } else {
        read_short(answer_text, format, notes)?
    };

    let Typed {
        answers,
        mut feedback,
        mut lost_feedback,
    } = typed;
    if matches!(answers, Answers::Short(_) | Answers::Numeric(_)) {
        if why.is_none() && !feedback.is_empty() {
            why = Some(feedback.remove(0));
        }
        lost_feedback |= !feedback.is_empty();
        if lost_feedback {
            notes.push(
                "feedback on individual answers was dropped: Kaibo shows feedback only on choice options (the `Why:` text is shown to everyone)"
                    .into(),
            );
        }
    }
    let html = prompt.format != Format::Plain;
    if (html && body.to_ascii_lowercase().contains("<img")) || body.contains("@@PLUGINFILE@@") {
        notes.push(
            "an image was removed: put it in the course's assets/ folder and add it by hand".into(),
        );
    }
    Ok(Question {
        prompt,
        answers,
        why,
    })
}

fn is_true_false(answer_text: &str) -> bool {
    let head = answer_text.split('#').next().unwrap_or("").trim();
    matches!(head, "T" | "TRUE" | "F" | "FALSE")
}

/// `{T}`, `{FALSE}`, `{T#feedback for a wrong pick#feedback for a right pick}`.
fn read_true_false(answer_text: &str, format: Format) -> Typed {
    let mut bits = answer_text.splitn(3, '#');
    let truth = matches!(bits.next().unwrap_or("").trim(), "T" | "TRUE");
    let mut next = || {
        bits.next()
            .map(|b| with_format(b, format))
            .filter(|t| !t.is_empty())
    };
    let wrong = next();
    let right = next();
    Typed {
        answers: Answers::TrueFalse {
            truth,
            wrong,
            right,
        },
        feedback: Vec::new(),
        lost_feedback: false,
    }
}

/// `{=right ~wrong}` or `{~%50%a ~%50%b ~%-100%c}`. As in Moodle, any `=` makes the question
/// single-answer; without one it is multiple-answer and every positive weight is correct.
fn read_choices(answer_text: &str, format: Format, notes: &mut Vec<String>) -> Result<Typed, Skip> {
    let single = answer_text.contains('=');
    let spread = answer_text.replace('=', "~=");
    let items = spread.split('~').filter(|item| !item.trim().is_empty());
    let mut options = Vec::new();
    let mut weights = Vec::new();
    for item in items {
        let item = item.trim();
        let (weight, rest) = match item.strip_prefix('=') {
            Some(rest) => split_weight(rest.trim_start()).unwrap_or((100.0, rest)),
            None => split_weight(item).unwrap_or((0.0, item)),
        };
        let (label, feedback) = split_feedback(rest, format);
        let correct = if single {
            is_full(weight)
        } else {
            weight > 0.0
        };
        if single && weight > 0.0 && !correct {
            notes.push(format!(
                "option `{}` was worth {weight}% in Moodle; Kaibo has no partial credit in a single-choice question, so it is marked wrong",
                short(&plain_text(&label))
            ));
        }
        weights.push(weight);
        options.push(Opt {
            label,
            correct,
            feedback,
        });
    }
    if options.len() < 2 {
        return Err(invalid("a choice question needs at least two options"));
    }
    if options.len() > MAX_CHOICES {
        return Err(invalid(format!(
            "a choice question has at most {MAX_CHOICES} options in Kaibo"
        )));
    }
    let correct: Vec<f64> = options
        .iter()
        .zip(&weights)
        .filter(|(o, _)| o.correct)
        .map(|(_, w)| *w)
        .collect();
    if correct.is_empty() {
        return Err(invalid(
            "no option is correct: start one with `=` or give it a positive weight such as `~%50%`",
        ));
    }
    if single && correct.len() > 1 {
        notes.push(
            "several options are fully correct (Moodle accepts any one of them); Kaibo makes it a multiple-choice question in which all of them must be picked"
                .into(),
        );
    }
    if !single && correct.iter().any(|w| (w - correct[0]).abs() > 0.01) {
        notes.push(
            "the correct options had different weights in Moodle; Kaibo counts every correct option the same"
                .into(),
        );
    }
    Ok(Typed {
        answers: Answers::Choice(options),
        feedback: Vec::new(),
        lost_feedback: false,
    })
}

/// How Kaibo's quiz parser reads a `= ...` line.
#[derive(Debug, PartialEq, Eq)]
enum Reads {
    Number,
    /// Has `±` or `..` (or is all digits) but is not a valid number: a load error.
    Broken,
    Text,
}

/// Mirrors the quiz parser's rules for telling numeric answers from short answers.
fn kaibo_reads(text: &str) -> Reads {
    let text = text.trim();
    let number = |t: &str| {
        t.trim()
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
    };
    for sep in ["±", "+-", "+/-"] {
        if let Some((value, tolerance)) = text.split_once(sep) {
            return match (number(value), number(tolerance)) {
                (Some(_), Some(t)) if t >= 0.0 => Reads::Number,
                _ => Reads::Broken,
            };
        }
    }
    if let Some((low, high)) = text.split_once("..") {
        return match (number(low), number(high)) {
            (Some(l), Some(h)) if l <= h => Reads::Number,
            _ => Reads::Broken,
        };
    }
    match number(text) {
        Some(_)
            if text
                .chars()
                .all(|c| c.is_ascii_digit() || ".-,".contains(c)) =>
        {
            Reads::Number
        }
        _ => Reads::Text,
    }
}

/// `{=GMV =gross merchandise value}`, `{=%100%conversion =%50%purchase#close}`.
fn read_short(answer_text: &str, format: Format, notes: &mut Vec<String>) -> Result<Typed, Skip> {
    let mut items: Vec<&str> = answer_text.split('=').collect();
    if items.first().is_some_and(|s| s.trim().is_empty()) {
        items.remove(0);
    }
    let mut full: Vec<(String, Reads, Option<Text>)> = Vec::new();
    let mut lost_feedback = false;
    for item in items {
        let item = item.trim();
        let (weight, rest) = split_weight(item).unwrap_or((100.0, item));
        let (answer, feedback) = split_feedback(rest, format);
        let answer = collapse(&answer.text);
        if answer.is_empty() {
            continue;
        }
        if !is_full(weight) {
            notes.push(format!(
                "answer `{}` was worth {weight}% in Moodle; Kaibo accepts only fully correct answers, so it was left out",
                short(&answer)
            ));
            lost_feedback |= feedback.is_some();
            continue;
        }
        if answer.chars().count() > MAX_ANSWER_CHARS {
            notes.push(format!(
                "answer `{}` was left out: Kaibo answers are at most {MAX_ANSWER_CHARS} characters",
                short(&answer)
            ));
            lost_feedback |= feedback.is_some();
            continue;
        }
        match kaibo_reads(&answer) {
            Reads::Broken => {
                notes.push(format!(
                    "answer `{}` was left out: Kaibo would read it as a badly written number",
                    short(&answer)
                ));
                lost_feedback |= feedback.is_some();
            }
            reads => {
                if answer.contains('*') {
                    notes.push(format!(
                        "answer `{}` uses `*`, a Moodle wildcard; Kaibo matches it literally",
                        short(&answer)
                    ));
                }
                full.push((answer, reads, feedback));
            }
        }
    }
    // Kaibo reads a purely numeric answer as a numeric question, which has one answer.
    if let Some(at) = full
        .iter()
        .position(|(_, reads, _)| *reads == Reads::Number)
    {
        let (number, _, feedback) = full.remove(at);
        if !full.is_empty() {
            let others: Vec<String> = full
                .iter()
                .map(|(a, _, _)| format!("`{}`", short(a)))
                .collect();
            notes.push(format!(
                "Kaibo reads `{number}` as a number, and a numeric question has a single answer: {} left out",
                others.join(", ")
            ));
            lost_feedback |= full.iter().any(|(_, _, f)| f.is_some());
        }
        return Ok(Typed {
            answers: Answers::Numeric(number),
            feedback: feedback.into_iter().collect(),
            lost_feedback,
        });
    }
    if full.is_empty() {
        return Err(invalid("the question has no fully correct answer"));
    }
    let mut answers = Vec::new();
    let mut feedback = Vec::new();
    for (answer, _, f) in full {
        answers.push(answer);
        feedback.extend(f);
    }
    Ok(Typed {
        answers: Answers::Short(answers),
        feedback,
        lost_feedback,
    })
}

/// `{#20:0.5}`, `{#18..22}`, `{#20}`, `{#=20:0 =%50%20:2 ~#wrong}`: keeps the fully
/// correct answer (or, failing one, the best weighted answer).
fn read_numeric(answer_text: &str, format: Format, notes: &mut Vec<String>) -> Result<Typed, Skip> {
    let (answer_text, wrong) = match answer_text.find('~') {
        Some(at) => (&answer_text[..at], Some(&answer_text[at + 1..])),
        None => (answer_text, None),
    };
    let mut lost_feedback = wrong.is_some_and(|w| split_feedback(w, format).1.is_some());
    let mut items: Vec<&str> = answer_text.split('=').collect();
    if items.first().is_some_and(|s| s.trim().is_empty()) {
        items.remove(0);
    }
    let mut entries: Vec<(f64, String, Option<Text>)> = Vec::new();
    for item in items {
        let item = item.trim();
        let (weight, rest) = split_weight(item).unwrap_or((100.0, item));
        let (value, feedback) = split_feedback(rest, format);
        let value = collapse(&value.text);
        if value == "*" {
            notes.push("the `*` (any other answer) entry was dropped".into());
            lost_feedback |= feedback.is_some();
            continue;
        }
        let Some(line) = numeric_line(&value) else {
            return Err(invalid(format!(
                "`{}` is not a number, a `value:tolerance` or a `min..max` range",
                short(&value)
            )));
        };
        entries.push((weight, line, feedback));
    }
    let chosen = entries
        .iter()
        .position(|(w, _, _)| is_full(*w))
        .or_else(|| {
            entries
                .iter()
                .enumerate()
                .filter(|(_, (w, _, _))| *w > 0.0)
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
                .map(|(i, _)| i)
        });
    let Some(chosen) = chosen else {
        return Err(invalid(
            "the numeric question has no answer with a positive weight",
        ));
    };
    let (weight, line, feedback) = entries.remove(chosen);
    if !is_full(weight) {
        notes.push(format!(
            "no answer was worth 100%; kept `{line}` (worth {weight}%) as the correct answer"
        ));
    }
    for (w, other, f) in &entries {
        notes.push(format!(
            "answer `{other}` (worth {w}%) was left out: a Kaibo numeric question has a single answer"
        ));
        lost_feedback |= f.is_some();
    }
    Ok(Typed {
        answers: Answers::Numeric(line),
        feedback: feedback.into_iter().collect(),
        lost_feedback,
    })
}

/// A GIFT numeric answer as Kaibo writes it: `20 ± 0.5`, `18 .. 22`, `20 ± 0`.
fn numeric_line(value: &str) -> Option<String> {
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|n| n.is_finite());
    let show = |n: f64| format!("{}", n + 0.0);
    if let Some(at) = value.find("..")
        && at > 0
    {
        let (a, b) = (number(&value[..at])?, number(&value[at + 2..])?);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        return Some(format!("{} .. {}", show(low), show(high)));
    }
    if let Some(at) = value.find(':')
        && at > 0
    {
        let (v, tolerance) = (number(&value[..at])?, number(&value[at + 1..])?);
        return Some(format!("{} ± {}", show(v), show(tolerance.abs())));
    }
    Some(format!("{} ± 0", show(number(value)?)))
}

// ---------------------------------------------------------------------------------------
// Writing markdown

/// One question's markdown. With `plain`, markdown-format text is escaped like plain text.
fn render(q: &Question, id: &str, title: Option<&str>, plain: bool) -> String {
    let mut prompt = md_text(&q.prompt, plain);
    if prompt.is_empty() {
        prompt = title.map_or_else(|| "Question".to_string(), escape);
    }
    let mut md = format!("### {prompt} {{#{id}}}\n\n");
    match &q.answers {
        Answers::Choice(options) => {
            for o in options {
                let label = md_text(&o.label, plain);
                push_option(&mut md, &label, o.correct, o.feedback.as_ref(), plain);
            }
        }
        Answers::TrueFalse {
            truth,
            wrong,
            right,
        } => {
            for (label, correct) in [("True", *truth), ("False", !*truth)] {
                let feedback = if correct { right } else { wrong };
                push_option(&mut md, label, correct, feedback.as_ref(), plain);
            }
        }
        Answers::Short(answers) => {
            for answer in answers {
                let _ = writeln!(md, "= {answer}");
            }
        }
        Answers::Numeric(line) => {
            let _ = writeln!(md, "= {line}");
        }
    }
    let why = q
        .why
        .as_ref()
        .map(|w| md_text(w, plain))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| DEFAULT_WHY.to_string());
    let _ = write!(md, "\nWhy: {why}\n");
    md
}

fn push_option(md: &mut String, label: &str, correct: bool, feedback: Option<&Text>, plain: bool) {
    let feedback = feedback
        .map(|f| md_text(f, plain))
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| {
            if correct {
                RIGHT_FEEDBACK
            } else {
                WRONG_FEEDBACK
            }
            .to_string()
        });
    let mark = if correct { 'x' } else { ' ' };
    let _ = write!(md, "- [{mark}] {label}\n  > {feedback}\n");
}

/// Text as one line of markdown: HTML removed, plain text escaped, `_____` for the gap.
fn md_text(text: &Text, plain: bool) -> String {
    let line = match text.format {
        Format::Plain => collapse(&text.text),
        Format::Html | Format::Moodle => collapse(&decode_entities(&strip_tags(&text.text))),
        Format::Markdown => collapse(&strip_tags(&text.text)),
    };
    let line = if text.format == Format::Markdown && !plain {
        line.replace('{', "\\{").replace('}', "\\}")
    } else {
        escape(&line)
    };
    // Kaibo renders every piece on its own, so a leading `1.` or `-` would make a list.
    guard_line_start(&line).replace(BLANK, BLANK_TEXT)
}

/// Text for messages and skipped titles: no markup at all.
fn plain_text(text: &Text) -> String {
    let line = match text.format {
        Format::Plain => collapse(&text.text),
        Format::Html | Format::Moodle => collapse(&decode_entities(&strip_tags(&text.text))),
        Format::Markdown => collapse(&strip_tags(&text.text)),
    };
    line.replace(BLANK, BLANK_TEXT)
}

/// The start of a question's text, for a skipped question without a title.
fn snippet(body: &str) -> String {
    let open = body.find('{').unwrap_or(body.len());
    let mut text = plain_text(&with_format(&body[..open], Format::Moodle));
    if text.is_empty() {
        let close = body.find('}').map_or(body.len(), |c| c + 1);
        text = plain_text(&with_format(&body[close..], Format::Moodle));
    }
    short(&text)
}

fn short(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Backslash-escapes what markdown would read as markup in a single line of plain text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.char_indices() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '{' | '}' | '~' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '&' if entity_follows(&text[i + 1..]) => out.push_str("\\&"),
            c => out.push(c),
        }
    }
    out
}

fn entity_follows(rest: &str) -> bool {
    let Some(end) = rest.find(';').filter(|&e| e > 0 && e <= 32) else {
        return false;
    };
    let name = rest[..end].strip_prefix('#').unwrap_or(&rest[..end]);
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Keeps a line of text from starting a list, heading or quote.
fn guard_line_start(text: &str) -> String {
    match text.chars().next() {
        Some('-' | '+' | '=' | '*' | '#' | '>') => format!("\\{text}"),
        Some(c) if c.is_ascii_digit() => {
            let end = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            if text[end..].starts_with(['.', ')']) {
                format!("{}\\{}", &text[..end], &text[end..])
            } else {
                text.to_string()
            }
        }
        _ => text.to_string(),
    }
}

const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "audio", "b", "big", "cite", "code", "del", "em", "font", "i", "iframe", "img",
    "ins", "kbd", "mark", "q", "s", "samp", "small", "source", "span", "strike", "strong", "sub",
    "sup", "tt", "u", "var", "video",
];
/// Tags whose content goes too.
const DROPPED_TAGS: &[&str] = &["script", "style"];

/// Removes HTML tags and comments: block tags become a space, inline tags disappear.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(comment) = tail.strip_prefix("<!--")
            && let Some(end) = comment.find("-->")
        {
            rest = &comment[end + 3..];
            continue;
        }
        match tag_at(tail) {
            Some((name, len)) => {
                rest = &tail[len..];
                if DROPPED_TAGS.contains(&name.as_str()) {
                    let closing = format!("</{name}");
                    rest = match rest.to_ascii_lowercase().find(&closing) {
                        Some(end) => {
                            let after = &rest[end..];
                            after.find('>').map_or("", |gt| &after[gt + 1..])
                        }
                        None => "",
                    };
                } else if BLOCK_TAGS.contains(&name.as_str()) {
                    out.push(' ');
                }
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A known HTML tag at the start of `text`: its lowercase name and length in bytes.
fn tag_at(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix('<')?;
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    let name_len = inner
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(inner.len());
    let name = inner[..name_len].to_ascii_lowercase();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !(BLOCK_TAGS.contains(&name.as_str())
            || INLINE_TAGS.contains(&name.as_str())
            || DROPPED_TAGS.contains(&name.as_str()))
    {
        return None;
    }
    let after = &inner[name_len..];
    if !after.starts_with(|c: char| c == '>' || c == '/' || c.is_whitespace()) {
        return None;
    }
    let gt = after.find('>')?;
    Some((name, text.len() - after.len() + gt + 1))
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let decoded = tail
            .find(';')
            .filter(|&end| end > 0 && end <= 10)
            .and_then(|end| entity(&tail[..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| !c.is_control() || c.is_whitespace());
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "deg" => '°',
        "yen" => '¥',
        "euro" => '€',
        "pound" => '£',
        "cent" => '¢',
        "copy" => '©',
        "reg" => '®',
        "middot" => '·',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Question ids

/// `Gross margin: basics!` -> `gross-margin-basics`, at most 48 characters.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_ID_LEN);
    out.trim_end_matches('-').to_string()
}

fn unique_id(base: &str, used: &HashSet<String>) -> String {
    if !used.contains(base) {
        return base.to_string();
    }
    let mut n = 2;
    loop {
        let id = format!("{base}-{n}");
        if !used.contains(&id) {
            return id;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::path::Path;

    use super::*;
    use crate::courses::markdown::Links;
    use crate::courses::model::{Choice, Question as KaiboQuestion, QuestionKind, Quiz};

    /// Loads `md` with Kaibo's quiz parser and fails on any diagnostic.
    fn load(md: &str) -> Quiz {
        let path = Path::new("courses/c/01-m/quiz.md");
        let split = crate::courses::source::split(path, md).unwrap();
        let pages = HashMap::new();
        let assets = HashSet::new();
        let links = Links {
            course_slug: "c",
            dir: "01-m",
            pages: &pages,
            assets: &assets,
        };
        let mut diags = Vec::new();
        let quiz = crate::courses::quiz::parse(path, md, &split, &links, &mut diags);
        assert!(diags.is_empty(), "{diags:#?}\n{md}");
        quiz.expect("the converted quiz loads")
    }

    /// Converts `gift`, loads the result and returns both.
    fn run(gift: &str) -> (Conversion, Quiz) {
        let conversion = convert(gift, "Imported");
        let quiz = load(&conversion.markdown);
        assert_eq!(quiz.questions.len(), conversion.converted);
        (conversion, quiz)
    }

    /// Converts a bank of exactly one convertible question.
    fn single(gift: &str) -> (Conversion, KaiboQuestion) {
        let (conversion, quiz) = run(gift);
        assert_eq!(conversion.converted, 1, "{conversion:#?}");
        assert!(conversion.skipped.is_empty(), "{conversion:#?}");
        let question = quiz.questions.into_iter().next().unwrap();
        (conversion, question)
    }

    fn marks(choices: &[Choice]) -> Vec<(String, bool)> {
        choices
            .iter()
            .map(|c| (c.label_html.clone(), c.correct))
            .collect()
    }

    fn feedback(choices: &[Choice]) -> Vec<String> {
        choices.iter().map(|c| c.feedback_html.clone()).collect()
    }

    fn numeric(kind: &QuestionKind) -> (f64, f64, String) {
        match kind {
            QuestionKind::Numeric { min, max, shown } => (*min, *max, shown.clone()),
            other => panic!("expected a numeric question, got {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn writes_front_matter_and_a_single_choice_question() {
        let gift = "::Margin::What is margin? {=Profit ÷ price#Right. ~Profit ÷ cost#That is markup. ####Margin uses the price.}\n";
        let conversion = convert(gift, "Check: margins");
        assert_eq!(
            conversion.markdown,
            "+++\ntitle = \"Check: margins\"\n\n[quiz]\npass_mark = 80\nmax_attempts = 0\nshuffle = false\n+++\n\
             \n### What is margin? {#margin}\n\n\
             - [x] Profit ÷ price\n  > Right.\n\
             - [ ] Profit ÷ cost\n  > That is markup.\n\
             \nWhy: Margin uses the price.\n"
        );
        assert_eq!(conversion.converted, 1);
        assert!(conversion.skipped.is_empty());
        assert!(conversion.warnings.is_empty(), "{:?}", conversion.warnings);
        let quiz = load(&conversion.markdown);
        assert_eq!(quiz.title, "Check: margins");
        assert_eq!(quiz.pass_mark, 80);
        assert_eq!(quiz.max_attempts, 0);
        assert!(!quiz.shuffle);
        let q = &quiz.questions[0];
        assert_eq!(q.id, "margin");
        assert_eq!(q.points, 1);
        assert_eq!(q.prompt_html, "What is margin?");
        assert!(matches!(q.kind, QuestionKind::Single(_)), "{:?}", q.kind);
        assert_eq!(
            marks(q.kind.choices()),
            [
                ("Profit ÷ price".into(), true),
                ("Profit ÷ cost".into(), false)
            ]
        );
        assert_eq!(feedback(q.kind.choices()), ["Right.", "That is markup."]);
        assert_eq!(q.explanation_html.trim(), "<p>Margin uses the price.</p>");
    }

    #[test]
    fn options_without_feedback_get_a_default_one() {
        let (conversion, q) = single("Pick one {=right ~wrong#No. ~other}");
        assert!(conversion.markdown.contains("- [x] right\n  > Correct.\n"));
        assert!(
            conversion
                .markdown
                .contains("- [ ] other\n  > Not quite.\n")
        );
        assert_eq!(
            feedback(q.kind.choices()),
            ["Correct.", "No.", "Not quite."]
        );
    }

    #[test]
    fn weighted_answers_make_a_multiple_choice_question() {
        let (conversion, q) = single(
            "::Red flags::Which are red flags? {\n~%50%No licence#Right.\n~%50%Fake reviews\n~%-100%Fast shipping#No.\n~Good ratings\n}",
        );
        assert!(matches!(q.kind, QuestionKind::Multiple(_)), "{:?}", q.kind);
        assert_eq!(
            marks(q.kind.choices()),
            [
                ("No licence".into(), true),
                ("Fake reviews".into(), true),
                ("Fast shipping".into(), false),
                ("Good ratings".into(), false),
            ]
        );
        assert_eq!(
            feedback(q.kind.choices()),
            ["Right.", "Correct.", "No.", "Not quite."]
        );
        assert!(conversion.warnings.is_empty(), "{:?}", conversion.warnings);

        // Unequal weights are kept as correct options, with a warning.
        let (conversion, q) = single("Which? {~%70%a ~%30%b ~%-50%c}");
        assert!(q.kind.is_multiple());
        assert_eq!(conversion.warnings.len(), 1, "{:?}", conversion.warnings);
        assert!(
            conversion.warnings[0].starts_with("line 1: the correct options had different weights")
        );

        // `=` counts as fully correct next to weights.
        let (_, q) = single("Which? {=a ~%100%b ~%-100%c}");
        assert_eq!(
            marks(q.kind.choices()),
            [("a".into(), true), ("b".into(), true), ("c".into(), false)]
        );
    }

    #[test]
    fn a_single_answer_question_keeps_only_fully_correct_options() {
        let (conversion, q) = single("Best? {=a ~%50%b ~c}");
        assert!(matches!(q.kind, QuestionKind::Single(_)), "{:?}", q.kind);
        assert_eq!(
            marks(q.kind.choices()),
            [("a".into(), true), ("b".into(), false), ("c".into(), false)]
        );
        assert_eq!(conversion.warnings.len(), 1);
        assert!(
            conversion.warnings[0].contains("option `b` was worth 50%"),
            "{:?}",
            conversion.warnings
        );

        let (conversion, q) = single("Either? {=a =b ~c}");
        assert!(q.kind.is_multiple());
        assert!(conversion.warnings[0].contains("several options are fully correct"));
    }

    #[test]
    fn true_false_questions() {
        for (answer, truth) in [("T", true), ("TRUE", true), ("F", false), ("FALSE", false)] {
            let (conversion, q) = single(&format!("Margins can be negative.{{{answer}}}"));
            let QuestionKind::TrueFalse(choices) = &q.kind else {
                panic!("{answer}: expected true/false, got {:?}", q.kind);
            };
            assert_eq!(
                marks(choices),
                [("True".into(), truth), ("False".into(), !truth)],
                "{answer}"
            );
            assert!(
                conversion.markdown.contains(
                    "\nWhy: Imported from a GIFT question bank without general feedback.\n"
                )
            );
        }

        // `{T#for a wrong pick#for a right pick}`: the right option gets the second text.
        let (_, q) = single("Sample first.{T#Photos are not enough.#Right: always order one.}");
        assert_eq!(
            feedback(q.kind.choices()),
            ["Right: always order one.", "Photos are not enough."]
        );
        let (_, q) = single("Skip the sample.{FALSE#Photos are not enough.#Right: order one.}");
        assert_eq!(
            marks(q.kind.choices()),
            [("True".into(), false), ("False".into(), true)]
        );
        assert_eq!(
            feedback(q.kind.choices()),
            ["Photos are not enough.", "Right: order one."]
        );
        // Only wrong-pick feedback; the right option falls back to the default.
        let (_, q) = single("Skip the sample.{F#Photos are not enough.####Always test.}");
        assert_eq!(
            feedback(q.kind.choices()),
            ["Photos are not enough.", "Correct."]
        );
        assert_eq!(q.explanation_html.trim(), "<p>Always test.</p>");
        // Lowercase is a short answer in Moodle, and so here.
        let (_, q) = single("Say it.{true}");
        assert!(matches!(&q.kind, QuestionKind::Short(a) if a == &["true"]));
    }

    #[test]
    fn short_answer_questions() {
        let (conversion, q) = single(
            "::GMV::What is GMV short for? {=gross merchandise value =Gross Merchandise Volume}",
        );
        assert!(
            conversion
                .markdown
                .contains("\n= gross merchandise value\n= Gross Merchandise Volume\n")
        );
        let QuestionKind::Short(answers) = &q.kind else {
            panic!("{:?}", q.kind)
        };
        assert_eq!(
            answers,
            &["gross merchandise value", "Gross Merchandise Volume"]
        );

        // A single answer, with or without `=`.
        let (_, q) = single("Which metric counts orders placed? {=GMV}");
        assert!(matches!(&q.kind, QuestionKind::Short(a) if a == &["GMV"]));
        let (_, q) = single("Which metric counts orders placed? {GMV}");
        assert!(matches!(&q.kind, QuestionKind::Short(a) if a == &["GMV"]));

        // Partial-credit answers are left out, with a warning.
        let (conversion, q) =
            single("Buyers ÷ viewers is the ___ rate. {=%100%conversion =%50%purchase#Close.}");
        assert!(matches!(&q.kind, QuestionKind::Short(a) if a == &["conversion"]));
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.starts_with("line 1: answer `purchase` was worth 50%")),
            "{:?}",
            conversion.warnings
        );
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("feedback on individual answers was dropped"))
        );

        // No fully correct answer at all: skipped.
        let conversion = convert("Name it. {=%50%maybe}", "t");
        assert_eq!(conversion.converted, 0);
        assert_eq!(conversion.skipped[0].kind, "invalid");
    }

    #[test]
    fn short_answers_kaibo_would_read_as_numbers() {
        // Kaibo reads `42` as a numeric answer, and a numeric question has one answer.
        let (conversion, q) = single("How many? {=42 =forty-two}");
        let (min, max, _) = numeric(&q.kind);
        assert!(close(min, 42.0) && close(max, 42.0));
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("`forty-two`")),
            "{:?}",
            conversion.warnings
        );

        // `etc...` contains `..`, which Kaibo would reject as a broken range.
        let (conversion, q) = single("Say more. {=and so on =etc...}");
        assert!(matches!(&q.kind, QuestionKind::Short(a) if a == &["and so on"]));
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("`etc...` was left out"))
        );
    }

    #[test]
    fn numeric_questions() {
        let cases = [
            ("{#20:0.5}", "= 20 ± 0.5", 19.5, 20.5),
            ("{#18..22}", "= 18 .. 22", 18.0, 22.0),
            ("{#22..18}", "= 18 .. 22", 18.0, 22.0),
            ("{#20}", "= 20 ± 0", 20.0, 20.0),
            ("{#-2.5:0.25}", "= -2.5 ± 0.25", -2.75, -2.25),
            ("{# 19.35 : 0.05 }", "= 19.35 ± 0.05", 19.3, 19.4),
            ("{#\n=20:0\n=%50%20:2\n}", "= 20 ± 0", 20.0, 20.0),
            ("{#=%50%20:2 =%100%20:0.1}", "= 20 ± 0.1", 19.9, 20.1),
        ];
        for (answers, line, low, high) in cases {
            let (conversion, q) = single(&format!("How much? {answers}"));
            assert!(
                conversion.markdown.contains(&format!("\n{line}\n")),
                "{answers}:\n{}",
                conversion.markdown
            );
            let (min, max, _) = numeric(&q.kind);
            assert!(
                close(min, low) && close(max, high),
                "{answers}: {min}..{max}"
            );
        }

        let (conversion, _) = single("How much? {#=20:0#Exact. =%50%20:2#Close. ~#Divide first.}");
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("answer `20 ± 2` (worth 50%) was left out")),
            "{:?}",
            conversion.warnings
        );
        // The kept answer's feedback becomes the explanation, the rest is reported.
        assert!(conversion.markdown.contains("\nWhy: Exact.\n"));
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("feedback on individual answers was dropped"))
        );

        for broken in ["{#abc}", "{#1..x}", "{#=%0%5}"] {
            let conversion = convert(&format!("How much? {broken}"), "t");
            assert_eq!(conversion.converted, 0, "{broken}");
            assert_eq!(conversion.skipped[0].kind, "invalid", "{broken}");
        }
    }

    #[test]
    fn general_feedback_becomes_why() {
        let (conversion, q) = single("Pick. {=a ~b ####Because **a** is right.}");
        assert!(
            conversion
                .markdown
                .contains("\nWhy: Because \\*\\*a\\*\\* is right.\n")
        );
        assert_eq!(q.explanation_html.trim(), "<p>Because **a** is right.</p>");

        let (conversion, q) = single("Pick. {=a ~b}");
        assert!(
            conversion
                .markdown
                .ends_with(&format!("\nWhy: {DEFAULT_WHY}\n"))
        );
        assert!(q.explanation_html.contains("without general feedback"));

        // Short answers: the general feedback wins over per-answer feedback.
        let (conversion, q) = single("Term? {=GMV#Yes. ####GMV is orders placed.}");
        assert_eq!(q.explanation_html.trim(), "<p>GMV is orders placed.</p>");
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.contains("feedback on individual answers was dropped"))
        );
        // Without general feedback, the correct answer's feedback explains it.
        let (conversion, q) = single("Term? {=GMV#Orders placed, before refunds.}");
        assert_eq!(
            q.explanation_html.trim(),
            "<p>Orders placed, before refunds.</p>"
        );
        assert!(conversion.warnings.is_empty(), "{:?}", conversion.warnings);
    }

    #[test]
    fn missing_word_questions_get_a_blank() {
        let (conversion, q) =
            single("::Pin::While you demo it, {~hide =pin ~mute} the product link.");
        assert!(
            conversion
                .markdown
                .contains("### While you demo it, _____ the product link. {#pin}\n")
        );
        assert_eq!(q.prompt_html, "While you demo it, _____ the product link.");
        assert!(matches!(q.kind, QuestionKind::Single(_)));

        let (_, q) = single("Buyers ÷ viewers is the {=conversion} rate.");
        assert_eq!(q.prompt_html, "Buyers ÷ viewers is the _____ rate.");

        // Answers at the very end leave no blank.
        let (_, q) = single("Is this a blank? {T}");
        assert_eq!(q.prompt_html, "Is this a blank?");
    }

    #[test]
    fn unsupported_questions_are_skipped_with_their_line_numbers() {
        let gift = "\
// A bank with nothing Kaibo can grade.

::Match::Match the terms. {
=GMV -> orders placed
=CVR -> buyers ÷ viewers
}

::Pitch::Write your pitch.{}

Welcome to the quiz: no braces, so this is a description.

::Reflect::Reflect on your last show.{####We read every answer.}

::Good::Still converts. {T}
";
        let conversion = convert(gift, "t");
        assert_eq!(
            conversion.skipped,
            [
                Skipped {
                    line: 3,
                    kind: "matching".into(),
                    title: "Match".into()
                },
                Skipped {
                    line: 8,
                    kind: "essay".into(),
                    title: "Pitch".into()
                },
                Skipped {
                    line: 10,
                    kind: "description".into(),
                    title: "Welcome to the quiz: no braces, so this is a description.".into()
                },
                Skipped {
                    line: 12,
                    kind: "essay".into(),
                    title: "Reflect".into()
                },
            ]
        );
        assert_eq!(conversion.converted, 1);
        assert!(conversion.warnings.is_empty(), "{:?}", conversion.warnings);
        let quiz = load(&conversion.markdown);
        assert_eq!(quiz.questions[0].id, "good");
    }

    #[test]
    fn broken_questions_are_skipped_as_invalid() {
        let gift = "\
::Open::No closing brace {=a ~b

::Close::No opening brace =a ~b}

::None right::Which? {~a ~b}

::Alone::Which? {~=a}

::Two blanks::The {=cat} sat on the {=mat}.

::Fine::Still here? {T}
";
        let conversion = convert(gift, "t");
        let lines: Vec<(usize, &str)> = conversion
            .skipped
            .iter()
            .map(|s| (s.line, s.kind.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "invalid"),
                (3, "invalid"),
                (5, "invalid"),
                (7, "invalid"),
                (9, "invalid")
            ]
        );
        assert_eq!(conversion.warnings.len(), 5, "{:#?}", conversion.warnings);
        assert!(conversion.warnings[0].starts_with("line 1: skipped: the braces"));
        assert!(conversion.warnings[2].starts_with("line 5: skipped: no option is correct"));
        assert!(conversion.warnings[3].contains("at least two options"));
        assert!(conversion.warnings[4].contains("more than one answer block"));
        assert_eq!(conversion.converted, 1);
        load(&conversion.markdown);
    }

    #[test]
    fn comments_categories_and_format_prefixes() {
        let gift = "\
// exported from Moodle
$CATEGORY: $course$/top/Live selling

// question: 12  name: Html one
::Html one::[html]<p>Is the <b>return&nbsp;policy</b> &amp; warranty stated?</p>{
\t=Yes, <i>always</i>#<p>Right.</p>
\t~No
}

::Plain one::[plain]Is <b> shown as text? {=Yes ~No}

::Markdown one::[markdown]Is **this** bold?{TRUE}

::Moodle one::[moodle]Plain <em>enough</em>?{=Yes ~No}
";
        let (conversion, quiz) = run(gift);
        assert_eq!(conversion.converted, 4);
        assert!(conversion.skipped.is_empty());
        assert!(
            !conversion.markdown.contains("<p>"),
            "{}",
            conversion.markdown
        );
        assert!(!conversion.markdown.contains("CATEGORY"));
        assert!(!conversion.markdown.contains("exported"));
        let q = &quiz.questions;
        assert_eq!(
            q[0].prompt_html,
            "Is the return policy &amp; warranty stated?"
        );
        assert_eq!(marks(q[0].kind.choices())[0], ("Yes, always".into(), true));
        assert_eq!(feedback(q[0].kind.choices())[0], "Right.");
        assert_eq!(q[1].prompt_html, "Is &lt;b&gt; shown as text?");
        assert!(
            conversion
                .markdown
                .contains("### Is \\<b\\> shown as text? {#plain-one}")
        );
        assert_eq!(q[2].prompt_html, "Is <strong>this</strong> bold?");
        assert!(matches!(q[2].kind, QuestionKind::TrueFalse(_)));
        assert_eq!(q[3].prompt_html, "Plain enough?");
    }

    #[test]
    fn gift_escapes() {
        let (conversion, q) = single(
            "::Price\\: ¥80::Is 100 \\= 80 + 20 \\{really\\} \\~ \\#1? {=Yes \\= sure#It \\= 100. ~No\\~#Check \\#2.}",
        );
        assert_eq!(q.id, "price-80");
        assert_eq!(q.prompt_html, "Is 100 = 80 + 20 {really} ~ #1?");
        assert_eq!(
            marks(q.kind.choices()),
            [("Yes = sure".into(), true), ("No~".into(), false)]
        );
        assert_eq!(feedback(q.kind.choices()), ["It = 100.", "Check #2."]);
        assert!(
            conversion
                .markdown
                .contains("{really\\} \\~ \\#1? {#price-80}")
        );

        let (_, q) = single("A backslash \\\\ and a new\\nline {T}");
        assert_eq!(q.prompt_html, "A backslash \\ and a new line");
    }

    #[test]
    fn markdown_characters_in_plain_text_stay_literal() {
        let (conversion, q) = single(
            "5 * 3 * 2 = 30, see [the lesson](01-intro.md), is a<b, c>d? <script>x</script>| `code` _a_ {=[x] done#- not a list ~1. nor this#2) nor this}",
        );
        // Scripts go (Moodle's default format is HTML); a bare `<` stays text.
        assert_eq!(
            q.prompt_html,
            "5 * 3 * 2 = 30, see [the lesson](01-intro.md), is a&lt;b, c&gt;d? | `code` _a_"
        );
        assert_eq!(
            marks(q.kind.choices()),
            [("[x] done".into(), true), ("1. nor this".into(), false)]
        );
        assert_eq!(feedback(q.kind.choices()), ["- not a list", "2) nor this"]);
        assert!(conversion.markdown.contains("  > \\- not a list\n"));
    }

    #[test]
    fn markdown_that_does_not_load_is_imported_as_plain_text() {
        let (conversion, q) = single(
            "[markdown]Read **this** first. {T####See [the lesson](01-intro.md) and ![a chart](chart.png).}",
        );
        assert!(
            q.explanation_html.contains("[the lesson](01-intro.md)"),
            "{}",
            q.explanation_html
        );
        assert_eq!(q.prompt_html, "Read **this** first.");
        assert_eq!(conversion.warnings.len(), 1);
        assert!(
            conversion.warnings[0].contains("imported as plain text"),
            "{:?}",
            conversion.warnings
        );

        // External links are fine in markdown and stay links.
        let (conversion, q) = single("[markdown]See [the rules](https://example.com/rules).{T}");
        assert!(
            q.prompt_html.contains("href=\"https://example.com/rules\""),
            "{}",
            q.prompt_html
        );
        assert!(conversion.warnings.is_empty());
    }

    #[test]
    fn html_images_are_removed_with_a_warning() {
        let (conversion, q) =
            single("[html]<p>Which chart?</p><img src=\"@@PLUGINFILE@@/a.png\" alt=\"\">{=A ~B}");
        assert_eq!(q.prompt_html, "Which chart?");
        assert!(
            conversion.warnings[0].contains("an image was removed"),
            "{:?}",
            conversion.warnings
        );
    }

    #[test]
    fn question_ids() {
        let long = "A very long question title that goes on and on about margins and more";
        let gift = format!(
            "::Gross margin: basics!::Q? {{T}}\n\n\
             ::Gross margin: basics!::Q? {{T}}\n\n\
             ::gross margin   basics::Q? {{T}}\n\n\
             Untitled? {{T}}\n\n\
             ::毛利率::Q? {{T}}\n\n\
             ::q-7::Q? {{T}}\n\n\
             ::{long}::Q? {{T}}\n\n\
             ::--Trim me--::Q? {{T}}\n"
        );
        let (conversion, quiz) = run(&gift);
        let ids: Vec<&str> = quiz.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "gross-margin-basics",
                "gross-margin-basics-2",
                "gross-margin-basics-3",
                "q-7",
                "q-9",
                "q-7-2",
                "a-very-long-question-title-that-goes-on-and-on-a",
                "trim-me",
            ]
        );
        assert!(ids[6].len() <= 48);
        assert_eq!(conversion.converted, 8);
        // Cut at 48 characters, then no dash at the end.
        let cut = format!("{} tail", "a".repeat(47));
        assert_eq!(slug(&cut), "a".repeat(47));
        assert_eq!(slug("  "), "");
    }

    #[test]
    fn moodle_export_style_loads() {
        let gift = "// question: 101  name: Commission\r\n\
::Commission::[html]<p>¥129 at 15 % commission earns how much?</p>{#\r\n\
\t=%100%19.35:0.05#\r\n\
\t~#<p>Multiply the price by the rate.</p>\r\n\
\t####<p>129 × 0.15 \\= 19.35</p>\r\n\
}\r\n\
\r\n\
// question: 102  name: GMV\r\n\
::GMV::[html]<p>Name the total value of orders placed.</p>{\r\n\
\t=%100%GMV#\r\n\
\t=%100%gross merchandise value#\r\n\
}\r\n\
\r\n\
// question: 103  name: Sample\r\n\
::Sample::[html]<p>Always order a sample.</p>{TRUE##<p>Right.</p>}\r\n";
        let (conversion, quiz) = run(gift);
        assert_eq!(conversion.converted, 3, "{conversion:#?}");
        let q = &quiz.questions;
        assert_eq!(numeric(&q[0].kind).2, "19.35 ± 0.05");
        assert_eq!(q[0].explanation_html.trim(), "<p>129 × 0.15 = 19.35</p>");
        assert!(
            matches!(&q[1].kind, QuestionKind::Short(a) if a == &["GMV", "gross merchandise value"])
        );
        assert_eq!(feedback(q[2].kind.choices()), ["Right.", "Not quite."]);
        assert_eq!(
            conversion.warnings,
            [
                "line 2: feedback on individual answers was dropped: Kaibo shows feedback only on choice options (the `Why:` text is shown to everyone)"
            ]
        );
    }

    #[test]
    fn the_title_is_written_as_a_toml_string() {
        let conversion = convert("Q? {T}", "Quiz \"one\" \\ two");
        assert!(
            conversion
                .markdown
                .starts_with("+++\ntitle = \"Quiz \\\"one\\\" \\\\ two\"\n")
        );
        assert_eq!(load(&conversion.markdown).title, "Quiz \"one\" \\ two");
    }

    #[test]
    fn an_empty_bank_warns() {
        let conversion = convert("// only a comment\n\n$CATEGORY: x\n", "t");
        assert_eq!(conversion.converted, 0);
        assert!(conversion.skipped.is_empty());
        assert_eq!(conversion.warnings.len(), 1);
        assert!(conversion.warnings[0].starts_with("no question could be converted"));
    }

    #[test]
    fn sample_fixture_converts() {
        let gift = include_str!("../../tests/fixtures/gift/sample.gift");
        let (conversion, quiz) = run(gift);
        assert_eq!(conversion.converted, 11, "{conversion:#?}");
        assert_eq!(
            conversion.skipped,
            [
                Skipped {
                    line: 64,
                    kind: "matching".into(),
                    title: "Metric meanings".into()
                },
                Skipped {
                    line: 71,
                    kind: "essay".into(),
                    title: "Your honest pitch".into()
                },
            ]
        );
        let summary: Vec<(&str, &str)> = quiz
            .questions
            .iter()
            .map(|q| (q.id.as_str(), q.kind.name()))
            .collect();
        assert_eq!(
            summary,
            [
                ("gross-margin-on-tea", "single"),
                ("claims-you-can-prove", "multiple"),
                ("skip-the-sample", "true-false"),
                ("q-28", "true-false"),
                ("gmv-name", "short"),
                ("conversion-term", "short"),
                ("commission-per-order", "numeric"),
                ("conversion-rate", "numeric"),
                ("break-even-sales", "numeric"),
                ("pin-the-link", "single"),
                ("return-policy-on-air", "single"),
            ]
        );
        let q = |id: &str| quiz.question(id).unwrap();
        assert_eq!(
            feedback(q("gross-margin-on-tea").kind.choices())[0],
            "Right: (90 − 54) ÷ 90 = 40 %."
        );
        assert_eq!(
            marks(q("claims-you-can-prove").kind.choices())
                .iter()
                .map(|(_, c)| *c)
                .collect::<Vec<_>>(),
            [true, true, false, false]
        );
        assert_eq!(
            q("q-28").prompt_html,
            "A returned order earns the creator <strong>no</strong> commission."
        );
        assert_eq!(
            q("conversion-term").prompt_html,
            "Buyers divided by viewers is the _____ rate of a live session."
        );
        assert!(
            matches!(&q("conversion-term").kind, QuestionKind::Short(a) if a == &["conversion"])
        );
        assert_eq!(numeric(&q("commission-per-order").kind).2, "19.35 ± 0.05");
        assert_eq!(numeric(&q("conversion-rate").kind).2, "2.4 .. 2.6");
        assert_eq!(numeric(&q("break-even-sales").kind).2, "30 ± 0");
        assert_eq!(
            q("break-even-sales").explanation_html.trim(),
            "<p>Fixed cost ÷ earnings per sale = sales needed.</p>"
        );
        assert_eq!(
            q("return-policy-on-air").prompt_html,
            "What is the best reason to state the return policy on air?"
        );
        // Partial-credit answers and dropped feedback are reported, with their lines.
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.starts_with("line 38: answer `purchase` was worth 50%")),
            "{:#?}",
            conversion.warnings
        );
        assert!(
            conversion
                .warnings
                .iter()
                .any(|w| w.starts_with("line 47: answer `30 ± 2` (worth 50%) was left out")),
            "{:#?}",
            conversion.warnings
        );
        assert!(
            conversion
                .warnings
                .iter()
                .all(|w| w.starts_with("line 38:") || w.starts_with("line 47:")),
            "{:#?}",
            conversion.warnings
        );
    }

    #[test]
    fn odd_input_never_produces_a_page_kaibo_rejects() {
        let prompts = [
            "",
            "Q?",
            "1. list",
            "- dash",
            "# hash",
            "> quote",
            "---",
            "___",
            "```",
            "    indented",
            "[html]<p>x</p>",
            "[markdown]**b** [l](x.md) ![i](x.png)",
            "[plain]<b>",
            "a & b &amp; c",
            "::T::",
            "::::q",
            "<!-- c -->",
            "|a|b|",
            "x\\{y\\}",
            "Why: no",
        ];
        let answers = [
            "{}",
            "{T}",
            "{F#}",
            "{TRUE#a#b#c}",
            "{=a}",
            "{=1. x ~- y}",
            "{~a ~b}",
            "{=a ~b#1) c}",
            "{#1}",
            "{#1..}",
            "{#1:2:3}",
            "{#=%50%1 =%50%2}",
            "{=%100%x =%100%2}",
            "{= =}",
            "{~ ~}",
            "{=a->b =c->d}",
            "{####only}",
            "{=a ~b ####[markdown]![i](x.png)}",
            "{=<img src=x> ~b}",
            "{=&amp; ~&lt;}",
            "{=True =False}",
            "{~%50%True ~%50%False}",
            "{=[x] ~[ ]}",
            "{=±1}",
            "{=1 ± 2}",
            "{=1,000}",
            "{#inf}",
            "{#1e3}",
            "{=a\\n~b}",
        ];
        for prompt in prompts {
            for answer in answers {
                for tail in ["", " 1. tail"] {
                    let gift =
                        format!("{prompt} {answer}{tail}\n\n::Same::x {{T}}\n\n::Same::y {{T}}");
                    let conversion = convert(&gift, "t");
                    assert!(conversion.converted >= 2, "{gift}");
                    assert_eq!(conversion.converted + conversion.skipped.len(), 3, "{gift}");
                    let quiz = load(&conversion.markdown);
                    assert_eq!(quiz.questions.len(), conversion.converted);
                }
            }
        }
    }
}
