//! Findings about course files: where (file, line, column) and what. They are printed
//! by `kaibo check` (miette's graphical report, or JSON), logged by the server and shown
//! to instructors on the preview page.

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based line and column (in characters) of the offending text.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The whole source line, for context.
    pub source_line: String,
    #[serde(skip)]
    pub span: (usize, usize),
}

impl Diagnostic {
    /// A finding at byte `offset` (spanning `len` bytes) of `source`.
    pub fn at(
        severity: Severity,
        file: &Path,
        source: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        let line_end = source[offset..]
            .find('\n')
            .map_or(source.len(), |i| offset + i);
        let len = len
            .min(line_end.saturating_sub(offset))
            .max(usize::from(offset < line_end));
        Self {
            severity,
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line: source[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            span: (offset, len),
        }
    }

    /// A finding about a file as a whole (one that cannot be read, a missing folder).
    pub fn file(severity: Severity, file: &Path, message: impl Into<String>) -> Self {
        Self {
            severity,
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
            source_line: String::new(),
            span: (0, 0),
        }
    }

    pub fn error(
        file: &Path,
        source: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        Self::at(Severity::Error, file, source, offset, len, message)
    }

    pub fn warning(
        file: &Path,
        source: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        Self::at(Severity::Warning, file, source, offset, len, message)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: severity: message`, one line, for logs and tests.
    pub fn short(&self) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            self.message
        )
    }

    /// A miette report with the source line and a pointer under the offending text.
    pub fn render(&self, source: Option<&str>) -> String {
        let report = Report {
            message: self.message.clone(),
            severity: self.severity,
            source: miette::NamedSource::new(
                format!("{}", self.file.display()),
                source.unwrap_or_default().to_string(),
            ),
            span: source
                .is_some()
                .then_some(miette::SourceSpan::from(self.span)),
            location: format!("{}:{}:{}", self.file.display(), self.line, self.column),
        };
        let mut out = String::new();
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_context_lines(1);
        if handler.render_report(&mut out, &report).is_err() {
            return self.short();
        }
        out
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[derive(Debug)]
struct Report {
    message: String,
    severity: Severity,
    source: miette::NamedSource<String>,
    span: Option<miette::SourceSpan>,
    location: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span.map(|_| &self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.span.map(|span| {
            Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
                Some("here".into()),
                span,
            ))) as Box<dyn Iterator<Item = miette::LabeledSpan>>
        })
    }

    fn help(&self) -> Option<Box<dyn std::fmt::Display + '_>> {
        Some(Box::new(format!("at {}", self.location)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_lines_and_character_columns() {
        let source = "+++\ntitle = \"课程\"\nbad = 1\n+++\n";
        let offset = source.find("bad").unwrap();
        let d = Diagnostic::error(
            Path::new("c/_index.md"),
            source,
            offset,
            3,
            "unknown key `bad`",
        );
        assert_eq!((d.line, d.column), (3, 1));
        assert_eq!(d.source_line, "bad = 1");
        assert_eq!(d.short(), "c/_index.md:3:1: error: unknown key `bad`");
        let rendered = d.render(Some(source));
        assert!(rendered.contains("c/_index.md:3:1"), "{rendered}");
        assert!(rendered.contains("bad = 1"), "{rendered}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = "课程 oops";
        let d = Diagnostic::error(
            Path::new("x.md"),
            source,
            source.find("oops").unwrap(),
            4,
            "m",
        );
        assert_eq!(d.column, 4);
    }
}
