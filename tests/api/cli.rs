//! The `kaibo` command line, run as a process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::*;

fn kaibo(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("KAIBO_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("run kaibo");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_works_for_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "password", "--help"],
        vec!["shop", "--help"],
        vec!["shop", "mode", "--help"],
    ] {
        let out = kaibo(&args, &[], "");
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[tokio::test]
async fn user_create_makes_an_account_that_can_log_in() {
    let app = spawn_app().await;
    let data = app.data_dir.to_string_lossy().to_string();
    let db_env: Vec<(&str, String)> = match &app.database_url {
        kaibo::db::DatabaseUrl::Postgres(url) => vec![("DATABASE_URL", url.clone())],
        kaibo::db::DatabaseUrl::Sqlite(_) => vec![],
    };
    let envs: Vec<(&str, &str)> = db_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let create = |email: &str, password: &str| {
        kaibo(
            &[
                "user",
                "create",
                "--email",
                email,
                "--role",
                "instructor",
                "--name",
                "Teacher Wang",
                "--password-stdin",
                "--data",
                &data,
            ],
            &envs,
            &format!("{password}\n"),
        )
    };
    let out = create("Wang@Example.com", PASSWORD);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Created instructor account wang@example.com"));

    let out = create("wang@example.com", PASSWORD);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    let out = create("short@example.com", "short");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("at least 12 characters"));

    let out = create("not-an-email", PASSWORD);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("email address"));

    let response = app.login("wang@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/instructor");
    let hash = app.stored_hash("wang@example.com");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    let out = kaibo(
        &[
            "user",
            "password",
            "--email",
            "wang@example.com",
            "--password-stdin",
            "--data",
            &data,
        ],
        &envs,
        "another long passphrase\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(app.get("/instructor").await.status(), 303, "sessions ended");
    assert_eq!(
        app.login("wang@example.com", "another long passphrase")
            .await
            .status(),
        303
    );
}

#[test]
fn an_unknown_database_scheme_is_named_with_its_value() {
    let out = kaibo(
        &["migrate"],
        &[("DATABASE_URL", "mysql://root@localhost/kaibo")],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(err.contains("mysql://root@localhost/kaibo"), "{err}");
    assert!(err.contains("unknown scheme"), "{err}");
}

#[test]
fn an_unwritable_data_directory_is_reported() {
    let file = tempfile::NamedTempFile::new().unwrap();
    // A directory inside a regular file can never be created, even by root.
    let data = file.path().join("data");
    let out = kaibo(&["migrate", "--data", &data.to_string_lossy()], &[], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cannot create the data directory"), "{err}");
    assert!(err.contains(&data.to_string_lossy().to_string()), "{err}");
}

#[test]
fn a_bad_setting_names_itself_and_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().to_string();
    let out = kaibo(
        &["migrate", "--data", &data],
        &[("KAIBO_POOL_SIZE", "lots")],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("pool_size") && err.contains("lots"), "{err}");

    let out = kaibo(&["serve", "--bind", "nowhere", "--data", &data], &[], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("`bind`") && err.contains("nowhere"), "{err}");

    let out = kaibo(
        &["migrate", "--data", &data],
        &[("KAIBO_LOG_FORMAT", "xml")],
        "",
    );
    assert!(text(&out.stderr).contains("log_format"));
}

#[test]
fn migrate_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let out = kaibo(&["migrate", "--data", &data.to_string_lossy()], &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(data.join("kaibo.db").exists());
    assert!(text(&out.stdout).contains("is up to date"));
}

#[test]
fn import_gift_converts_a_real_bank_that_then_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let course = dir.path().join("gift-course");
    std::fs::create_dir_all(course.join("01-imported")).unwrap();
    std::fs::write(course.join("_index.md"), "+++\ntitle = \"Imported\"\n+++\n").unwrap();
    std::fs::write(
        course.join("01-imported/_index.md"),
        "+++\ntitle = \"Imported module\"\n+++\n",
    )
    .unwrap();
    std::fs::write(
        course.join("01-imported/01-read-me.md"),
        "+++\ntitle = \"Read me\"\n+++\n\nSome text.\n",
    )
    .unwrap();
    let gift = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gift/sample.gift"
    );
    let out = course.join("01-imported/quiz.md");
    let out_arg = out.to_string_lossy().to_string();
    let run = kaibo(&["import-gift", gift, "--out", &out_arg], &[], "");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains("Converted 11 question(s), skipped 2"),
        "{stdout}"
    );
    assert!(stdout.contains("sample.gift:64: matching"), "{stdout}");
    assert!(stdout.contains("sample.gift:71: essay"), "{stdout}");

    let check = kaibo(&["check", &dir.path().to_string_lossy()], &[], "");
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("0 error(s), 0 warning(s)"));

    // It does not overwrite without --force, and a missing file is a clear error.
    let again = kaibo(&["import-gift", gift, "--out", &out_arg], &[], "");
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));
    let missing = kaibo(
        &["import-gift", "/no/such.gift", "--out", "/tmp/x.md"],
        &[],
        "",
    );
    assert!(text(&missing.stderr).contains("cannot read /no/such.gift"));
}

/// `kaibo serve` on an empty database, as a new user runs it: demo accounts printed,
/// 100,000 SKUs generated and ready for matching.
#[tokio::test]
async fn a_fresh_serve_has_the_demo_catalog_and_accounts() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .env_remove("DATABASE_URL")
        .env_remove("KAIBO_DEMO_CATALOG_SKUS")
        .env("KAIBO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some((_, _, url)) = &postgres {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("start kaibo serve");
    let stdout = child.stdout.take().unwrap();
    // Read the console until the server says it is running (bounded by the process).
    let printed = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("Kaibo is running") {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    // The demo trainee's shop is live with the demo supplier's products.
    let shop_path = printed
        .lines()
        .find_map(|l| l.strip_prefix("Demo shop: "))
        .and_then(|l| l.split(' ').next())
        .map(str::to_string);
    let shop_status = match &shop_path {
        Some(path) => reqwest::get(format!("http://127.0.0.1:{port}{path}"))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0),
        None => 0,
    };
    let _ = child.kill();
    let _ = child.wait();
    let url = match &postgres {
        Some((_, _, url)) => kaibo::db::DatabaseUrl::Postgres(url.clone()),
        None => kaibo::db::DatabaseUrl::Sqlite(data.join("kaibo.db")),
    };
    let skus = {
        let pool = kaibo::db::build_pool(&url, 1).unwrap();
        kaibo::catalog::model::sku_count(&mut pool.get().unwrap()).unwrap()
    };
    if let Some((server, name, _)) = &postgres {
        drop_postgres_database(server, name);
    }
    assert!(printed.contains("trainee@kaibo.example"), "{printed}");
    assert!(printed.contains("generated 100000 SKUs"), "{printed}");
    assert!(printed.contains("products ready for matching"), "{printed}");
    assert_eq!(health.expect("server answers").status(), 200);
    assert_eq!(skus, 100_000);
    assert_eq!(shop_status, 200, "demo shop {shop_path:?} in {printed}");
}

#[tokio::test]
async fn shop_mode_opens_a_creators_shop_to_the_public() {
    let app = spawn_app().await;
    let data = app.data_dir.to_string_lossy().to_string();
    let envs: Vec<(&str, String)> = match &app.database_url {
        kaibo::db::DatabaseUrl::Postgres(url) => vec![("DATABASE_URL", url.clone())],
        kaibo::db::DatabaseUrl::Sqlite(_) => vec![],
    };
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let email = app.create_user(kaibo::accounts::domain::Role::Trainee);
    let out = kaibo(
        &["shop", "show", "--email", &email, "--data", &data],
        &envs,
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("is sandbox"), "{shown}");
    assert!(shown.contains("Sandbox token"), "{shown}");
    let handle = shown
        .split("/shop/")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    // A sandbox shop is not public.
    assert_eq!(app.get(&format!("/shop/{handle}")).await.status(), 404);
    let out = kaibo(
        &["shop", "mode", "--email", &email, "live", "--data", &data],
        &envs,
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is live"));
    assert_eq!(app.get(&format!("/shop/{handle}")).await.status(), 200);
    // Only creators have shops; an unknown email is named.
    let staff = app.create_user(kaibo::accounts::domain::Role::Instructor);
    let out = kaibo(
        &["shop", "show", "--email", &staff, "--data", &data],
        &envs,
        "",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("only creators"),
        "{}",
        text(&out.stderr)
    );
    let out = kaibo(
        &[
            "shop",
            "show",
            "--email",
            "nobody@example.com",
            "--data",
            &data,
        ],
        &envs,
        "",
    );
    assert!(text(&out.stderr).contains("no account has the email"));
}

/// `kaibo simulate`: a scripted headless show against an in-process server places its
/// orders through the order API (the flash deal's through the real deal limits), and
/// `--replay` proves a stored show replays to the same result.
#[tokio::test]
async fn simulate_places_a_scripted_show_and_replays_a_stored_one() {
    use diesel::prelude::*;
    use kaibo::db::schema::{flash_deals, order_lines, orders};
    let f = crate::shop_fixture::shop_fixture(kaibo::orders::Mode::Sandbox, 3).await;
    let data = f.app.data_dir.to_string_lossy().to_string();
    let db_env: Vec<(&str, String)> = match &f.app.database_url {
        kaibo::db::DatabaseUrl::Postgres(url) => vec![("DATABASE_URL", url.clone())],
        kaibo::db::DatabaseUrl::Sqlite(_) => vec![],
    };
    let mut envs: Vec<(&str, &str)> = db_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.push(("KAIBO_DEMO_CATALOG_SKUS", "0"));
    envs.push(("KAIBO_SEED_DEMO", "false"));
    let out = kaibo(
        &[
            "simulate",
            "--viewers",
            "3000",
            "--minutes",
            "10",
            "--seed",
            "7",
            "--email",
            &f.creator_email,
            "--data",
            &data,
        ],
        &envs,
        "",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("flash deal"), "{stdout}");
    assert!(stdout.contains(" 0 errors"), "{stdout}");
    assert!(stdout.contains("orders/s; latency p50"), "{stdout}");
    let mut conn = f.app.pool.get().unwrap();
    let (deal_id, sold, quantity): (i64, i32, i32) = flash_deals::table
        .filter(flash_deals::shop_user_id.eq(f.creator_id))
        .select((flash_deals::id, flash_deals::sold, flash_deals::quantity))
        .first(&mut conn)
        .unwrap();
    assert!(
        sold > 0 && sold <= quantity,
        "the deal sold {sold} of {quantity}"
    );
    let deal_units: i64 = order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::deal_id.eq(deal_id))
        .filter(orders::status.ne("payment_failed"))
        .select(diesel::dsl::sum(order_lines::quantity))
        .first::<Option<i64>>(&mut conn)
        .unwrap()
        .unwrap_or(0);
    assert_eq!(
        deal_units, sold as i64,
        "the deal's count is its orders' units"
    );
    drop(conn);

    // A stored show, replayed by the command.
    let show = {
        let mut conn = f.app.pool.get().unwrap();
        let request = kaibo::live::service::StartRequest {
            mode: kaibo::orders::Mode::Sandbox,
            minutes: 5,
            speed: 60,
        };
        kaibo::live::service::start(
            &mut conn,
            f.creator_id,
            &request,
            Some(3),
            f.app.clock_now(),
        )
        .unwrap()
        .id
    };
    f.app.clock.advance(chrono::Duration::seconds(6));
    crate::live::wait_done(&f.app, show, 300_000).await;
    let out = kaibo(
        &["simulate", "--replay", &show.to_string(), "--data", &data],
        &envs,
        "",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("identical"), "{stdout}");
    let out = kaibo(
        &["simulate", "--replay", "999999", "--data", &data],
        &envs,
        "",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("999999"),
        "{}",
        text(&out.stderr)
    );
}
