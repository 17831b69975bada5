//! Reads a `quiz.md` page: `### question {#id points=N}` headings, task-list options with
//! quoted feedback, `= answer` lines, and `Why:` explanations.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{Event, HeadingLevel, Tag, TagEnd};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::diagnostics::Diagnostic;
use super::markdown::{self, Links, Place};
use super::model::{Choice, Question, QuestionKind, Quiz};
use super::source::{self, Split};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuizFront {
    title: Option<String>,
    #[serde(default)]
    quiz: QuizSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuizSettings {
    #[serde(default = "default_pass_mark")]
    pass_mark: u32,
    #[serde(default)]
    max_attempts: u32,
    #[serde(default)]
    shuffle: bool,
}

fn default_pass_mark() -> u32 {
    80
}

impl Default for QuizSettings {
    fn default() -> Self {
        Self {
            pass_mark: default_pass_mark(),
            max_attempts: 0,
            shuffle: false,
        }
    }
}

const MAX_POINTS: u32 = 100;
const MAX_CHOICES: usize = 26;

/// One top-level block of the body: its events and its byte range in the body.
struct Block<'a> {
    events: Vec<(Event<'a>, Range<usize>)>,
    range: Range<usize>,
}

fn blocks(body: &str) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current: Vec<(Event<'_>, Range<usize>)> = Vec::new();
    let mut start = 0;
    for (event, range) in markdown::parser(body).into_offset_iter() {
        if depth == 0 {
            start = range.start;
        }
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        let end = range.end;
        current.push((event, range));
        if depth == 0 {
            out.push(Block {
                events: std::mem::take(&mut current),
                range: start..end,
            });
        }
    }
    out
}

/// A question being assembled while its blocks are read.
struct Draft {
    id: Option<String>,
    points: u32,
    heading_at: Range<usize>,
    prompt_html: String,
    body: Vec<Range<usize>>,
    choices: Vec<Choice>,
    answers: Vec<(String, Range<usize>)>,
    explanation: Option<Range<usize>>,
}

pub fn parse(
    file: &Path,
    source: &str,
    split: &Split<'_>,
    links: &Links<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Quiz> {
    let front: QuizFront = match source::front_matter(file, source, split) {
        Ok(front) => front,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let body = split.body;
    let base = split.body_offset;
    let errors_before = diags.iter().filter(|d| d.is_error()).count();
    let error = |range: &Range<usize>, message: String| {
        Diagnostic::error(file, source, base + range.start, range.len(), message)
    };

    let mut intro: Vec<Range<usize>> = Vec::new();
    let mut drafts: Vec<Draft> = Vec::new();
    for block in blocks(body) {
        let Some((first, _)) = block.events.first() else {
            continue;
        };
        if let Event::Start(Tag::Heading {
            level: HeadingLevel::H3,
            id,
            classes: _,
            attrs,
        }) = first
        {
            let text = heading_text(&body[block.range.clone()]);
            let mut points = 1;
            for (key, value) in attrs {
                match (key.as_ref(), value.as_deref().map(str::parse::<u32>)) {
                    ("points", Some(Ok(p))) if (1..=MAX_POINTS).contains(&p) => points = p,
                    ("points", _) => diags.push(error(
                        &block.range,
                        format!("`points` must be a whole number from 1 to {MAX_POINTS}"),
                    )),
                    (other, _) => diags.push(error(
                        &block.range,
                        format!("unknown question attribute `{other}`: only `points` is allowed"),
                    )),
                }
            }
            let id = id.as_ref().map(|s| s.to_string());
            match &id {
                None => diags.push(error(
                    &block.range,
                    "question has no id: end the heading with one, such as {#pricing-basics}"
                        .into(),
                )),
                Some(id) if !valid_id(id) => diags.push(error(
                    &block.range,
                    format!("question id `{id}` may use only a-z, 0-9, `-` and `_`"),
                )),
                Some(_) => {}
            }
            drafts.push(Draft {
                id,
                points,
                heading_at: block.range.clone(),
                prompt_html: markdown::render_inline(&text),
                body: Vec::new(),
                choices: Vec::new(),
                answers: Vec::new(),
                explanation: None,
            });
            continue;
        }
        let Some(draft) = drafts.last_mut() else {
            intro.push(block.range.clone());
            continue;
        };
        match first {
            Event::Start(Tag::List(_)) => {
                let has_marker = block
                    .events
                    .iter()
                    .any(|(e, _)| matches!(e, Event::TaskListMarker(_)));
                if !has_marker {
                    draft.body.push(block.range.clone());
                    continue;
                }
                read_choices(body, &block, draft, &mut |range, message| {
                    diags.push(error(range, message))
                });
            }
            // A lone `=` line under `= answer` makes markdown read a setext heading;
            // for a quiz it is still an answer block.
            Event::Start(Tag::Paragraph) | Event::Start(Tag::Heading { .. }) => {
                let text = body[block.range.clone()].trim();
                if text.starts_with('=') || is_setext_answers(text) {
                    for (line, offset) in lines_with_offsets(&body[block.range.clone()]) {
                        let start = block.range.start + offset;
                        let range = start..start + line.len();
                        match line.trim().strip_prefix('=') {
                            Some(answer) => draft.answers.push((answer.trim().to_string(), range)),
                            None if line.trim().is_empty() => {}
                            None => diags.push(error(
                                &range,
                                "every line of an answer block must start with `=`".into(),
                            )),
                        }
                    }
                } else if text.starts_with("Why:") {
                    if draft.explanation.is_some() {
                        diags.push(error(
                            &block.range,
                            "a question has one `Why:` paragraph".into(),
                        ));
                    }
                    draft.explanation = Some(block.range.clone());
                } else {
                    draft.body.push(block.range.clone());
                }
            }
            _ => draft.body.push(block.range.clone()),
        }
    }

    let render_ranges = |ranges: &[Range<usize>], diags: &mut Vec<Diagnostic>| -> String {
        ranges
            .iter()
            .map(|r| {
                let place = Place {
                    file,
                    source,
                    offset: base + r.start,
                };
                markdown::render(&body[r.clone()], links, &place, diags)
            })
            .collect()
    };
    let intro_html = render_ranges(&intro, diags);
    if drafts.is_empty() {
        diags.push(Diagnostic::error(
            file,
            source,
            base,
            0,
            "the quiz has no questions: each starts with a `### heading {#id}`",
        ));
    }
    let mut questions = Vec::new();
    for draft in drafts {
        let kind = match question_kind(&draft) {
            Ok(kind) => kind,
            Err((range, message)) => {
                diags.push(error(&range, message));
                continue;
            }
        };
        let explanation_html = match &draft.explanation {
            Some(range) => {
                let text = &body[range.clone()];
                let after = text.trim_start().trim_start_matches("Why:").trim_start();
                let offset = range.start + (text.len() - after.len());
                markdown::render(
                    after,
                    links,
                    &Place {
                        file,
                        source,
                        offset: base + offset,
                    },
                    diags,
                )
            }
            None => {
                diags.push(Diagnostic::warning(
                    file,
                    source,
                    base + draft.heading_at.start,
                    draft.heading_at.len(),
                    "question has no `Why:` explanation",
                ));
                String::new()
            }
        };
        let body_html = render_ranges(&draft.body, diags);
        if let Some(id) = draft.id {
            questions.push(Question {
                id,
                points: draft.points,
                prompt_html: draft.prompt_html,
                body_html,
                kind,
                explanation_html,
                offset: base + draft.heading_at.start,
            });
        }
    }
    if front.quiz.pass_mark > 100 {
        diags.push(Diagnostic::warning(
            file,
            source,
            split.front_offset + split.front.find("pass_mark").unwrap_or(0),
            9,
            format!("pass mark {}% cannot be reached", front.quiz.pass_mark),
        ));
    }
    if diags.iter().filter(|d| d.is_error()).count() > errors_before {
        return None;
    }
    Some(Quiz {
        title: front.title.unwrap_or_else(|| "Quiz".into()),
        intro_html,
        pass_mark: front.quiz.pass_mark,
        max_attempts: front.quiz.max_attempts,
        shuffle: front.quiz.shuffle,
        version: hex::encode(&Sha256::digest(source.as_bytes())[..8]),
        questions,
    })
}

/// `= GMV` followed by a line of `=` only: a setext heading in markdown's eyes.
fn is_setext_answers(text: &str) -> bool {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    !first.starts_with('#')
        && lines
            .last()
            .is_some_and(|l| !l.is_empty() && l.trim().chars().all(|c| c == '='))
        && text.lines().any(|l| l.trim_start().starts_with('='))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The heading's text without `###` and without the `{...}` attribute block.
fn heading_text(raw: &str) -> String {
    let text = raw.trim().trim_start_matches('#').trim();
    match text.rfind('{') {
        Some(i) if text.trim_end().ends_with('}') => text[..i].trim().to_string(),
        _ => text.to_string(),
    }
}

fn lines_with_offsets(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (line.trim_end_matches(['\n', '\r']), start)
    })
}

/// One list item being read: its range, its `[x]` state, where its label starts, and
/// the range of its quoted feedback.
type ItemDraft = (Range<usize>, Option<bool>, usize, Option<Range<usize>>);

/// Reads `- [ ] label` items, each with an optional quoted feedback under it.
fn read_choices(
    body: &str,
    block: &Block<'_>,
    draft: &mut Draft,
    report: &mut dyn FnMut(&Range<usize>, String),
) {
    let mut depth = 0usize;
    let mut item: Option<ItemDraft> = None;
    for (event, range) in &block.events {
        match event {
            Event::Start(Tag::Item) if depth == 1 => {
                item = Some((range.clone(), None, range.start, None));
            }
            Event::TaskListMarker(checked) if depth == 2 => {
                if let Some(current) = item.as_mut() {
                    current.1 = Some(*checked);
                    current.2 = range.end;
                }
            }
            Event::Start(Tag::BlockQuote(_)) if depth == 2 => {
                if let Some(current) = item.as_mut() {
                    current.3 = Some(range.clone());
                }
            }
            Event::End(TagEnd::Item) if depth == 2 => {
                if let Some((item_range, checked, label_start, quote)) = item.take() {
                    let Some(correct) = checked else {
                        report(
                            &item_range,
                            "every option must start with `[ ]` or `[x]`".into(),
                        );
                        continue;
                    };
                    let label_end = quote.as_ref().map_or(item_range.end, |q| q.start);
                    let label = body[label_start.min(label_end)..label_end].trim();
                    if label.is_empty() {
                        report(&item_range, "an option has no text".into());
                    }
                    let feedback_html = quote
                        .map(|q| {
                            let text: String = body[q]
                                .lines()
                                .map(|l| {
                                    let l = l.trim_start();
                                    let l = l.strip_prefix('>').unwrap_or(l);
                                    l.strip_prefix(' ').unwrap_or(l).to_string() + "\n"
                                })
                                .collect();
                            markdown::render_inline(text.trim())
                        })
                        .unwrap_or_default();
                    let id = char::from(b'a' + (draft.choices.len() % 26) as u8).to_string();
                    draft.choices.push(Choice {
                        id,
                        label_html: markdown::render_inline(label),
                        correct,
                        feedback_html,
                    });
                }
            }
            _ => {}
        }
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

fn question_kind(draft: &Draft) -> Result<QuestionKind, (Range<usize>, String)> {
    let at = draft.heading_at.clone();
    if !draft.choices.is_empty() && !draft.answers.is_empty() {
        return Err((
            at,
            "a question has either options or `=` answers, not both".into(),
        ));
    }
    if !draft.choices.is_empty() {
        if draft.choices.len() > MAX_CHOICES {
            return Err((at, format!("a question has at most {MAX_CHOICES} options")));
        }
        let correct = draft.choices.iter().filter(|c| c.correct).count();
        if correct == 0 {
            return Err((
                at,
                "question has no correct option: mark one with `[x]`".into(),
            ));
        }
        if draft.choices.len() < 2 {
            return Err((at, "a choice question needs at least two options".into()));
        }
        let labels: Vec<String> = draft
            .choices
            .iter()
            .map(|c| c.label_html.trim().to_lowercase())
            .collect();
        let true_false = labels.len() == 2
            && (labels.contains(&"true".to_string()) && labels.contains(&"false".to_string())
                || labels.contains(&"对".to_string()) && labels.contains(&"错".to_string()));
        let choices = draft.choices.clone();
        return Ok(match (true_false, correct) {
            (true, 1) => QuestionKind::TrueFalse(choices),
            (true, _) => return Err((at, "a true/false question has exactly one `[x]`".into())),
            (false, 1) => QuestionKind::Single(choices),
            (false, _) => QuestionKind::Multiple(choices),
        });
    }
    if draft.answers.is_empty() {
        return Err((
            at,
            "question has no answer: add options (`- [x] ...`) or accepted answers (`= ...`)"
                .into(),
        ));
    }
    let numeric: Vec<_> = draft
        .answers
        .iter()
        .map(|(text, range)| (parse_numeric(text), range.clone(), text))
        .collect();
    if numeric
        .iter()
        .any(|(n, _, _)| matches!(n, Numeric::Yes(..)))
    {
        if draft.answers.len() > 1 {
            return Err((
                at,
                "a numeric question has a single `= value ± tolerance` line".into(),
            ));
        }
        let (Numeric::Yes(min, max), _, text) = &numeric[0] else {
            unreachable!()
        };
        return Ok(QuestionKind::Numeric {
            min: *min,
            max: *max,
            shown: text.to_string(),
        });
    }
    if let Some((_, range, text)) = numeric
        .iter()
        .find(|(n, _, _)| matches!(n, Numeric::Broken))
    {
        return Err((
            range.clone(),
            format!("cannot read the numeric answer `{text}`: write `= 20 ± 0.5` or `= 18 .. 22`"),
        ));
    }
    for (text, range) in &draft.answers {
        if text.is_empty() {
            return Err((range.clone(), "an accepted answer is empty".into()));
        }
        if text.chars().count() > 200 {
            return Err((
                range.clone(),
                "an accepted answer is longer than 200 characters".into(),
            ));
        }
    }
    Ok(QuestionKind::Short(
        draft.answers.iter().map(|(t, _)| t.clone()).collect(),
    ))
}

enum Numeric {
    Yes(f64, f64),
    /// Looks numeric (has ± or ..) but does not parse.
    Broken,
    No,
}

fn number(text: &str) -> Option<f64> {
    let n: f64 = text.trim().replace(',', "").parse().ok()?;
    n.is_finite().then_some(n)
}

fn parse_numeric(text: &str) -> Numeric {
    let text = text.trim();
    for sep in ["±", "+-", "+/-"] {
        if let Some((value, tolerance)) = text.split_once(sep) {
            return match (number(value), number(tolerance)) {
                (Some(v), Some(t)) if t >= 0.0 => Numeric::Yes(v - t, v + t),
                _ => Numeric::Broken,
            };
        }
    }
    if let Some((low, high)) = text.split_once("..") {
        return match (number(low), number(high)) {
            (Some(l), Some(h)) if l <= h => Numeric::Yes(l, h),
            _ => Numeric::Broken,
        };
    }
    match number(text) {
        Some(n)
            if text
                .chars()
                .all(|c| c.is_ascii_digit() || ".-,".contains(c)) =>
        {
            Numeric::Yes(n, n)
        }
        _ => Numeric::No,
    }
}
