//! `kaibo check`, run as a process: the starter course is clean, and every case of the
//! broken-course corpus (tests/fixtures/broken-courses, one defect per course, listed in
//! its EXPECTED.tsv) is reported at the right file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    manifest_dir().join("tests/fixtures/broken-courses")
}

/// Runs `kaibo check <args...>` from the crate root.
fn kaibo_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kaibo"))
        .arg("check")
        .args(args)
        .current_dir(manifest_dir())
        .env("KAIBO_LOG", "warn")
        .output()
        .expect("run kaibo check")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("fixture paths are UTF-8")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One row of EXPECTED.tsv.
#[derive(Debug, Clone)]
struct Expected {
    case: String,
    file: String,
    line: usize,
    severity: String,
    message: String,
}

impl Expected {
    fn is_error(&self) -> bool {
        self.severity == "error"
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}:{}: {}: …{}…",
            self.case, self.file, self.line, self.severity, self.message
        )
    }
}

fn expected_rows() -> Vec<Expected> {
    let path = fixtures().join("EXPECTED.tsv");
    let tsv = std::fs::read_to_string(&path).expect("read EXPECTED.tsv");
    let rows: Vec<Expected> = tsv
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                fields.len(),
                5,
                "EXPECTED.tsv:{}: want 5 tab-separated fields: {line:?}",
                i + 1
            );
            let severity = fields[3].to_string();
            assert!(
                severity == "error" || severity == "warning",
                "EXPECTED.tsv:{}: bad severity {severity:?}",
                i + 1
            );
            Expected {
                case: fields[0].to_string(),
                file: fields[1].to_string(),
                line: fields[2]
                    .parse()
                    .unwrap_or_else(|_| panic!("EXPECTED.tsv:{}: bad line number", i + 1)),
                severity,
                message: fields[4].to_string(),
            }
        })
        .collect();
    assert!(rows.len() >= 32, "only {} rows in EXPECTED.tsv", rows.len());
    rows
}

/// Every case folder of the corpus, by name.
fn case_names() -> BTreeSet<String> {
    std::fs::read_dir(fixtures())
        .expect("read the fixtures folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Case name -> whether it has an error row (else it is warning-only).
fn cases_with_errors(rows: &[Expected]) -> BTreeMap<String, bool> {
    let mut cases = BTreeMap::new();
    for row in rows {
        *cases.entry(row.case.clone()).or_insert(false) |= row.is_error();
    }
    cases
}

/// A `path:line:col: severity: message` line of the human output.
#[derive(Debug)]
struct Reported {
    path: String,
    line: usize,
    severity: String,
    message: String,
    raw: String,
}

fn reported(stdout: &str) -> Vec<Reported> {
    stdout
        .lines()
        .filter_map(|raw| {
            let (severity, at) = ["error", "warning"]
                .into_iter()
                .find_map(|s| raw.find(&format!(": {s}: ")).map(|at| (s, at)))?;
            let location = &raw[..at];
            let message = &raw[at + severity.len() + 4..];
            let mut parts = location.rsplitn(3, ':');
            let _column: usize = parts.next()?.parse().ok()?;
            let line: usize = parts.next()?.parse().ok()?;
            let path = parts.next()?.replace('\\', "/");
            Some(Reported {
                path,
                line,
                severity: severity.to_string(),
                message: message.to_string(),
                raw: raw.to_string(),
            })
        })
        .collect()
}

fn is_match(row: &Expected, d: &Reported) -> bool {
    d.path
        .ends_with(&format!("broken-courses/{}/{}", row.case, row.file))
        && d.line == row.line
        && d.severity == row.severity
        && d.message.contains(&row.message)
}

#[test]
fn the_starter_course_checks_clean() {
    let courses = manifest_dir().join("courses");
    let out = kaibo_check(&[path_arg(&courses)]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kaibo check courses/ failed:\n{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(" 0 error(s), 0 warning(s)"),
        "expected no findings:\n{stdout}"
    );
    assert!(reported(&stdout).is_empty(), "{stdout}");

    let json = kaibo_check(&["--format", "json", path_arg(&courses)]);
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["warnings"], 0, "{report:#}");
    let listed = report["courses"].as_array().expect("courses array");
    assert!(!listed.is_empty(), "no course found in courses/");
    assert!(listed.iter().all(|c| c["ok"] == true), "{report:#}");
}

#[test]
fn every_expected_row_has_a_case_folder_and_every_folder_a_row() {
    let rows = expected_rows();
    let in_tsv: BTreeSet<String> = rows.iter().map(|r| r.case.clone()).collect();
    let on_disk = case_names();
    let no_folder: Vec<_> = in_tsv.difference(&on_disk).collect();
    let no_row: Vec<_> = on_disk.difference(&in_tsv).collect();
    assert!(
        no_folder.is_empty() && no_row.is_empty(),
        "rows without a folder: {no_folder:?}; folders without a row: {no_row:?}"
    );
    for row in &rows {
        let broken = fixtures().join(&row.case).join(&row.file);
        assert!(
            broken.exists(),
            "{row}: {} does not exist",
            broken.display()
        );
    }
}

#[test]
fn the_corpus_reports_every_defect_at_its_line() {
    let rows = expected_rows();
    let out = kaibo_check(&[path_arg(&fixtures())]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the corpus has errors, so check must exit 1:\n{}",
        text(&out.stderr)
    );
    let found = reported(&stdout);
    let mut mismatches = Vec::new();
    for row in &rows {
        if found.iter().any(|d| is_match(row, d)) {
            continue;
        }
        let prefix = format!("broken-courses/{}/", row.case);
        let got: Vec<String> = found
            .iter()
            .filter(|d| d.path.contains(&prefix))
            .map(|d| format!("      got: {}", d.raw))
            .collect();
        mismatches.push(format!(
            "  expected {row}\n{}",
            if got.is_empty() {
                "      got: nothing for this case".to_string()
            } else {
                got.join("\n")
            }
        ));
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} expected diagnostics not reported as expected:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches.join("\n")
    );
}

#[test]
fn each_case_alone_exits_1_on_errors_and_0_on_warnings() {
    let rows = expected_rows();
    let mut wrong = Vec::new();
    for (case, has_errors) in cases_with_errors(&rows) {
        let out = kaibo_check(&[path_arg(&fixtures().join(&case))]);
        let want = if has_errors { 1 } else { 0 };
        if out.status.code() != Some(want) {
            wrong.push(format!(
                "  {case}: exit {:?}, want {want}\n{}",
                out.status.code(),
                text(&out.stdout)
                    .lines()
                    .filter(|l| l.contains(": error: ") || l.contains(": warning: "))
                    .map(|l| format!("      {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong exit codes:\n{}", wrong.join("\n"));
}

#[test]
fn the_json_report_counts_errors_and_marks_broken_courses() {
    let rows = expected_rows();
    let out = kaibo_check(&["--format", "json", path_arg(&fixtures())]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("check --format json prints JSON");
    let error_rows = rows.iter().filter(|r| r.is_error()).count();
    let warning_rows = rows.len() - error_rows;
    let errors = report["errors"].as_u64().expect("errors count") as usize;
    let warnings = report["warnings"].as_u64().expect("warnings count") as usize;
    assert!(
        errors >= error_rows,
        "{errors} errors reported, {error_rows} expected"
    );
    assert!(
        warnings >= warning_rows,
        "{warnings} warnings reported, {warning_rows} expected"
    );

    let ok: BTreeMap<String, bool> = report["courses"]
        .as_array()
        .expect("courses array")
        .iter()
        .map(|c| {
            (
                c["slug"].as_str().expect("slug").to_string(),
                c["ok"].as_bool().expect("ok"),
            )
        })
        .collect();
    let mut wrong = Vec::new();
    for (case, has_errors) in cases_with_errors(&rows) {
        match ok.get(&case) {
            None => wrong.push(format!("  {case}: missing from the JSON report")),
            Some(&course_ok) if course_ok == has_errors => wrong.push(format!(
                "  {case}: \"ok\": {course_ok}, want {}",
                !has_errors
            )),
            Some(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "wrong courses in JSON:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_case_makes_the_checker_panic() {
    let mut runs: Vec<PathBuf> = vec![fixtures()];
    runs.extend(case_names().into_iter().map(|c| fixtures().join(c)));
    let mut wrong = Vec::new();
    for dir in &runs {
        for format in ["human", "json"] {
            let out = kaibo_check(&["--format", format, path_arg(dir)]);
            let code = out.status.code();
            let stderr = text(&out.stderr);
            if !matches!(code, Some(0 | 1)) || !stderr.is_empty() {
                wrong.push(format!(
                    "  {} ({format}): exit {code:?}, stderr:\n{stderr}",
                    dir.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
