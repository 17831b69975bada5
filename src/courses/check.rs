//! `kaibo check [DIR]`: lint every course and report.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::diagnostics::Diagnostic;
use super::loader::{self, LoadedCourse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    courses: Vec<JsonCourse<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonCourse<'a> {
    slug: &'a str,
    ok: bool,
    diagnostics: &'a [Diagnostic],
}

/// Loads `dir` (a folder of courses, or one course) and writes the report. Returns
/// whether there were errors.
pub fn check(dir: &Path, format: Format, out: &mut dyn Write) -> std::io::Result<bool> {
    let loaded: Vec<LoadedCourse> = if dir.join("_index.md").exists() {
        vec![loader::load_course(dir)]
    } else {
        loader::load_all(dir).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot read {}: {e}", dir.display()))
        })?
    };
    let errors: usize = loaded
        .iter()
        .map(|c| c.diagnostics.iter().filter(|d| d.is_error()).count())
        .sum();
    let warnings: usize = loaded
        .iter()
        .map(|c| c.diagnostics.iter().filter(|d| !d.is_error()).count())
        .sum();
    match format {
        Format::Json => {
            let report = JsonReport {
                courses: loaded
                    .iter()
                    .map(|c| JsonCourse {
                        slug: &c.slug,
                        ok: !c.has_errors(),
                        diagnostics: &c.diagnostics,
                    })
                    .collect(),
                errors,
                warnings,
            };
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        Format::Human => {
            for course in &loaded {
                for d in &course.diagnostics {
                    writeln!(out, "{}", d.short())?;
                    let source = course.sources.get(&d.file).map(String::as_str);
                    writeln!(out, "{}", d.render(source))?;
                }
            }
            for course in &loaded {
                let status = if course.has_errors() {
                    "not served"
                } else {
                    "ok"
                };
                let lessons = course.course.as_ref().map_or(0, |c| c.lesson_count());
                writeln!(
                    out,
                    "{}: {status} ({lessons} lessons, {} diagnostics)",
                    course.slug,
                    course.diagnostics.len()
                )?;
            }
            writeln!(
                out,
                "{} course(s), {errors} error(s), {warnings} warning(s)",
                loaded.len()
            )?;
        }
    }
    Ok(errors > 0)
}
