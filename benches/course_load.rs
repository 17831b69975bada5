//! Course loading benchmark: the design target is "1,000 lessons parsed and rendered in
//! <= 0.5 s".
//!
//! A synthetic corpus of 10 courses x 10 modules x 10 lessons (1,000 lessons) plus one
//! quiz per module (100 quizzes, 6 questions each) is written to a temporary folder, checked
//! to load without a single diagnostic, and then loaded with `loader::load_all`, which
//! reads, parses, checks links and renders every file.
//!
//!     cargo bench --bench course_load
//!         criterion (10 samples, ~20 s), then the summary line
//!     KAIBO_BENCH_SUMMARY=1 cargo bench --bench course_load
//!         no criterion (~2 s): only the summary line
//!
//! The summary line is the median of 5 runs timed with `std::time::Instant` after one
//! warm-up run, printed on stdout:
//!
//!     course load: 1000 lessons + 100 quizzes in X ms (target 500 ms, ratio X/500 = R)

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use kaibo::courses::loader;

const COURSES: usize = 10;
const MODULES: usize = 10;
const LESSONS: usize = 10;
const LESSONS_TOTAL: usize = COURSES * MODULES * LESSONS;
const QUIZZES_TOTAL: usize = COURSES * MODULES;
const TARGET_MS: f64 = 500.0;

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "viewer", "product", "price", "sample", "supplier", "honest", "stream", "camera", "order",
    "buyer", "tea", "skincare", "kitchen", "knife", "parcel", "refund", "return", "question",
    "answer", "trust", "margin", "commission", "shipping", "delivery", "review", "label",
    "colour", "light", "audience", "niche", "profile", "flash", "deal", "minute", "show",
    "host", "chat", "comment", "pin", "bag", "stock", "warehouse", "packing", "quality",
    "claim", "safety", "licence", "report", "photo", "demonstration", "the", "a", "and", "with",
    "before", "after", "every", "your", "their", "always", "never", "often", "clearly",
    "quickly", "carefully", "shows", "checks", "explains", "answers", "tests", "compares",
    "keeps", "builds", "earns", "loses", "asks", "watches", "buys", "returns", "ships",
];

/// A small deterministic generator, so every run writes the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }

    fn words(&mut self, n: usize) -> String {
        let mut out = String::new();
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(self.word());
        }
        out
    }

    /// A paragraph of about `n` words in sentences, wrapped at ~90 columns.
    fn paragraph(&mut self, n: usize) -> String {
        let mut out = String::new();
        let mut line_len = 0;
        let mut written = 0;
        while written < n {
            let len = (5 + self.next() % 9) as usize;
            let mut sentence = self.words(len.min(n - written).max(1));
            sentence[..1].make_ascii_uppercase();
            sentence.push('.');
            written += len;
            for word in sentence.split(' ') {
                if line_len + word.len() + 1 > 90 {
                    out.push('\n');
                    line_len = 0;
                } else if line_len > 0 {
                    out.push(' ');
                    line_len += 1;
                }
                out.push_str(word);
                line_len += word.len();
            }
        }
        out.push('\n');
        out
    }
}

fn module_dir(m: usize) -> String {
    format!("{:02}-module-{}", m + 1, m + 1)
}

fn lesson_file(l: usize) -> String {
    format!("{:02}-lesson-{}.md", l + 1, l + 1)
}

fn lesson(rng: &mut Rng, c: usize, m: usize, l: usize) -> String {
    let mut s = String::with_capacity(4096);
    let title = rng.words(4);
    writeln!(
        s,
        "+++\ntitle = \"Lesson {}.{}: {title}\"\nminutes = {}\n+++\n",
        m + 1,
        l + 1,
        4 + l % 5
    )
    .unwrap();
    s.push_str(&rng.paragraph(50));
    writeln!(s, "\n## Why the {} matters\n", rng.word()).unwrap();
    s.push_str(&rng.paragraph(45));
    s.push('\n');
    for i in 0..5 {
        writeln!(
            s,
            "- **{}.** {}",
            rng.word(),
            rng.paragraph(12).trim_end().replace('\n', " ")
        )
        .unwrap();
        if i == 2 {
            writeln!(s, "  - {}", rng.words(6)).unwrap();
        }
    }
    writeln!(
        s,
        "\n![A {} diagram for course {} module {}](../assets/figure-{}.svg)\n",
        rng.word(),
        c + 1,
        m + 1,
        l % 4
    )
    .unwrap();
    writeln!(s, "## Comparing the options\n").unwrap();
    s.push_str("| Option | Cost (¥) | Return rate | Notes |\n|---|---:|---:|---|\n");
    for row in 0..4 {
        writeln!(
            s,
            "| {} {} | {} | {} % | {} |",
            rng.word(),
            row + 1,
            20 + rng.next() % 180,
            rng.next() % 20,
            rng.words(5)
        )
        .unwrap();
    }
    writeln!(s, "\n### Step by step\n").unwrap();
    for i in 0..4 {
        writeln!(
            s,
            "{}. {}",
            i + 1,
            rng.paragraph(10).trim_end().replace('\n', " ")
        )
        .unwrap();
    }
    s.push('\n');
    s.push_str(&rng.paragraph(50));
    writeln!(
        s,
        "\n> **Tip:** {}",
        rng.paragraph(15).trim_end().replace('\n', " ")
    )
    .unwrap();
    s.push('\n');
    s.push_str(&rng.paragraph(50));
    s.push('\n');
    // A link to the next page: the next lesson, the next module's first lesson, or the quiz.
    let next = if l + 1 < LESSONS {
        lesson_file(l + 1)
    } else {
        "quiz.md".to_string()
    };
    writeln!(s, "Next: [{}]({next}). See also [the module introduction](_index.md), [the course page](../_index.md) and [the platform rules](https://example.com/rules).", rng.words(3)).unwrap();
    if m + 1 < MODULES && l + 1 == LESSONS {
        writeln!(
            s,
            "\nThen continue with [the next module](../{}/{}).",
            module_dir(m + 1),
            lesson_file(0)
        )
        .unwrap();
    }
    s
}

fn quiz(rng: &mut Rng, m: usize) -> String {
    let q = |n: usize| format!("m{}-q{n}", m + 1);
    let mut s = String::with_capacity(2048);
    writeln!(s, "+++\ntitle = \"Check: module {}\"\n\n[quiz]\npass_mark = 80\nmax_attempts = 3\nshuffle = true\n+++\n", m + 1).unwrap();
    s.push_str(&rng.paragraph(25));
    // Single choice.
    writeln!(
        s,
        "\n### Which {} best predicts what your viewers will buy? {{#{}}}\n",
        rng.word(),
        q(1)
    )
    .unwrap();
    writeln!(s, "- [ ] Your total follower count\n  > Followers who never buy do not move sales.\n- [x] What your viewers already buy\n  > Right: purchase history is the strongest signal.\n- [ ] Your own favourite {}\n", rng.word()).unwrap();
    writeln!(s, "Why: {}", rng.paragraph(15)).unwrap();
    // Multiple choice, weighted.
    writeln!(
        s,
        "### Which of these are red flags for a {}? {{#{} points=2}}\n",
        rng.word(),
        q(2)
    )
    .unwrap();
    writeln!(s, "- [x] Reviews saying \"different from the photos\"\n  > Right: the product may not match the show.\n- [x] No test report for a food product\n  > Right: food needs documents.\n- [ ] Same-day after-sales replies\n  > That is a healthy record.\n- [x] Asking you to \"just say it's organic\"\n").unwrap();
    writeln!(s, "Why: {}", rng.paragraph(12)).unwrap();
    // True / false.
    writeln!(
        s,
        "### True or false: you can skip ordering a sample of the {}. {{#{}}}\n",
        rng.word(),
        q(3)
    )
    .unwrap();
    writeln!(s, "- [ ] True\n  > Photos show the best unit on the best day.\n- [x] False\n  > Right: always test a sample.\n").unwrap();
    writeln!(s, "Why: {}", rng.paragraph(10)).unwrap();
    // Short answer.
    writeln!(
        s,
        "### What do we call gross merchandise value? {{#{}}}\n",
        q(4)
    )
    .unwrap();
    writeln!(s, "= GMV\n= gross merchandise value\n").unwrap();
    writeln!(s, "Why: {}", rng.paragraph(10)).unwrap();
    // Numeric with tolerance, with a table in the question.
    writeln!(s, "### A product costs ¥60 and sells for ¥80. What is the margin in percent? {{#{} points=2}}\n", q(5)).unwrap();
    writeln!(
        s,
        "| Cost | Price |\n|---|---|\n| ¥60 | ¥80 |\n\n= 25 ± 0.5\n"
    )
    .unwrap();
    writeln!(s, "Why: (80 − 60) ÷ 80 = 25 %.\n").unwrap();
    // Numeric range.
    writeln!(
        s,
        "### How many minutes should a first show last? {{#{}}}\n",
        q(6)
    )
    .unwrap();
    writeln!(s, "= 30 .. 60\n").unwrap();
    writeln!(s, "Why: {}", rng.paragraph(10)).unwrap();
    s
}

/// Writes the corpus under `root` and returns its size in bytes.
fn write_corpus(root: &Path) -> usize {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut bytes = 0;
    let mut write = |path: &Path, text: &str| {
        std::fs::write(path, text).unwrap();
        bytes += text.len();
    };
    for c in 0..COURSES {
        let course = root.join(format!("course-{:02}", c + 1));
        std::fs::create_dir_all(course.join("assets")).unwrap();
        for f in 0..4 {
            write(
                &course.join(format!("assets/figure-{f}.svg")),
                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"><rect width=\"10\" height=\"10\"/></svg>\n",
            );
        }
        let mut index = format!(
            "+++\ntitle = \"Synthetic course {}\"\nsummary = \"{}\"\nlanguage = \"en\"\nversion = \"2026.1\"\n\n[graduation]\nrequired_modules = []\nsandbox_delivered_orders = 3\nafter_sales_resolved = true\n\n[unlocks]\nprofile = \"module-2\"\nselection = \"module-3\"\nlive = \"module-5\"\nafter-sales = \"module-6\"\n+++\n\n",
            c + 1,
            rng.words(8)
        );
        index.push_str(&rng.paragraph(80));
        writeln!(
            index,
            "\nStart with [the first lesson]({}/{}).",
            module_dir(0),
            lesson_file(0)
        )
        .unwrap();
        write(&course.join("_index.md"), &index);
        for m in 0..MODULES {
            let dir = course.join(module_dir(m));
            std::fs::create_dir_all(&dir).unwrap();
            let requires = if m == 0 {
                String::new()
            } else {
                format!("\"module-{m}\"")
            };
            let mut module = format!(
                "+++\ntitle = \"Module {}: {}\"\nsummary = \"{}\"\nrequires = [{requires}]\n+++\n\n",
                m + 1,
                rng.words(3),
                rng.words(10)
            );
            module.push_str(&rng.paragraph(40));
            write(&dir.join("_index.md"), &module);
            for l in 0..LESSONS {
                write(&dir.join(lesson_file(l)), &lesson(&mut rng, c, m, l));
            }
            write(&dir.join("quiz.md"), &quiz(&mut rng, m));
        }
    }
    bytes
}

/// Loads the whole corpus; returns (lessons, quizzes) so nothing is optimised away.
fn load(root: &Path) -> (usize, usize) {
    let courses = loader::load_all(root).expect("read corpus root");
    let mut lessons = 0;
    let mut quizzes = 0;
    for loaded in &courses {
        let course = loaded.course.as_ref().expect("course loads");
        for m in &course.modules {
            lessons += m.lessons.len();
            quizzes += usize::from(m.quiz.is_some());
        }
    }
    black_box(&courses);
    (lessons, quizzes)
}

/// Fails loudly unless the corpus loads complete and without any diagnostic.
fn check_corpus(root: &Path) {
    let courses = loader::load_all(root).expect("read corpus root");
    assert_eq!(courses.len(), COURSES);
    let mut problems = Vec::new();
    let (mut lessons, mut quizzes, mut questions, mut words) = (0, 0, 0, 0);
    for loaded in &courses {
        problems.extend(loaded.diagnostics.iter().map(|d| d.short()));
        let course = loaded
            .course
            .as_ref()
            .unwrap_or_else(|| panic!("course {} failed to load: {problems:#?}", loaded.slug));
        for m in &course.modules {
            lessons += m.lessons.len();
            if let Some(q) = &m.quiz {
                quizzes += 1;
                questions += q.questions.len();
                assert_eq!(q.questions.len(), 6);
            }
        }
        // Words of prose in lesson files: whitespace-separated tokens with a letter.
        words += loaded
            .sources
            .iter()
            .filter(|(p, _)| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(char::is_numeric))
            })
            .map(|(_, t)| {
                t.split_whitespace()
                    .filter(|w| w.chars().any(char::is_alphabetic))
                    .count()
            })
            .sum::<usize>();
        // The rendered pages really contain what a lesson is meant to have.
        for m in &course.modules {
            for l in &m.lessons {
                for needle in [
                    "<h2",
                    "<h3",
                    "<ul>",
                    "<ol>",
                    "<table>",
                    "<blockquote>",
                    "<img src=\"/courses/",
                    " alt=\"A ",
                    "href=\"/courses/",
                ] {
                    assert!(
                        l.html.contains(needle),
                        "lesson {} lacks {needle}: {}",
                        l.slug,
                        l.html
                    );
                }
            }
            let mut kinds: Vec<&str> = m
                .quiz
                .as_ref()
                .unwrap()
                .questions
                .iter()
                .map(|q| q.kind.name())
                .collect();
            kinds.sort();
            assert_eq!(
                kinds,
                [
                    "multiple",
                    "numeric",
                    "numeric",
                    "short",
                    "single",
                    "true-false"
                ]
            );
        }
    }
    assert!(
        problems.is_empty(),
        "the synthetic corpus has diagnostics: {problems:#?}"
    );
    assert_eq!((lessons, quizzes), (LESSONS_TOTAL, QUIZZES_TOTAL));
    eprintln!(
        "corpus: {COURSES} courses, {lessons} lessons (~{} words each), {quizzes} quizzes, {questions} questions, 0 diagnostics",
        words / lessons
    );
}

fn timed_ms(root: &Path) -> f64 {
    let start = Instant::now();
    let counts = load(root);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(counts, (LESSONS_TOTAL, QUIZZES_TOTAL));
    ms
}

/// One warm-up run, then the median of 5 runs timed with `Instant`, printed on stdout.
fn timed_summary(root: &Path, after: &str) {
    timed_ms(root); // warm-up: page cache, allocator
    let mut runs: Vec<f64> = (0..5).map(|_| timed_ms(root)).collect();
    runs.sort_by(f64::total_cmp);
    summary(
        runs[2],
        &format!(
            "median of 5 timed runs {after}; min {:.1} ms, max {:.1} ms",
            runs[0], runs[4]
        ),
    );
}

fn summary(ms: f64, how: &str) {
    println!(
        "course load: {LESSONS_TOTAL} lessons + {QUIZZES_TOTAL} quizzes in {ms:.1} ms (target {TARGET_MS:.0} ms, ratio {ms:.1}/{TARGET_MS:.0} = {:.3}) [{how}]",
        ms / TARGET_MS
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let bytes = write_corpus(root);
    eprintln!(
        "corpus written to {} ({} KiB)",
        root.display(),
        bytes / 1024
    );
    check_corpus(root);

    if std::env::var_os("KAIBO_BENCH_SUMMARY").is_some_and(|v| v != "0") {
        timed_summary(root, "after 1 warm-up");
        return;
    }

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("course_load");
        group.throughput(Throughput::Elements(LESSONS_TOTAL as u64));
        group.bench_function("load_all_1000_lessons_100_quizzes", |b| {
            b.iter(|| load(black_box(root)))
        });
        group.finish();
    }
    criterion.final_summary();
    timed_summary(root, "after criterion");
}
