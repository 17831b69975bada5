//! Reading a quiz submission and grading it, on the server. Scores are kept in
//! thousandths of a point, so partial credit needs no floating point in storage.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::model::{Question, QuestionKind, Quiz};

/// Longest answer text accepted in a short-answer or numeric field.
pub const MAX_ANSWER_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Choices(Vec<String>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionError {
    UnknownField(String),
    UnknownOption { question: String, option: String },
    Duplicate(String),
    TooLong(String),
    Unanswered(Vec<String>),
}

impl SubmissionError {
    pub fn key(&self) -> &'static str {
        match self {
            SubmissionError::UnknownField(_) => "quiz.error_unknown_field",
            SubmissionError::UnknownOption { .. } => "quiz.error_unknown_option",
            SubmissionError::Duplicate(_) => "quiz.error_duplicate",
            SubmissionError::TooLong(_) => "quiz.error_too_long",
            SubmissionError::Unanswered(_) => "quiz.error_unanswered",
        }
    }

    /// The question(s) concerned, as shown next to the message.
    pub fn detail(&self) -> String {
        match self {
            SubmissionError::UnknownField(f)
            | SubmissionError::Duplicate(f)
            | SubmissionError::TooLong(f) => f.clone(),
            SubmissionError::UnknownOption { question, option } => format!("{question}: {option}"),
            SubmissionError::Unanswered(ids) => ids.join(", "),
        }
    }
}

/// Form fields are `q-<question id>`; choice questions send option ids (`a`, `b`, ...),
/// repeated for multiple choice. Anything else is refused, so a forged form cannot be
/// counted as an attempt.
pub fn read_submission(
    quiz: &Quiz,
    pairs: &[(String, String)],
) -> Result<HashMap<String, Answer>, SubmissionError> {
    let mut answers: HashMap<String, Answer> = HashMap::new();
    for (name, value) in pairs {
        if name == "csrf" || name == "attempt" {
            continue;
        }
        let question = name
            .strip_prefix("q-")
            .and_then(|id| quiz.question(id))
            .ok_or_else(|| SubmissionError::UnknownField(name.chars().take(80).collect()))?;
        let id = question.id.clone();
        match &question.kind {
            QuestionKind::Single(choices)
            | QuestionKind::TrueFalse(choices)
            | QuestionKind::Multiple(choices) => {
                if !choices.iter().any(|c| &c.id == value) {
                    return Err(SubmissionError::UnknownOption {
                        question: id,
                        option: value.chars().take(20).collect(),
                    });
                }
                match answers
                    .entry(id.clone())
                    .or_insert_with(|| Answer::Choices(Vec::new()))
                {
                    Answer::Choices(picked) => {
                        if picked.contains(value)
                            || (!question.kind.is_multiple() && !picked.is_empty())
                        {
                            return Err(SubmissionError::Duplicate(id));
                        }
                        picked.push(value.clone());
                    }
                    Answer::Text(_) => return Err(SubmissionError::Duplicate(id)),
                }
            }
            QuestionKind::Short(_) | QuestionKind::Numeric { .. } => {
                if value.chars().count() > MAX_ANSWER_CHARS {
                    return Err(SubmissionError::TooLong(id));
                }
                if answers
                    .insert(id.clone(), Answer::Text(value.clone()))
                    .is_some()
                {
                    return Err(SubmissionError::Duplicate(id));
                }
            }
        }
    }
    let unanswered: Vec<String> = quiz
        .questions
        .iter()
        .filter(|q| match answers.get(&q.id) {
            None => true,
            Some(Answer::Text(t)) => t.trim().is_empty(),
            Some(Answer::Choices(c)) => c.is_empty(),
        })
        .map(|q| q.id.clone())
        .collect();
    if !unanswered.is_empty() {
        return Err(SubmissionError::Unanswered(unanswered));
    }
    Ok(answers)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    pub question_id: String,
    pub answer: Answer,
    pub score_milli: i64,
    pub max_milli: i64,
}

impl Graded {
    pub fn is_correct(&self) -> bool {
        self.score_milli == self.max_milli
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn read_number(text: &str) -> Option<f64> {
    let cleaned = text
        .trim()
        .trim_end_matches('%')
        .trim_start_matches(['¥', '￥', '$'])
        .replace([',', ' '], "");
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn grade_question(question: &Question, answer: &Answer) -> Graded {
    let max = i64::from(question.points) * 1000;
    let score = match (&question.kind, answer) {
        (
            QuestionKind::Single(choices) | QuestionKind::TrueFalse(choices),
            Answer::Choices(picked),
        ) => {
            let right = picked.len() == 1 && choices.iter().any(|c| c.correct && c.id == picked[0]);
            if right { max } else { 0 }
        }
        (QuestionKind::Multiple(choices), Answer::Choices(picked)) => {
            let total_right = choices.iter().filter(|c| c.correct).count() as i64;
            let right = picked
                .iter()
                .filter(|p| choices.iter().any(|c| c.correct && &c.id == *p))
                .count() as i64;
            let wrong = picked.len() as i64 - right;
            ((right - wrong).max(0) * max) / total_right.max(1)
        }
        (QuestionKind::Short(accepted), Answer::Text(text)) => {
            let given = normalise(text);
            if accepted.iter().any(|a| normalise(a) == given) {
                max
            } else {
                0
            }
        }
        (QuestionKind::Numeric { min, max: high, .. }, Answer::Text(text)) => {
            match read_number(text) {
                Some(n) if n >= *min - 1e-9 && n <= *high + 1e-9 => max,
                _ => 0,
            }
        }
        _ => 0,
    };
    Graded {
        question_id: question.id.clone(),
        answer: answer.clone(),
        score_milli: score,
        max_milli: max,
    }
}

pub fn grade(quiz: &Quiz, answers: &HashMap<String, Answer>) -> Vec<Graded> {
    quiz.questions
        .iter()
        .map(|q| {
            let answer = answers
                .get(&q.id)
                .cloned()
                .unwrap_or(Answer::Text(String::new()));
            grade_question(q, &answer)
        })
        .collect()
}

/// Whether a score passes: score/max >= pass_mark%.
pub fn passes(score_milli: i64, max_milli: i64, pass_mark: u32) -> bool {
    max_milli > 0 && score_milli * 100 >= max_milli * i64::from(pass_mark)
}
