//! Loads a course folder into a `Course`, collecting every problem as a diagnostic.
//! A course with any error yields no `Course`; warnings do not stop it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diagnostics::{Diagnostic, Severity};
use super::markdown::{self, Links, Place};
use super::model::{Course, Graduation, Lesson, Module, SandboxStep};
use super::quiz;
use super::source;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CourseFront {
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default = "default_version")]
    version: String,
    #[serde(default)]
    graduation: GraduationFront,
    #[serde(default)]
    unlocks: BTreeMap<String, String>,
}

fn default_language() -> String {
    "en".into()
}

fn default_version() -> String {
    "1".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GraduationFront {
    #[serde(default)]
    required_modules: Vec<String>,
    #[serde(default)]
    sandbox_delivered_orders: u32,
    #[serde(default)]
    after_sales_resolved: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleFront {
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    requires: Vec<String>,
    unlocks: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonFront {
    title: String,
    #[serde(default = "default_minutes")]
    minutes: u32,
}

fn default_minutes() -> u32 {
    5
}

/// The result of loading one course folder.
pub struct LoadedCourse {
    pub slug: String,
    /// The course, when it loaded without errors.
    pub course: Option<Course>,
    /// Whatever could be built despite errors, for the instructor preview.
    pub draft: Option<Course>,
    pub diagnostics: Vec<Diagnostic>,
    /// File texts, for showing diagnostics with their source lines.
    pub sources: HashMap<PathBuf, String>,
}

impl LoadedCourse {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

/// `02-finding-your-niche` -> (2, "finding-your-niche").
fn numbered(name: &str) -> Option<(u32, &str)> {
    let (number, slug) = name.split_once('-')?;
    let number: u32 = number
        .parse()
        .ok()
        .filter(|_| number.bytes().all(|b| b.is_ascii_digit()))?;
    valid_slug(slug).then_some((number, slug))
}

/// Every course folder under `root`, in name order.
pub fn course_dirs(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

pub fn load_all(root: &Path) -> std::io::Result<Vec<LoadedCourse>> {
    Ok(course_dirs(root)?.iter().map(|d| load_course(d)).collect())
}

struct FileText {
    path: PathBuf,
    text: String,
}

fn read(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<FileText> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(FileText {
                path: path.to_path_buf(),
                text,
            }),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
                diags.push(Diagnostic::error(
                    path,
                    &prefix,
                    valid,
                    0,
                    "the file is not valid UTF-8 text",
                ));
                None
            }
        },
        Err(e) => {
            diags.push(Diagnostic::file(
                Severity::Error,
                path,
                format!("cannot read the file: {e}"),
            ));
            None
        }
    }
}

/// Finds the line `key = ...` in the front matter (inside `[section]` when given), for
/// pointing at it. Only a whole key followed by `=` matches, so `after_sales` does not
/// find `after_sales_resolved`.
fn key_offset(
    front: &str,
    front_offset: usize,
    section: Option<&str>,
    key: &str,
) -> (usize, usize) {
    let mut offset = 0;
    let mut current: Option<String> = None;
    for line in front.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let header = trimmed
            .trim_end()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'));
        if let Some(name) = header {
            current = Some(name.trim().to_string());
        } else if current.as_deref() == section {
            let bare = trimmed.trim_start_matches(['"', '\'']);
            if let Some(rest) = bare.strip_prefix(key) {
                let rest = rest.trim_start_matches(['"', '\'']).trim_start();
                if rest.starts_with('=') {
                    let at = front_offset + offset + (line.len() - trimmed.len());
                    return (at, line.trim().len());
                }
            }
        }
        offset += line.len();
    }
    (front_offset, 0)
}

/// Finds a quoted name (`"x"` or `'x'`) inside the front matter, for pointing at a name
/// in a list.
fn value_offset(front: &str, front_offset: usize, value: &str) -> (usize, usize) {
    for quote in ['"', '\''] {
        let quoted = format!("{quote}{value}{quote}");
        if let Some(i) = front.find(&quoted) {
            return (front_offset + i, quoted.len());
        }
    }
    (front_offset, 0)
}

struct ModuleDraft {
    dir_name: String,
    slug: String,
    index: Option<(FileText, ModuleFront, usize, usize, String)>,
    lessons: Vec<(String, FileText)>,
    quiz: Option<FileText>,
}

pub fn load_course(dir: &Path) -> LoadedCourse {
    let slug = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut diags = Vec::new();
    let mut sources = HashMap::new();
    let course = load_inner(dir, &slug, &mut diags, &mut sources);
    diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let has_errors = diags.iter().any(Diagnostic::is_error);
    let (course, draft) = if has_errors {
        (None, course)
    } else {
        (course, None)
    };
    LoadedCourse {
        slug,
        course,
        draft,
        diagnostics: diags,
        sources,
    }
}

fn load_inner(
    dir: &Path,
    slug: &str,
    diags: &mut Vec<Diagnostic>,
    sources: &mut HashMap<PathBuf, String>,
) -> Option<Course> {
    if !valid_slug(slug) {
        diags.push(Diagnostic::file(
            Severity::Error,
            dir,
            format!("course folder `{slug}` must be a slug: lower-case letters, digits and `-`"),
        ));
    }
    let index_path = dir.join("_index.md");
    if !index_path.exists() {
        diags.push(Diagnostic::file(
            Severity::Error,
            &index_path,
            "the course has no _index.md",
        ));
        return None;
    }
    let index = read(&index_path, diags)?;
    sources.insert(index.path.clone(), index.text.clone());

    // Folders and files of the course.
    let mut modules: Vec<ModuleDraft> = Vec::new();
    let mut assets: HashSet<String> = HashSet::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if name == "assets" {
                collect_assets(&path, "assets", &mut assets);
                continue;
            }
            let Some((_, module_slug)) = numbered(&name) else {
                diags.push(Diagnostic::file(
                    Severity::Error,
                    &path,
                    format!("module folder `{name}` must be named NN-slug, such as 02-finding-your-niche"),
                ));
                continue;
            };
            if module_slug == "assets" {
                diags.push(Diagnostic::file(
                    Severity::Error,
                    &path,
                    "a module may not be called `assets`",
                ));
                continue;
            }
            if let Some(other) = modules.iter().find(|m| m.slug == module_slug) {
                diags.push(Diagnostic::file(
                    Severity::Error,
                    &path,
                    format!(
                        "duplicate module slug `{module_slug}` (also {})",
                        other.dir_name
                    ),
                ));
                continue;
            }
            modules.push(read_module(&path, &name, module_slug, diags, sources));
        } else if name != "_index.md" && name != "README.md" {
            diags.push(Diagnostic::file(
                Severity::Warning,
                &path,
                "file ignored: a course folder holds _index.md, module folders and assets/",
            ));
        }
    }

    // Page URLs for every markdown file, for link checking.
    let mut pages: HashMap<String, String> = HashMap::new();
    pages.insert("_index.md".into(), format!("/courses/{slug}"));
    for m in &modules {
        pages.insert(
            format!("{}/_index.md", m.dir_name),
            format!("/courses/{slug}#module-{}", m.slug),
        );
        if m.quiz.is_some() {
            pages.insert(
                format!("{}/quiz.md", m.dir_name),
                format!("/courses/{slug}/{}/quiz", m.slug),
            );
        }
        for (lesson_slug, file) in &m.lessons {
            let file_name = file
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            pages.insert(
                format!("{}/{file_name}", m.dir_name),
                format!("/courses/{slug}/{}/{lesson_slug}", m.slug),
            );
        }
    }

    // The course's own front matter.
    let split = match source::split(&index.path, &index.text) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let front: Option<CourseFront> = source::front_matter(&index.path, &index.text, &split)
        .map_err(|d| diags.push(d))
        .ok();
    let root_links = Links {
        course_slug: slug,
        dir: "",
        pages: &pages,
        assets: &assets,
    };
    let intro_html = markdown::render(
        split.body,
        &root_links,
        &Place {
            file: &index.path,
            source: &index.text,
            offset: split.body_offset,
        },
        diags,
    );

    // Modules, lessons and quizzes.
    let mut built: Vec<Module> = Vec::new();
    let mut question_ids: HashMap<String, PathBuf> = HashMap::new();
    for m in &modules {
        let links = Links {
            course_slug: slug,
            dir: &m.dir_name,
            pages: &pages,
            assets: &assets,
        };
        let Some((file, mfront, body_offset, front_offset, front_text)) = &m.index else {
            continue;
        };
        let module_intro = markdown::render(
            &file.text[*body_offset..],
            &links,
            &Place {
                file: &file.path,
                source: &file.text,
                offset: *body_offset,
            },
            diags,
        );
        let mut lessons = Vec::new();
        for (lesson_slug, lf) in &m.lessons {
            if let Some(lesson) = build_lesson(lesson_slug, lf, &links, diags) {
                lessons.push(lesson);
            }
        }
        let quiz = m.quiz.as_ref().and_then(|qf| {
            let split = source::split(&qf.path, &qf.text)
                .map_err(|d| diags.push(d))
                .ok()?;
            let quiz = quiz::parse(&qf.path, &qf.text, &split, &links, diags)?;
            for q in &quiz.questions {
                if let Some(first) = question_ids.get(&q.id) {
                    diags.push(Diagnostic::error(
                        &qf.path,
                        &qf.text,
                        q.offset,
                        q.id.len() + 2,
                        format!(
                            "duplicate question id `{}` (first used in {})",
                            q.id,
                            first.display()
                        ),
                    ));
                } else {
                    question_ids.insert(q.id.clone(), qf.path.clone());
                }
            }
            Some(quiz)
        });
        let unlocks = mfront.unlocks.as_deref().and_then(|name| {
            let step = SandboxStep::parse(name);
            if step.is_none() {
                let (at, len) = key_offset(front_text, *front_offset, None, "unlocks");
                diags.push(Diagnostic::error(
                    &file.path,
                    &file.text,
                    at,
                    len,
                    format!(
                        "unknown sandbox step `{name}`: use profile, selection, live or after-sales"
                    ),
                ));
            }
            step
        });
        built.push(Module {
            slug: m.slug.clone(),
            title: mfront.title.clone(),
            summary: mfront.summary.clone(),
            requires: mfront.requires.clone(),
            unlocks,
            intro_html: module_intro,
            lessons,
            quiz,
        });
    }

    check_requires(&modules, diags);
    let front = front?;
    apply_course_unlocks(&front, &split, &index, &mut built, diags);
    for required in &front.graduation.required_modules {
        if !built.iter().any(|m| &m.slug == required) {
            let (at, len) = value_offset(split.front, split.front_offset, required);
            diags.push(Diagnostic::error(
                &index.path,
                &index.text,
                at,
                len,
                format!("graduation requires module `{required}`, which does not exist"),
            ));
        }
    }
    if !matches!(front.language.as_str(), "en" | "zh-CN") {
        let (at, len) = key_offset(split.front, split.front_offset, None, "language");
        diags.push(Diagnostic::error(
            &index.path,
            &index.text,
            at,
            len,
            format!(
                "language `{}` is not supported: use \"en\" or \"zh-CN\"",
                front.language
            ),
        ));
    }
    if modules.is_empty() {
        diags.push(Diagnostic::file(
            Severity::Error,
            dir,
            "the course has no modules",
        ));
    }
    Some(Course {
        slug: slug.to_string(),
        dir: dir.to_path_buf(),
        title: front.title,
        summary: front.summary,
        language: front.language,
        version: front.version,
        intro_html,
        graduation: Graduation {
            required_modules: front.graduation.required_modules,
            sandbox_delivered_orders: front.graduation.sandbox_delivered_orders,
            after_sales_resolved: front.graduation.after_sales_resolved,
        },
        modules: built,
    })
}

fn collect_assets(dir: &Path, prefix: &str, out: &mut HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let rel = format!("{prefix}/{name}");
        if path.is_dir() {
            collect_assets(&path, &rel, out);
        } else {
            out.insert(rel);
        }
    }
}

fn read_module(
    path: &Path,
    dir_name: &str,
    slug: &str,
    diags: &mut Vec<Diagnostic>,
    sources: &mut HashMap<PathBuf, String>,
) -> ModuleDraft {
    let mut draft = ModuleDraft {
        dir_name: dir_name.to_string(),
        slug: slug.to_string(),
        index: None,
        lessons: Vec::new(),
        quiz: None,
    };
    let index_path = path.join("_index.md");
    if !index_path.exists() {
        diags.push(Diagnostic::file(
            Severity::Error,
            &index_path,
            "the module has no _index.md",
        ));
    } else if let Some(file) = read(&index_path, diags) {
        sources.insert(file.path.clone(), file.text.clone());
        match source::split(&file.path, &file.text) {
            Ok(split) => {
                let front = source::front_matter::<ModuleFront>(&file.path, &file.text, &split);
                let (body_offset, front_offset, front_text) = (
                    split.body_offset,
                    split.front_offset,
                    split.front.to_string(),
                );
                match front {
                    Ok(front) => {
                        draft.index = Some((file, front, body_offset, front_offset, front_text))
                    }
                    Err(d) => diags.push(d),
                }
            }
            Err(d) => diags.push(d),
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name == "_index.md" || name.starts_with('.') {
            continue;
        }
        if name == "quiz.md" {
            if let Some(text) = read(&file, diags) {
                sources.insert(text.path.clone(), text.text.clone());
                draft.quiz = Some(text);
            }
            continue;
        }
        let lesson_slug = name
            .strip_suffix(".md")
            .and_then(numbered)
            .map(|(_, s)| s.to_string());
        let Some(lesson_slug) = lesson_slug else {
            diags.push(Diagnostic::file(
                Severity::Error,
                &file,
                format!("`{name}` is not a lesson: lessons are named NN-slug.md, the quiz quiz.md"),
            ));
            continue;
        };
        if lesson_slug == "quiz" {
            diags.push(Diagnostic::file(
                Severity::Error,
                &file,
                "a lesson may not be called `quiz`",
            ));
            continue;
        }
        if draft.lessons.iter().any(|(s, _)| *s == lesson_slug) {
            diags.push(Diagnostic::file(
                Severity::Error,
                &file,
                format!("duplicate lesson slug `{lesson_slug}` in module `{slug}`"),
            ));
            continue;
        }
        if let Some(text) = read(&file, diags) {
            sources.insert(text.path.clone(), text.text.clone());
            draft.lessons.push((lesson_slug, text));
        }
    }
    draft
}

fn build_lesson(
    slug: &str,
    file: &FileText,
    links: &Links<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Lesson> {
    let split = source::split(&file.path, &file.text)
        .map_err(|d| diags.push(d))
        .ok()?;
    let front: LessonFront = source::front_matter(&file.path, &file.text, &split)
        .map_err(|d| diags.push(d))
        .ok()?;
    if front.title.trim().is_empty() {
        diags.push(Diagnostic::error(
            &file.path,
            &file.text,
            split.front_offset,
            0,
            "the title is empty",
        ));
    }
    if split.body.trim().is_empty() {
        // Point at the closing `+++` when nothing follows it.
        let at = if split.body_offset < file.text.len() {
            split.body_offset
        } else {
            file.text.trim_end().len()
        };
        diags.push(Diagnostic::warning(
            &file.path,
            &file.text,
            at,
            0,
            "the lesson is empty",
        ));
    }
    let html = markdown::render(
        split.body,
        links,
        &Place {
            file: &file.path,
            source: &file.text,
            offset: split.body_offset,
        },
        diags,
    );
    Some(Lesson {
        slug: slug.to_string(),
        title: front.title,
        minutes: front.minutes,
        html,
    })
}

/// `requires` may name only earlier modules; anything else (unknown, later, itself, a
/// cycle) is an error pointing at the name.
fn check_requires(modules: &[ModuleDraft], diags: &mut Vec<Diagnostic>) {
    let position: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.slug.as_str(), i))
        .collect();
    for (i, m) in modules.iter().enumerate() {
        let Some((file, front, _, front_offset, front_text)) = &m.index else {
            continue;
        };
        for required in &front.requires {
            let (at, len) = value_offset(front_text, *front_offset, required);
            let message = match position.get(required.as_str()) {
                None => format!("requires module `{required}`, which does not exist"),
                Some(&j) if j == i => format!("module `{required}` requires itself (a cycle)"),
                Some(&j) if j > i => {
                    let cycle = modules[j].index.as_ref().is_some_and(|(_, f, ..)| {
                        reaches(modules, &position, j, i, &mut HashSet::new())
                            || f.requires.contains(&m.slug)
                    });
                    if cycle {
                        format!("requires `{required}`, which requires this module back: a cycle")
                    } else {
                        format!(
                            "requires `{required}`, which comes later: a module can only require earlier ones"
                        )
                    }
                }
                Some(_) => continue,
            };
            diags.push(Diagnostic::error(&file.path, &file.text, at, len, message));
        }
    }
}

fn reaches(
    modules: &[ModuleDraft],
    position: &HashMap<&str, usize>,
    from: usize,
    target: usize,
    seen: &mut HashSet<usize>,
) -> bool {
    if from == target {
        return true;
    }
    if !seen.insert(from) {
        return false;
    }
    let Some((_, front, ..)) = &modules[from].index else {
        return false;
    };
    front.requires.iter().any(|r| {
        position
            .get(r.as_str())
            .is_some_and(|&next| reaches(modules, position, next, target, seen))
    })
}

/// Merges the course's `[unlocks]` table into the modules, checking names and conflicts.
fn apply_course_unlocks(
    front: &CourseFront,
    split: &source::Split<'_>,
    index: &FileText,
    modules: &mut [Module],
    diags: &mut Vec<Diagnostic>,
) {
    for (step_name, module_slug) in &front.unlocks {
        let (at, len) = key_offset(split.front, split.front_offset, Some("unlocks"), step_name);
        let error = |message: String| Diagnostic::error(&index.path, &index.text, at, len, message);
        let Some(step) = SandboxStep::parse(step_name) else {
            diags.push(error(format!(
                "unknown sandbox step `{step_name}`: use profile, selection, live or after-sales"
            )));
            continue;
        };
        if let Some(other) = modules
            .iter()
            .find(|m| m.unlocks == Some(step) && &m.slug != module_slug)
        {
            diags.push(error(format!(
                "step `{step_name}` is unlocked by `{module_slug}` here but by `{}` in its module file",
                other.slug
            )));
            continue;
        }
        match modules.iter_mut().find(|m| &m.slug == module_slug) {
            Some(m) => match m.unlocks {
                Some(existing) if existing != step => diags.push(error(format!(
                    "module `{module_slug}` already unlocks `{}`; a module unlocks one step",
                    existing.as_str()
                ))),
                _ => m.unlocks = Some(step),
            },
            None => diags.push(error(format!(
                "step `{step_name}` names module `{module_slug}`, which does not exist"
            ))),
        }
    }
    let mut seen: HashMap<SandboxStep, &str> = HashMap::new();
    for m in modules.iter() {
        if let Some(step) = m.unlocks
            && let Some(first) = seen.insert(step, &m.slug)
        {
            diags.push(Diagnostic::file(
                Severity::Error,
                &index.path,
                format!(
                    "step `{}` is unlocked by both `{first}` and `{}`",
                    step.as_str(),
                    m.slug
                ),
            ));
        }
    }
}
