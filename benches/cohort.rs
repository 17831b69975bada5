//! Instructor analytics benchmark: the design target is "10,000 trainees and 200,000
//! attempts; the instructor cohort page and the item analysis of one quiz each in under
//! 300 ms, on SQLite and on PostgreSQL".
//!
//!     cargo bench --bench cohort
//!         SQLite, in a temporary folder
//!     KAIBO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench cohort
//!         PostgreSQL: a fresh database `kaibo_bench_<random>` is created on that server
//!         and dropped at the end
//!
//! A deterministic population (fixed-seed `StdRng`) is written straight into the database
//! with multi-row INSERT statements: 10,000 trainees (some with Chinese names) who joined
//! over three months, 5 groups, one enrolment each in `first-live-sale`, their lesson
//! completions, exactly 200,000 quiz attempts over the course's 7 quizzes (most trainees
//! reach the early modules, fewer the later ones; 1-5 attempts per module) with an answer
//! row for every question, graded by the application's own grader, and the module
//! completions that follow from the passed attempts. Whether an answer is right depends on
//! the trainee's ability and the question's difficulty, so the item statistics mean
//! something; the earliest 10 % of the attempts at the busiest quiz carry an older quiz
//! version, so the page shows two version tables.
//!
//! Then the real application is started on port 0, an instructor logs in over HTTP, and
//! each page is requested 3 times to warm up and 20 times timed (one request at a time,
//! from sending the request to reading the whole body). Printed on stdout, per page:
//!
//!     <page>: median X ms, p95 Y ms, R of the 300 ms target
//!
//! where R = median / 300 ms (p95 by nearest rank), then, for the item pages, where the
//! time goes, measured in the bench process on one connection (median of 5): the query
//! with decoding its rows, grouping the rows by quiz version (which parses each answer's
//! JSON), and the statistics. The last line gives the slowest page.
//!
//! Seeding takes about 7 s on SQLite and 30 s on PostgreSQL on the project machine; the
//! whole run under a minute after compiling. PostgreSQL gets `VACUUM ANALYZE` after the
//! inserts (what autovacuum would have done); SQLite gets a WAL checkpoint and no
//! ANALYZE, because the application never runs one. Set `KAIBO_BENCH_KEEP_DB=1` to keep
//! the database afterwards (its location is printed) for looking at query plans.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::analytics::item_analysis::{self, QuestionSpec};
use kaibo::analytics::queries::{self, Filter};
use kaibo::analytics::routes::{by_version, question_specs};
use kaibo::clock::ManualClock;
use kaibo::config::{RawSettings, Settings};
use kaibo::courses::grading::{Answer, grade_question, passes};
use kaibo::courses::loader;
use kaibo::courses::model::{Course, Question, QuestionKind, Quiz};
use kaibo::db::schema::{
    cohort_members, cohorts, enrolments, lesson_completions, module_completions, quiz_answers,
    quiz_attempts, users as users_table,
};
use kaibo::db::{self, Backend, DatabaseUrl, DbConn};
use kaibo::startup::Application;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

const TRAINEES: usize = 10_000;
const ATTEMPTS: usize = 200_000;
const GROUPS: usize = 5;
const COURSE: &str = "first-live-sale";
const TARGET_MS: f64 = 300.0;
const WARM_UP: usize = 3;
const TIMED: usize = 20;
const BATCH: usize = 1_000;
const SEED: u64 = 0x6b61_6962_6f63; // "kaiboc"
const PASSWORD: &str = "a long enough passphrase";
/// Share of the busiest quiz's attempts (the earliest) stored under an older version.
const OLD_VERSION_SHARE: f64 = 0.10;
const OLD_VERSION: &str = "0ld5e7b2c9a4d1f6";

// The behaviour of the simulated trainees, tuned so that the simulation gives about
// 190,000 attempts; about 10,000 retakes of passed quizzes are then added (or retakes
// removed) to reach exactly `ATTEMPTS`.
/// Chance that a trainee who reaches a module takes its quiz.
const TAKE_QUIZ: f64 = 0.99;
/// Chance of another attempt after a failed one (up to 5).
const RETRY_AFTER_FAIL: f64 = 0.97;
/// Chance of retaking a passed quiz for a better score (up to 5 attempts).
const RETAKE_AFTER_PASS: f64 = 0.86;
/// Chance of going on to the next module after passing a quiz.
const CONTINUE: f64 = 0.97;
const MAX_ATTEMPTS: usize = 5;

fn main() {
    let server = std::env::var("KAIBO_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    let dir = tempfile::tempdir().expect("temp dir");
    // Dropped last, after the runtime: removes the PostgreSQL database.
    let postgres = server.map(|s| PgDatabase::create(&s));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(dir.path().to_path_buf(), postgres.as_ref()));
    drop(runtime);
    if std::env::var_os("KAIBO_BENCH_KEEP_DB").is_some() {
        // For looking at query plans afterwards; remove it by hand.
        match postgres {
            Some(mut db) => {
                println!("kept the database: {}", db.url);
                db.keep = true;
            }
            None => println!("kept the database: {}/data/kaibo.db", dir.keep().display()),
        }
    }
}

/// A database of its own on the PostgreSQL server, dropped when the bench ends.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
    keep: bool,
}

impl PgDatabase {
    fn create(server: &str) -> Self {
        let mut bytes = [0u8; 6];
        rand::rng().fill_bytes(&mut bytes);
        let name = format!("kaibo_bench_{}", hex::encode(bytes));
        let mut conn = PgConnection::establish(server).expect("connect to PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create the bench database");
        let mut url = url::Url::parse(server).expect("valid PostgreSQL URL");
        url.set_path(&name);
        Self {
            server: server.to_string(),
            name,
            url: url.to_string(),
            keep: false,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(mut conn) = PgConnection::establish(&self.server) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

async fn run(dir: PathBuf, postgres: Option<&PgDatabase>) {
    let courses_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("courses");
    let loaded = loader::load_course(&courses_dir.join(COURSE));
    let course = loaded.course.expect("the bundled course loads");
    assert_eq!(course.slug, COURSE);
    assert!(
        course.modules.iter().all(|m| m.quiz.is_some()),
        "every module of {COURSE} has a quiz"
    );

    let raw = RawSettings {
        bind: "127.0.0.1:0".into(),
        data: dir.join("data"),
        database_url: postgres.map(|p| p.url.clone()),
        pool_size: 8,
        workers: 2,
        seed_demo: false,
        courses: courses_dir,
        ..RawSettings::default()
    };
    let settings = Settings::from_raw(raw).expect("valid bench settings");
    let database_url = settings.database_url.clone();
    let backend = database_url.backend();
    println!(
        "backend: {} ({})",
        backend.name(),
        match &database_url {
            DatabaseUrl::Sqlite(path) => path.display().to_string(),
            DatabaseUrl::Postgres(_) => database_url.redacted(),
        }
    );

    // The schema, the instructor and the population, before the server starts: as if
    // the server were restarted on a database that has been in use for three months.
    let pool = db::build_pool(&database_url, 2).expect("bench pool");
    db::run_migrations(&pool).expect("migrations");
    let mut conn = pool.get().expect("connection");
    let instructor_email = "instructor@bench.example.com";
    let instructor = users::create(
        &mut conn,
        &Email::parse(instructor_email).unwrap(),
        &hashing::hash_now(PASSWORD).unwrap(),
        Role::Instructor,
        &DisplayName::parse("Bench Instructor").unwrap(),
        None,
        at(2026, 8, 1, 9, 0),
    )
    .expect("create the instructor");

    let started = Instant::now();
    let population = simulate(&course, instructor.id);
    let simulated = started.elapsed();
    let written = Instant::now();
    write_population(&mut conn, backend, &course, &population).expect("seed the database");
    let write_time = written.elapsed();
    let analyse_time = Instant::now();
    match backend {
        // What autovacuum would have done to tables that grew over three months: the
        // visibility map and the planner statistics.
        Backend::Postgres => conn
            .batch_execute("VACUUM ANALYZE")
            .expect("VACUUM ANALYZE"),
        // Pages in the database file rather than in the write-ahead log, as after any
        // checkpoint. The application never runs ANALYZE, so neither does the bench.
        Backend::Sqlite => conn
            .batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint"),
    }
    let analyse_time = analyse_time.elapsed();
    let counts = Counts::read(&mut conn);
    println!(
        "seeded in {:.1} s (generate {:.1} s, insert {:.1} s{}): {}",
        started.elapsed().as_secs_f64(),
        simulated.as_secs_f64(),
        write_time.as_secs_f64(),
        if backend == Backend::Postgres {
            format!(", VACUUM ANALYZE {:.1} s", analyse_time.as_secs_f64())
        } else {
            format!(", checkpoint {:.1} s", analyse_time.as_secs_f64())
        },
        counts.line()
    );
    assert_eq!(counts.trainees, TRAINEES as i64);
    assert_eq!(counts.attempts, ATTEMPTS as i64);

    // The busiest quiz, and the group the filtered views use.
    let (busiest, busiest_attempts) = busiest_module(&population, &course);
    let module = &course.modules[busiest];
    let quiz = module.quiz.as_ref().unwrap();
    let first_attempts = population
        .attempts
        .iter()
        .filter(|a| a.module == busiest && a.number == 1)
        .count();
    let (group_id, group_size) = largest_group(&population);
    let group_first = population
        .attempts
        .iter()
        .filter(|a| {
            a.module == busiest
                && a.number == 1
                && population.trainees[a.trainee].group == Some(group_id)
        })
        .count();
    drop(conn);
    drop(pool);

    let clock = Arc::new(ManualClock::new(Utc.from_utc_datetime(&now())));
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    login(&client, &base, instructor_email, PASSWORD).await;

    let questions = quiz.questions.len();
    let cohort_path = format!("/instructor/courses/{COURSE}/progress");
    let item_path = format!("/instructor/courses/{COURSE}/quizzes/{}", module.slug);
    let group_db_id = group_id as i64 + 1;
    let pages = [
        Page {
            label: format!("cohort page ({TRAINEES} trainees)"),
            path: cohort_path.clone(),
            must_have: "<svg",
            rows: None,
        },
        Page {
            label: format!("cohort page, one group ({group_size} trainees)"),
            path: format!("{cohort_path}?group={group_db_id}"),
            must_have: "<svg",
            rows: None,
        },
        Page {
            label: format!(
                "item analysis, first attempts ({}: {first_attempts} attempts, {} answers)",
                module.slug,
                first_attempts * questions
            ),
            path: item_path.clone(),
            must_have: "id=\"item-",
            rows: Some(questions),
        },
        Page {
            label: format!(
                "item analysis, all attempts ({}: {busiest_attempts} attempts, {} answers)",
                module.slug,
                busiest_attempts * questions
            ),
            path: format!("{item_path}?attempts=all"),
            must_have: "id=\"item-",
            rows: Some(questions),
        },
        Page {
            label: format!(
                "item analysis, one group, first attempts ({group_first} attempts, {} answers)",
                group_first * questions
            ),
            path: format!("{item_path}?group={group_db_id}"),
            must_have: "id=\"item-",
            rows: Some(questions),
        },
    ];
    let mut worst: f64 = 0.0;
    for page in &pages {
        let stats = measure(&client, &base, page).await;
        worst = worst.max(stats.median_ms);
        println!(
            "{}: median {:.1} ms, p95 {:.1} ms, {:.2} of the {TARGET_MS:.0} ms target \
             [min {:.1} ms, max {:.1} ms, {} KiB{}, GET {}]",
            page.label,
            stats.median_ms,
            stats.p95_ms,
            stats.median_ms / TARGET_MS,
            stats.min_ms,
            stats.max_ms,
            stats.bytes / 1024,
            if page.rows.is_some() {
                format!(", {} quiz versions", stats.versions)
            } else {
                String::new()
            },
            page.path
        );
    }
    // Where an item page's time goes, measured in this process on one connection.
    for (label, all, filter) in [
        ("first attempts", false, Filter::default()),
        ("all attempts", true, Filter::default()),
        (
            "one group, first attempts",
            false,
            Filter {
                cohort_id: Some(group_db_id),
                intake: None,
            },
        ),
    ] {
        println!(
            "  item analysis, {label}, in process (median of 5): {}",
            breakdown(&database_url, quiz, &module.slug, all, &filter)
        );
    }
    println!(
        "cohort analytics ({}): slowest page median {worst:.1} ms, {:.2} of the {TARGET_MS:.0} ms target",
        backend.name(),
        worst / TARGET_MS
    );
}

// ---------------------------------------------------------------- HTTP

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) {
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("login page");
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("login page has a CSRF field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    let token = &html[start..end];
    let response = client
        .post(format!("{base}/login"))
        .form(&[("csrf", token), ("email", email), ("password", password)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(response.status(), 303, "the instructor logs in");
}

struct Page {
    label: String,
    path: String,
    must_have: &'static str,
    /// For the item pages: at least this many item rows.
    rows: Option<usize>,
}

struct Stats {
    median_ms: f64,
    p95_ms: f64,
    min_ms: f64,
    max_ms: f64,
    bytes: usize,
    versions: usize,
}

/// The time to the last byte, the body's size and how many quiz versions it shows.
async fn fetch(client: &reqwest::Client, base: &str, page: &Page) -> (Duration, usize, usize) {
    let started = Instant::now();
    let response = client
        .get(format!("{base}{}", page.path))
        .send()
        .await
        .expect("GET");
    let status = response.status();
    let body = response.text().await.expect("body");
    let elapsed = started.elapsed();
    assert_eq!(
        status,
        200,
        "GET {}: {}",
        page.path,
        &body[..body.len().min(500)]
    );
    assert!(
        body.contains(page.must_have),
        "GET {} lacks {}",
        page.path,
        page.must_have
    );
    if let Some(rows) = page.rows {
        let found = body.matches(page.must_have).count();
        assert!(
            found >= rows,
            "GET {}: {found} item rows, expected {rows}",
            page.path
        );
    }
    (elapsed, body.len(), body.matches("id=\"v-").count())
}

async fn measure(client: &reqwest::Client, base: &str, page: &Page) -> Stats {
    for _ in 0..WARM_UP {
        fetch(client, base, page).await;
    }
    let mut times = Vec::with_capacity(TIMED);
    let (mut bytes, mut versions) = (0, 0);
    for _ in 0..TIMED {
        let (t, b, v) = fetch(client, base, page).await;
        times.push(t.as_secs_f64() * 1000.0);
        (bytes, versions) = (b, v);
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median_ms = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    };
    // Nearest rank.
    let p95_ms = times[((n as f64 * 0.95).ceil() as usize).max(1) - 1];
    Stats {
        median_ms,
        p95_ms,
        min_ms: times[0],
        max_ms: times[n - 1],
        bytes,
        versions,
    }
}

/// Times the three stages of the item page: the query with decoding the rows, grouping
/// them by quiz version (parsing each answer's JSON), and the statistics.
fn breakdown(url: &DatabaseUrl, quiz: &Quiz, module: &str, all: bool, filter: &Filter) -> String {
    let pool = db::build_pool(url, 1).expect("pool");
    let mut conn = pool.get().expect("connection");
    let specs = question_specs(quiz);
    let (mut query, mut group, mut stats, mut rows) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    for _ in 0..5 {
        let t = Instant::now();
        let answers = queries::quiz_answers(&mut conn, COURSE, module, all, filter).expect("query");
        query.push(ms(t));
        rows = answers.len();
        let t = Instant::now();
        let versions = by_version(answers);
        group.push(ms(t));
        let t = Instant::now();
        for (version, attempts) in &versions {
            let specs: &[QuestionSpec] = if *version == quiz.version {
                &specs
            } else {
                &[]
            };
            std::hint::black_box(item_analysis::analyse(specs, attempts));
        }
        stats.push(ms(t));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    format!(
        "query + decoding {:.1} ms ({rows} rows), grouping by version {:.1} ms, statistics {:.1} ms",
        median(query),
        median(group),
        median(stats)
    )
}

// ---------------------------------------------------------------- the population

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
}

/// The bench's "now": the application's clock stands here.
fn now() -> NaiveDateTime {
    at(2026, 11, 26, 9, 0)
}

struct Trainee {
    id: i64,
    email: String,
    name: String,
    locale: Option<&'static str>,
    created_at: NaiveDateTime,
    enrolled_at: NaiveDateTime,
    group: Option<usize>,
    ability: f64,
}

struct Attempt {
    trainee: usize,
    module: usize,
    number: i32,
    at: NaiveDateTime,
    score_milli: i64,
    max_milli: i64,
    passed: bool,
    old_version: bool,
    removed: bool,
    /// (question index, answer as stored JSON, score, max), in question order.
    answers: Vec<(usize, String, i64, i64)>,
}

/// A trainee's attempts at one quiz.
struct Series {
    trainee: usize,
    module: usize,
    attempts: Vec<usize>,
    /// The attempt number of the first pass.
    first_pass: Option<i32>,
}

struct Population {
    instructor: i64,
    trainees: Vec<Trainee>,
    groups: Vec<(String, String, NaiveDateTime)>,
    attempts: Vec<Attempt>,
    series: Vec<Series>,
    lessons: Vec<(usize, usize, usize, NaiveDateTime)>,
}

/// How each question behaves: answered right with probability
/// 1 / (1 + exp(-discrimination * (ability + practice - difficulty))).
struct ItemModel {
    difficulty: f64,
    discrimination: f64,
}

#[rustfmt::skip]
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "胡", "朱", "郭", "何", "林", "罗", "高"];
#[rustfmt::skip]
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华", "晓明", "婷婷", "子涵", "欣怡", "浩然"];
#[rustfmt::skip]
const FIRST: &[&str] = &["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Isla", "Jun", "Kai", "Lena", "Mei", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Yusuf", "Zoe"];
#[rustfmt::skip]
const LAST: &[&str] = &["Smith", "Chen", "Garcia", "Müller", "O'Brien", "Nguyen", "Kowalski", "Haddad", "Silva", "Tanaka", "Okafor", "Larsen", "Rossi", "Dubois", "Wong", "Ivanova"];
#[rustfmt::skip]
const GROUP_NAMES: &[&str] = &["2026年8月 直播一班", "September intake", "2026年10月 直播二班", "October evening class", "11月 新主播训练营"];
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#[rustfmt::skip]
const WRONG_TEXT: &[&str] = &["I don't know", "the supplier", "stock", "live", "GMV", "maybe", "profit", "viewers", "不知道"];

fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn minutes(rng: &mut StdRng, low: i64, high: i64) -> chrono::Duration {
    chrono::Duration::minutes(rng.random_range(low..=high))
}

fn simulate(course: &Course, instructor: i64) -> Population {
    let mut rng = StdRng::seed_from_u64(SEED);
    let quizzes: Vec<&Quiz> = course
        .modules
        .iter()
        .map(|m| m.quiz.as_ref().unwrap())
        .collect();
    let items: Vec<Vec<ItemModel>> = quizzes
        .iter()
        .map(|quiz| {
            // One question per quiz tells good and weak trainees apart badly, so the
            // analysis has something to flag.
            let weak = rng.random_range(0..quiz.questions.len());
            (0..quiz.questions.len())
                .map(|i| ItemModel {
                    difficulty: rng.random_range(-2.2..0.3),
                    discrimination: if i == weak {
                        -0.3
                    } else {
                        rng.random_range(0.7..1.8)
                    },
                })
                .collect()
        })
        .collect();

    // Trainees joined over three months, ids in order of joining.
    let first_day = at(2026, 8, 26, 0, 0);
    let span_minutes = 90 * 24 * 60;
    let mut joined: Vec<NaiveDateTime> = (0..TRAINEES)
        .map(|_| first_day + chrono::Duration::minutes(rng.random_range(0..span_minutes)))
        .collect();
    joined.sort();
    let groups: Vec<(String, String, NaiveDateTime)> = GROUP_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let code: String = (0..8)
                .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
                .collect();
            let created =
                first_day + chrono::Duration::days(18 * i as i64) - chrono::Duration::days(3);
            (name.to_string(), code, created)
        })
        .collect();
    let trainees: Vec<Trainee> = joined
        .into_iter()
        .enumerate()
        .map(|(i, created_at)| {
            let chinese = rng.random_bool(0.45);
            let name = if chinese {
                format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                )
            } else {
                format!(
                    "{} {}",
                    FIRST[rng.random_range(0..FIRST.len())],
                    LAST[rng.random_range(0..LAST.len())]
                )
            };
            // Groups follow the intake: mostly the group of the trainee's 18-day slice.
            let slice =
                ((created_at - first_day).num_days() / 18).clamp(0, GROUPS as i64 - 1) as usize;
            let group = if rng.random_bool(0.12) {
                None
            } else if rng.random_bool(0.85) {
                Some(slice)
            } else {
                Some(rng.random_range(0..GROUPS))
            };
            Trainee {
                id: instructor + 1 + i as i64,
                email: format!("trainee{:05}@bench.example.com", i + 1),
                name,
                locale: if chinese { Some("zh-CN") } else { None },
                created_at,
                enrolled_at: created_at + minutes(&mut rng, 1, 180),
                group,
                ability: normal(&mut rng),
            }
        })
        .collect();

    let cutoff = now() - chrono::Duration::minutes(10);
    let mut population = Population {
        instructor,
        trainees,
        groups,
        attempts: Vec::with_capacity(ATTEMPTS + 10_000),
        series: Vec::new(),
        lessons: Vec::new(),
    };
    for t in 0..TRAINEES {
        let mut time = population.trainees[t].enrolled_at;
        let ability = population.trainees[t].ability;
        'modules: for (m, module) in course.modules.iter().enumerate() {
            time += minutes(&mut rng, 30, 36 * 60);
            if time > cutoff {
                break;
            }
            for (l, _) in module.lessons.iter().enumerate() {
                time += minutes(&mut rng, 3, 90);
                if time > cutoff {
                    break 'modules;
                }
                if rng.random_bool(0.93) {
                    population.lessons.push((t, m, l, time));
                }
            }
            if !rng.random_bool(TAKE_QUIZ) {
                break;
            }
            let mut series = Series {
                trainee: t,
                module: m,
                attempts: Vec::new(),
                first_pass: None,
            };
            for number in 1..=MAX_ATTEMPTS as i32 {
                time += minutes(&mut rng, 5, 14 * 60);
                if time > cutoff {
                    break;
                }
                let attempt =
                    take_quiz(&mut rng, quizzes[m], &items[m], ability, t, m, number, time);
                let passed = attempt.passed;
                series.attempts.push(population.attempts.len());
                population.attempts.push(attempt);
                if passed {
                    series.first_pass.get_or_insert(number);
                }
                let again = if series.first_pass.is_some() {
                    RETAKE_AFTER_PASS
                } else {
                    RETRY_AFTER_FAIL
                };
                if !rng.random_bool(again) {
                    break;
                }
            }
            let passed = series.first_pass.is_some();
            if !series.attempts.is_empty() {
                population.series.push(series);
            }
            if !passed || !rng.random_bool(CONTINUE) {
                break;
            }
        }
    }
    let simulated = population.attempts.len();

    // Exactly ATTEMPTS: add retakes of passed quizzes, or drop retakes made after a pass.
    // Neither changes which modules a trainee completed.
    let mut total = simulated;
    if total < ATTEMPTS {
        let mut open: Vec<usize> = (0..population.series.len())
            .filter(|&s| {
                let series = &population.series[s];
                series.first_pass.is_some() && series.attempts.len() < MAX_ATTEMPTS
            })
            .collect();
        while total < ATTEMPTS {
            assert!(!open.is_empty(), "no quiz left to retake");
            let pick = rng.random_range(0..open.len());
            let s = open[pick];
            let (t, m, last) = {
                let series = &population.series[s];
                let last = &population.attempts[*series.attempts.last().unwrap()];
                (series.trainee, series.module, last.at)
            };
            let number = population.series[s].attempts.len() as i32 + 1;
            let time = (last + minutes(&mut rng, 10, 24 * 60))
                .min(cutoff)
                .max(last + chrono::Duration::minutes(1));
            let ability = population.trainees[t].ability;
            let attempt = take_quiz(&mut rng, quizzes[m], &items[m], ability, t, m, number, time);
            population.series[s]
                .attempts
                .push(population.attempts.len());
            population.attempts.push(attempt);
            total += 1;
            if population.series[s].attempts.len() >= MAX_ATTEMPTS {
                open.swap_remove(pick);
            }
        }
    } else {
        let mut open: Vec<usize> = (0..population.series.len())
            .filter(|&s| {
                let series = &population.series[s];
                series
                    .first_pass
                    .is_some_and(|p| series.attempts.len() as i32 > p)
            })
            .collect();
        while total > ATTEMPTS {
            assert!(!open.is_empty(), "no retake left to remove");
            let pick = rng.random_range(0..open.len());
            let s = open[pick];
            let series = &mut population.series[s];
            let last = series.attempts.pop().unwrap();
            population.attempts[last].removed = true;
            total -= 1;
            if series.attempts.len() as i32 <= series.first_pass.unwrap() {
                open.swap_remove(pick);
            }
        }
        population.attempts.retain(|a| !a.removed);
        // Series indices into `attempts` are stale now; only counts are read from here on.
    }
    eprintln!("simulated {simulated} attempts, adjusted to {total}");

    // Attempt ids in order of submission, like the database would hand them out.
    population
        .attempts
        .sort_by_key(|a| (a.at, a.trainee, a.module, a.number));
    // The earliest attempts at the busiest quiz answered an older version of it.
    let (busiest, count) = busiest_module(&population, course);
    let old = (count as f64 * OLD_VERSION_SHARE).round() as usize;
    for attempt in population
        .attempts
        .iter_mut()
        .filter(|a| a.module == busiest)
        .take(old)
    {
        attempt.old_version = true;
    }
    population
}

#[allow(clippy::too_many_arguments)]
fn take_quiz(
    rng: &mut StdRng,
    quiz: &Quiz,
    items: &[ItemModel],
    ability: f64,
    trainee: usize,
    module: usize,
    number: i32,
    at: NaiveDateTime,
) -> Attempt {
    let practice = 0.35 * f64::from(number - 1);
    let mut answers = Vec::with_capacity(quiz.questions.len());
    let (mut score, mut max) = (0, 0);
    for (i, (question, item)) in quiz.questions.iter().zip(items).enumerate() {
        let logit = item.discrimination * (ability + practice - item.difficulty);
        let right = rng.random_bool(1.0 / (1.0 + (-logit).exp()));
        let answer = answer_for(rng, question, right);
        let graded = grade_question(question, &answer);
        score += graded.score_milli;
        max += graded.max_milli;
        answers.push((
            i,
            serde_json::to_string(&graded.answer).unwrap(),
            graded.score_milli,
            graded.max_milli,
        ));
    }
    Attempt {
        trainee,
        module,
        number,
        at,
        score_milli: score,
        max_milli: max,
        passed: passes(score, max, quiz.pass_mark),
        old_version: false,
        removed: false,
        answers,
    }
}

/// An answer a trainee could have given: the right one, or a plausible wrong one (the
/// first wrong option is the most tempting).
fn answer_for(rng: &mut StdRng, question: &Question, right: bool) -> Answer {
    let ids = |choices: Vec<&kaibo::courses::model::Choice>| {
        let mut ids: Vec<String> = choices.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        Answer::Choices(ids)
    };
    match &question.kind {
        QuestionKind::Single(choices)
        | QuestionKind::TrueFalse(choices)
        | QuestionKind::Multiple(choices) => {
            let correct: Vec<_> = choices.iter().filter(|c| c.correct).collect();
            let wrong: Vec<_> = choices.iter().filter(|c| !c.correct).collect();
            let tempting = |rng: &mut StdRng| {
                if rng.random_bool(0.6) {
                    wrong[0]
                } else {
                    wrong[rng.random_range(0..wrong.len())]
                }
            };
            if !question.kind.is_multiple() {
                if right || wrong.is_empty() {
                    return ids(vec![correct[rng.random_range(0..correct.len())]]);
                }
                return ids(vec![tempting(rng)]);
            }
            if right || (wrong.is_empty() && correct.len() < 2) {
                return ids(correct);
            }
            match rng.random_range(0..3) {
                0 if correct.len() > 1 => {
                    let mut some = correct.clone();
                    some.remove(rng.random_range(0..some.len()));
                    ids(some)
                }
                1 if !wrong.is_empty() => {
                    let mut more = correct.clone();
                    more.push(tempting(rng));
                    ids(more)
                }
                _ if !wrong.is_empty() => {
                    let mut mixed = vec![tempting(rng)];
                    if rng.random_bool(0.5) {
                        mixed.push(correct[rng.random_range(0..correct.len())]);
                    }
                    ids(mixed)
                }
                _ => ids(vec![correct[0]]),
            }
        }
        QuestionKind::Short(accepted) => {
            if right {
                let text = &accepted[rng.random_range(0..accepted.len())];
                Answer::Text(if rng.random_bool(0.3) {
                    text.to_lowercase()
                } else {
                    text.clone()
                })
            } else {
                Answer::Text(WRONG_TEXT[rng.random_range(0..WRONG_TEXT.len())].to_string())
            }
        }
        QuestionKind::Numeric { min, max, .. } => {
            if right {
                Answer::Text(format!("{}", (min + max) / 2.0))
            } else {
                let off = (max.abs() + 1.0) * rng.random_range(0.2..1.5);
                let value = if rng.random_bool(0.5) {
                    max + off
                } else {
                    min - off
                };
                Answer::Text(format!("{value:.0}"))
            }
        }
    }
}

/// The module with the most attempts, and how many.
fn busiest_module(population: &Population, course: &Course) -> (usize, usize) {
    let mut counts = vec![0usize; course.modules.len()];
    for a in &population.attempts {
        counts[a.module] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .max_by_key(|(m, n)| (*n, std::cmp::Reverse(*m)))
        .unwrap()
}

fn largest_group(population: &Population) -> (usize, usize) {
    let mut sizes = vec![0usize; GROUPS];
    for t in &population.trainees {
        if let Some(g) = t.group {
            sizes[g] += 1;
        }
    }
    sizes
        .into_iter()
        .enumerate()
        .max_by_key(|(g, n)| (*n, std::cmp::Reverse(*g)))
        .unwrap()
}

// ---------------------------------------------------------------- writing it

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn stamp(backend: Backend, t: NaiveDateTime) -> String {
    let t = t.format("%Y-%m-%d %H:%M:%S");
    match backend {
        Backend::Postgres => format!("TIMESTAMP '{t}'"),
        Backend::Sqlite => format!("'{t}'"),
    }
}

/// Multi-row INSERT statements of up to `BATCH` rows.
struct Inserter<'c> {
    conn: &'c mut DbConn,
    head: String,
    sql: String,
    rows: usize,
}

impl<'c> Inserter<'c> {
    fn new(conn: &'c mut DbConn, head: &str) -> Self {
        Self {
            conn,
            head: head.to_string(),
            sql: String::with_capacity(128 * BATCH),
            rows: 0,
        }
    }

    fn row(&mut self, values: &str) -> QueryResult<()> {
        if self.rows == 0 {
            self.sql.clear();
            self.sql.push_str(&self.head);
            self.sql.push_str(" VALUES (");
        } else {
            self.sql.push_str(",(");
        }
        self.sql.push_str(values);
        self.sql.push(')');
        self.rows += 1;
        if self.rows == BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> QueryResult<()> {
        if self.rows > 0 {
            self.conn.batch_execute(&self.sql)?;
            self.rows = 0;
        }
        Ok(())
    }
}

fn write_population(
    conn: &mut DbConn,
    backend: Backend,
    course: &Course,
    population: &Population,
) -> QueryResult<()> {
    let ts = |t: NaiveDateTime| stamp(backend, t);
    let bool_sql = |b: bool| if b { "TRUE" } else { "FALSE" };
    let hash = hashing::hash_now(PASSWORD).expect("hash");
    let modules: Vec<&str> = course.modules.iter().map(|m| m.slug.as_str()).collect();
    let quizzes: Vec<&Quiz> = course
        .modules
        .iter()
        .map(|m| m.quiz.as_ref().unwrap())
        .collect();

    // What follows from the attempts: first passes, and each trainee's last activity.
    let mut first_pass: Vec<Vec<Option<NaiveDateTime>>> =
        vec![vec![None; modules.len()]; population.trainees.len()];
    let mut last_activity: Vec<NaiveDateTime> =
        population.trainees.iter().map(|t| t.enrolled_at).collect();
    for a in &population.attempts {
        last_activity[a.trainee] = last_activity[a.trainee].max(a.at);
        if a.passed {
            let slot = &mut first_pass[a.trainee][a.module];
            *slot = Some(slot.map_or(a.at, |p| p.min(a.at)));
        }
    }
    for (t, _, _, time) in &population.lessons {
        last_activity[*t] = last_activity[*t].max(*time);
    }

    db::write_tx(conn, |conn| {
        let mut users = Inserter::new(
            conn,
            "INSERT INTO users (id, email, password_hash, role, display_name, locale, created_at, updated_at)",
        );
        for t in &population.trainees {
            users.row(&format!(
                "{}, {}, {}, 'trainee', {}, {}, {}, {}",
                t.id,
                text(&t.email),
                text(&hash),
                text(&t.name),
                t.locale.map_or("NULL".to_string(), text),
                ts(t.created_at),
                ts(t.created_at)
            ))?;
        }
        users.flush()?;

        let mut groups = Inserter::new(
            conn,
            "INSERT INTO cohorts (id, name, invite_code, created_by, created_at)",
        );
        for (i, (name, code, created)) in population.groups.iter().enumerate() {
            groups.row(&format!(
                "{}, {}, {}, {}, {}",
                i + 1,
                text(name),
                text(code),
                population.instructor,
                ts(*created)
            ))?;
        }
        groups.flush()?;

        let mut members = Inserter::new(
            conn,
            "INSERT INTO cohort_members (user_id, cohort_id, joined_at)",
        );
        for t in &population.trainees {
            if let Some(g) = t.group {
                members.row(&format!("{}, {}, {}", t.id, g + 1, ts(t.created_at)))?;
            }
        }
        members.flush()?;

        let mut enrolled = Inserter::new(
            conn,
            "INSERT INTO enrolments (user_id, course_slug, enrolled_at, last_activity_at, completed_at, modules_done)",
        );
        for (i, t) in population.trainees.iter().enumerate() {
            let done = first_pass[i].iter().filter(|p| p.is_some()).count();
            let completed = if done == modules.len() {
                first_pass[i].iter().flatten().max().copied()
            } else {
                None
            };
            enrolled.row(&format!(
                "{}, {}, {}, {}, {}, {}",
                t.id,
                text(COURSE),
                ts(t.enrolled_at),
                ts(last_activity[i]),
                completed.map_or("NULL".to_string(), ts),
                done
            ))?;
        }
        enrolled.flush()?;

        let mut lessons = Inserter::new(
            conn,
            "INSERT INTO lesson_completions (user_id, course_slug, module_slug, lesson_slug, completed_at)",
        );
        for (t, m, l, time) in &population.lessons {
            lessons.row(&format!(
                "{}, {}, {}, {}, {}",
                population.trainees[*t].id,
                text(COURSE),
                text(modules[*m]),
                text(&course.modules[*m].lessons[*l].slug),
                ts(*time)
            ))?;
        }
        lessons.flush()?;

        let mut completions = Inserter::new(
            conn,
            "INSERT INTO module_completions (user_id, course_slug, module_slug, completed_at)",
        );
        for (i, passes) in first_pass.iter().enumerate() {
            for (m, pass) in passes.iter().enumerate() {
                if let Some(time) = pass {
                    completions.row(&format!(
                        "{}, {}, {}, {}",
                        population.trainees[i].id,
                        text(COURSE),
                        text(modules[m]),
                        ts(*time)
                    ))?;
                }
            }
        }
        completions.flush()?;

        let mut attempts = Inserter::new(
            conn,
            "INSERT INTO quiz_attempts (id, user_id, course_slug, module_slug, attempt_number, quiz_version, score_milli, max_milli, passed, submitted_at)",
        );
        for (i, a) in population.attempts.iter().enumerate() {
            attempts.row(&format!(
                "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}",
                i + 1,
                population.trainees[a.trainee].id,
                text(COURSE),
                text(modules[a.module]),
                a.number,
                text(if a.old_version {
                    OLD_VERSION
                } else {
                    &quizzes[a.module].version
                }),
                a.score_milli,
                a.max_milli,
                bool_sql(a.passed),
                ts(a.at)
            ))?;
        }
        attempts.flush()?;

        let mut answers = Inserter::new(
            conn,
            "INSERT INTO quiz_answers (attempt_id, question_id, answer, score_milli, max_milli)",
        );
        for (i, a) in population.attempts.iter().enumerate() {
            let quiz = quizzes[a.module];
            for (q, answer, score, max) in &a.answers {
                answers.row(&format!(
                    "{}, {}, {}, {score}, {max}",
                    i + 1,
                    text(&quiz.questions[*q].id),
                    text(answer)
                ))?;
            }
        }
        answers.flush()?;

        if backend == Backend::Postgres {
            // The rows above were given their ids; later inserts continue after them.
            conn.batch_execute(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users));
                 SELECT setval(pg_get_serial_sequence('cohorts', 'id'), (SELECT MAX(id) FROM cohorts));
                 SELECT setval(pg_get_serial_sequence('quiz_attempts', 'id'), (SELECT MAX(id) FROM quiz_attempts));",
            )?;
        }
        Ok(())
    })
}

struct Counts {
    trainees: i64,
    groups: i64,
    members: i64,
    enrolments: i64,
    completed: i64,
    lessons: i64,
    completions: i64,
    attempts: i64,
    answers: i64,
}

impl Counts {
    fn read(conn: &mut DbConn) -> Self {
        Self {
            trainees: users_table::table
                .filter(users_table::role.eq("trainee"))
                .count()
                .get_result(conn)
                .unwrap(),
            groups: cohorts::table.count().get_result(conn).unwrap(),
            members: cohort_members::table.count().get_result(conn).unwrap(),
            enrolments: enrolments::table.count().get_result(conn).unwrap(),
            completed: enrolments::table
                .filter(enrolments::completed_at.is_not_null())
                .count()
                .get_result(conn)
                .unwrap(),
            lessons: lesson_completions::table.count().get_result(conn).unwrap(),
            completions: module_completions::table.count().get_result(conn).unwrap(),
            attempts: quiz_attempts::table.count().get_result(conn).unwrap(),
            answers: quiz_answers::table.count().get_result(conn).unwrap(),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} trainees, {} groups ({} members), {} enrolments ({} completed the course), \
             {} lesson completions, {} module completions, {} quiz attempts, {} quiz answers",
            self.trainees,
            self.groups,
            self.members,
            self.enrolments,
            self.completed,
            self.lessons,
            self.completions,
            self.attempts,
            self.answers
        )
    }
}
