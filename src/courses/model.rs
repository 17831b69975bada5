//! A loaded course: everything rendered once at load time, so requests only look up.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxStep {
    Profile,
    Selection,
    Live,
    AfterSales,
}

impl SandboxStep {
    pub const ALL: [SandboxStep; 4] = [
        SandboxStep::Profile,
        SandboxStep::Selection,
        SandboxStep::Live,
        SandboxStep::AfterSales,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SandboxStep::Profile => "profile",
            SandboxStep::Selection => "selection",
            SandboxStep::Live => "live",
            SandboxStep::AfterSales => "after-sales",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            SandboxStep::Profile => "steps.profile",
            SandboxStep::Selection => "steps.selection",
            SandboxStep::Live => "steps.live",
            SandboxStep::AfterSales => "steps.after_sales",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Graduation {
    /// Empty means every module.
    pub required_modules: Vec<String>,
    pub sandbox_delivered_orders: u32,
    pub after_sales_resolved: bool,
}

#[derive(Debug, Clone)]
pub struct Course {
    pub slug: String,
    pub dir: PathBuf,
    pub title: String,
    pub summary: String,
    pub language: String,
    pub version: String,
    pub intro_html: String,
    pub graduation: Graduation,
    pub modules: Vec<Module>,
}

impl Course {
    pub fn module(&self, slug: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.slug == slug)
    }

    pub fn lesson_count(&self) -> usize {
        self.modules.iter().map(|m| m.lessons.len()).sum()
    }

    pub fn minutes(&self) -> u32 {
        self.modules.iter().map(Module::minutes).sum()
    }

    pub fn url(&self) -> String {
        format!("/courses/{}", self.slug)
    }
}

#[derive(Debug, Clone)]
pub struct Module {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub requires: Vec<String>,
    pub unlocks: Option<SandboxStep>,
    pub intro_html: String,
    pub lessons: Vec<Lesson>,
    pub quiz: Option<Quiz>,
}

impl Module {
    pub fn minutes(&self) -> u32 {
        self.lessons.iter().map(|l| l.minutes).sum()
    }

    pub fn lesson(&self, slug: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|l| l.slug == slug)
    }
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub slug: String,
    pub title: String,
    pub minutes: u32,
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct Quiz {
    pub title: String,
    pub intro_html: String,
    /// Percent of the points needed to pass.
    pub pass_mark: u32,
    /// 0 means unlimited.
    pub max_attempts: u32,
    pub shuffle: bool,
    /// Hash of the quiz file: attempts record which version they answered.
    pub version: String,
    pub questions: Vec<Question>,
}

impl Quiz {
    pub fn max_points(&self) -> u32 {
        self.questions.iter().map(|q| q.points).sum()
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub points: u32,
    /// The heading text, rendered inline.
    pub prompt_html: String,
    /// Any paragraphs between the heading and the answers.
    pub body_html: String,
    pub kind: QuestionKind,
    pub explanation_html: String,
    /// Byte offset of the question's heading in its file, for diagnostics.
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub enum QuestionKind {
    Single(Vec<Choice>),
    Multiple(Vec<Choice>),
    TrueFalse(Vec<Choice>),
    Short(Vec<String>),
    Numeric { min: f64, max: f64, shown: String },
}

impl QuestionKind {
    pub fn choices(&self) -> &[Choice] {
        match self {
            QuestionKind::Single(c) | QuestionKind::Multiple(c) | QuestionKind::TrueFalse(c) => c,
            _ => &[],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Single(_) => "single",
            QuestionKind::Multiple(_) => "multiple",
            QuestionKind::TrueFalse(_) => "true-false",
            QuestionKind::Short(_) => "short",
            QuestionKind::Numeric { .. } => "numeric",
        }
    }

    pub fn is_multiple(&self) -> bool {
        matches!(self, QuestionKind::Multiple(_))
    }

    pub fn is_choice(&self) -> bool {
        !self.choices().is_empty()
    }

    /// The correct answer as a trainee reads it on the result page.
    pub fn correct_text(&self) -> String {
        match self {
            QuestionKind::Short(answers) => answers.join(" / "),
            QuestionKind::Numeric { shown, .. } => shown.clone(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Choice {
    /// `a`, `b`, `c`, ... in file order.
    pub id: String,
    pub label_html: String,
    pub correct: bool,
    pub feedback_html: String,
}
