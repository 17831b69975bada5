//! Fuzzes the course and quiz parser: whatever bytes an author saves, loading a course
//! must report diagnostics, never panic.
//!
//! Every input goes through the in-memory pipeline (fast, no disk I/O):
//!   - `source::split` + `source::front_matter` (lesson front matter),
//!   - `markdown::render` of the body and `quiz::parse` with the real split; when the
//!     input has no valid `+++` fences, the whole input is rendered as a body and parsed
//!     as a quiz body with empty front matter instead, so the markdown and question
//!     parsers see every input,
//!   - `markdown::render_inline` of the whole input,
//!   - `Diagnostic::short` and `Diagnostic::render` (miette) of every finding.
//!
//! Inputs that are not valid UTF-8 go in lossily converted, and additionally, together with
//! every 16th input by length, through the on-disk path: the raw bytes are written as a
//! lesson file and as `quiz.md` into a small course skeleton, then the course is loaded
//! with `check::check` (which calls `loader::load_course` and renders every diagnostic).

#![no_main]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kaibo::courses::check::{self, Format};
use kaibo::courses::diagnostics::Diagnostic;
use kaibo::courses::markdown::{self, Links, Place};
use kaibo::courses::{quiz, source};
use libfuzzer_sys::fuzz_target;

/// Mirrors the loader's lesson front matter (which is private).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LessonFront {
    title: String,
    #[serde(default)]
    minutes: u32,
}

struct Fixture {
    pages: HashMap<String, String>,
    assets: HashSet<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut pages = HashMap::new();
        for (file, url) in [
            ("_index.md", "/courses/fuzz"),
            ("01-intro/_index.md", "/courses/fuzz#module-intro"),
            (
                "01-intro/01-the-live-room.md",
                "/courses/fuzz/intro/the-live-room",
            ),
            (
                "01-intro/02-how-kaibo-works.md",
                "/courses/fuzz/intro/how-kaibo-works",
            ),
            ("02-module/_index.md", "/courses/fuzz#module-module"),
            ("02-module/01-lesson.md", "/courses/fuzz/module/lesson"),
            ("02-module/quiz.md", "/courses/fuzz/module/quiz"),
        ] {
            pages.insert(file.to_string(), url.to_string());
        }
        let assets = [
            "assets/funnel.svg",
            "assets/order-flow.svg",
            "assets/pinning.png",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        Fixture { pages, assets }
    })
}

/// A course on disk whose `02-module/01-lesson.md` and `02-module/quiz.md` are replaced by
/// each input. One per fuzzing process.
fn skeleton() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        // libFuzzer exits without running destructors: remove skeletons of earlier
        // processes that are gone (Linux: no /proc/<pid>).
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("kaibo-fuzz-")) else {
                continue;
            };
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let root = tmp.join(format!("kaibo-fuzz-{}", std::process::id()));
        let course = root.join("fuzz");
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["assets", "01-intro", "02-module"] {
            std::fs::create_dir_all(course.join(dir)).unwrap();
        }
        let files = [
            ("_index.md", "+++\ntitle = \"Fuzz\"\n\n[unlocks]\nprofile = \"module\"\n+++\n\nStart [here](01-intro/01-the-live-room.md).\n"),
            ("assets/funnel.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"),
            ("assets/order-flow.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"),
            ("01-intro/_index.md", "+++\ntitle = \"Intro\"\n+++\n\nIntro.\n"),
            ("01-intro/01-the-live-room.md", "+++\ntitle = \"The live room\"\n+++\n\nNext: [lesson](../02-module/01-lesson.md) ![Funnel](../assets/funnel.svg)\n"),
            ("01-intro/02-how-kaibo-works.md", "+++\ntitle = \"How Kaibo works\"\n+++\n\nText.\n"),
            ("02-module/_index.md", "+++\ntitle = \"Module\"\nrequires = [\"intro\"]\n+++\n\nModule.\n"),
        ];
        for (file, text) in files {
            std::fs::write(course.join(file), text).unwrap();
        }
        course
    })
}

fn report(diags: &[Diagnostic], text: &str) {
    for d in diags {
        black_box(d.short());
        black_box(d.render(Some(text)));
    }
}

fn in_memory(text: &str) {
    let fx = fixture();
    let links = Links {
        course_slug: "fuzz",
        dir: "02-module",
        pages: &fx.pages,
        assets: &fx.assets,
    };
    let lesson = Path::new("fuzz/02-module/01-lesson.md");
    let quiz_file = Path::new("fuzz/02-module/quiz.md");
    let mut diags = Vec::new();

    match source::split(lesson, text) {
        Ok(split) => {
            // As a lesson: front matter, then the body.
            let _ = source::front_matter::<LessonFront>(lesson, text, &split)
                .map_err(|d| diags.push(d));
            let place = Place {
                file: lesson,
                source: text,
                offset: split.body_offset,
            };
            black_box(markdown::render(split.body, &links, &place, &mut diags));
            // As a quiz, with its own front matter.
            black_box(quiz::parse(quiz_file, text, &split, &links, &mut diags));
        }
        Err(d) => {
            diags.push(d);
            // No fences: the whole input as a lesson body and as a quiz body with empty
            // front matter, so the markdown and question parsers still see every input.
            let place = Place {
                file: lesson,
                source: text,
                offset: 0,
            };
            black_box(markdown::render(text, &links, &place, &mut diags));
            let whole = source::Split {
                front: "",
                front_offset: 0,
                body: text,
                body_offset: 0,
            };
            black_box(quiz::parse(quiz_file, text, &whole, &links, &mut diags));
        }
    }
    black_box(markdown::render_inline(text));
    report(&diags, text);
}

fn on_disk(data: &[u8]) {
    let course = skeleton();
    std::fs::write(course.join("02-module/01-lesson.md"), data).unwrap();
    std::fs::write(course.join("02-module/quiz.md"), data).unwrap();
    let mut out = Vec::new();
    let _ = check::check(course, Format::Human, &mut out);
    black_box(out);
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => {
            in_memory(text);
            if data.len().is_multiple_of(16) {
                on_disk(data);
            }
        }
        Err(_) => {
            in_memory(&String::from_utf8_lossy(data));
            on_disk(data);
        }
    }
});
