//! Order placement through HTTP. The design targets: ">= 5,000 orders/s through HTTP,
//! 0 oversold, 0 lost, p99 <= 50 ms" on SQLite and ">= 2,000 orders/s; flash sale on one
//! hot SKU: exact stock, 0 oversold" on PostgreSQL.
//!
//!     cargo bench --bench order_placement                       (SQLite, ~1 min)
//!     KAIBO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!         cargo bench --bench order_placement                   (PostgreSQL)
//!
//! Needs `wrk` (Debian package `wrk`). The bench prepares a database through the
//! library: a generated catalog of 20,000 SKUs, one creator with a live shop of 20
//! products (all their SKUs are for sale), and a flash deal on one hot SKU with a
//! limited quantity and a per-buyer limit. It starts the release server binary on it,
//! and runs wrk (2 threads, 64 connections, keep-alive, no pipelining, 20 s) with
//! `benches/orders/place.lua`: every request is a JSON order with its own
//! Idempotency-Key and buyer; one in ten is for the hot deal SKU. Afterwards it checks
//! the database: no SKU below zero, the deal's sold count equals the deal units in
//! orders and never exceeds its quantity, and the number of orders equals the 2xx
//! answers wrk counted. Printed on stdout:
//!
//!     order placement (sqlite): N orders/s, p99 N ms (ratio N of the 5000/s target)
//!
//! On PostgreSQL the database named in the URL must exist; a fresh database is created
//! next to it and dropped afterwards. The server logs errors only; `KAIBO_BENCH_LOG=warn`
//! shows its warnings too, such as write batches that took 100 ms or more.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::db::schema::{flash_deals, order_lines, orders, products, showcase_items, skus};
use kaibo::db::{self, DatabaseUrl};
use kaibo::orders::{Mode, shop};
use kaibo::selection::showcase;

const DURATION: &str = "20s";
const CONNECTIONS: &str = "64";
const DEAL_QUANTITY: i32 = 30_000;
const DEAL_LIMIT: i32 = 3;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local address")
        .port()
}

struct Prepared {
    handle: String,
    skus: Vec<i64>,
    hot_sku: i64,
    deal_id: i64,
}

fn prepare(url: &DatabaseUrl) -> Prepared {
    let pool = db::build_pool(url, 2).expect("pool");
    db::run_migrations(&pool).expect("migrations");
    let mut conn = pool.get().expect("connection");
    let now = chrono::Utc::now().naive_utc();
    kaibo::catalog::seed::generate_into(&mut conn, 3, 20_000, now, |_| {}).expect("catalog");
    let user = users::create(
        &mut conn,
        &Email::parse("bench-creator@example.com").unwrap(),
        &hashing::hash_now("a long enough passphrase").unwrap(),
        Role::Trainee,
        &DisplayName::parse("Bench Creator").unwrap(),
        None,
        now,
    )
    .expect("creator");
    let picked: Vec<(i64, i64)> = products::table
        .select((products::id, products::suggested_fen))
        .order(products::id)
        .limit(20)
        .load(&mut conn)
        .unwrap();
    for (product, price) in &picked {
        showcase::put(&mut conn, user.id, *product, *price, now).unwrap();
    }
    let sold: Vec<i64> = showcase_items::table
        .select(showcase_items::product_id)
        .load(&mut conn)
        .unwrap();
    let sku_ids: Vec<i64> = skus::table
        .filter(skus::product_id.eq_any(&sold))
        .select(skus::id)
        .order(skus::id)
        .load(&mut conn)
        .unwrap();
    diesel::update(skus::table.filter(skus::id.eq_any(&sku_ids)))
        .set(skus::stock.eq(10_000_000))
        .execute(&mut conn)
        .unwrap();
    let hot_sku = sku_ids[0];
    let price: i64 = picked[0].1;
    diesel::insert_into(flash_deals::table)
        .values((
            flash_deals::shop_user_id.eq(user.id),
            flash_deals::sku_id.eq(hot_sku),
            flash_deals::mode.eq("live"),
            flash_deals::price_fen.eq(price * 7 / 10),
            flash_deals::quantity.eq(DEAL_QUANTITY),
            flash_deals::sold.eq(0),
            flash_deals::per_buyer_limit.eq(DEAL_LIMIT),
            flash_deals::starts_at.eq(now - chrono::Duration::minutes(1)),
            flash_deals::ends_at.eq(now + chrono::Duration::hours(2)),
            flash_deals::created_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    let deal_id: i64 = flash_deals::table
        .select(flash_deals::id)
        .first(&mut conn)
        .unwrap();
    let shop = shop::set_mode(&mut conn, user.id, Mode::Live, now).unwrap();
    Prepared {
        handle: shop.handle,
        skus: sku_ids,
        hot_sku,
        deal_id,
    }
}

fn wait_healthy(port: u16) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(
                s,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let mut buf = String::new();
            use std::io::Read;
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server did not start");
}

/// `Latency 99%` and friends from wrk's `--latency` output, in milliseconds.
fn percentile(out: &str, label: &str) -> Option<f64> {
    let line = out.lines().find(|l| l.trim_start().starts_with(label))?;
    let value = line.split_whitespace().nth(1)?;
    let (num, unit) = value.split_at(value.find(|c: char| c.is_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => return None,
    })
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: apt-get install wrk");
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server_url = std::env::var("KAIBO_BENCH_DATABASE_URL").ok();
    let mut pg_name = None;
    let url = match &server_url {
        Some(server) => {
            let name = format!("kaibo_bench_{}", std::process::id());
            let mut c = PgConnection::establish(server).expect("PostgreSQL");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .unwrap();
            let mut u = url::Url::parse(server).unwrap();
            u.set_path(&name);
            pg_name = Some(name);
            DatabaseUrl::Postgres(u.to_string())
        }
        None => DatabaseUrl::Sqlite(data.join("kaibo.db")),
    };
    let backend = url.backend().name();
    let prepared = prepare(&url);
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .env_remove("DATABASE_URL")
        .env_remove("KAIBO_BENCH_DATABASE_URL")
        .env_remove("KAIBO_BENCH_LOG")
        .env(
            "KAIBO_LOG",
            std::env::var("KAIBO_BENCH_LOG").unwrap_or_else(|_| "error".into()),
        )
        .env("KAIBO_SEED_DEMO", "false")
        .env("KAIBO_DEMO_CATALOG_SKUS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let DatabaseUrl::Postgres(u) = &url {
        command.env("DATABASE_URL", u).env("KAIBO_POOL_SIZE", "16");
    }
    let mut server = command.spawn().expect("start kaibo");
    wait_healthy(port);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/orders/place.lua");
    let skus: Vec<String> = prepared.skus.iter().map(i64::to_string).collect();
    let out = Command::new("wrk")
        .args(["-t2", "-c", CONNECTIONS, "-d", DURATION, "--latency", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}/api/orders"))
        .env("KAIBO_SHOP", &prepared.handle)
        .env("KAIBO_SKUS", skus.join(","))
        .env("KAIBO_HOT_SKU", prepared.hot_sku.to_string())
        .env("KAIBO_DEAL", prepared.deal_id.to_string())
        .output()
        .expect("run wrk");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = server.kill();
    let _ = server.wait();

    let pool = db::build_pool(&url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let negative: i64 = skus::table
        .filter(skus::stock.lt(0))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let (deal_sold, deal_quantity): (i32, i32) = flash_deals::table
        .select((flash_deals::sold, flash_deals::quantity))
        .first(&mut conn)
        .unwrap();
    let deal_units: Option<i64> = order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::deal_id.eq(prepared.deal_id))
        .filter(orders::status.ne("payment_failed"))
        .filter(orders::status.ne("cancelled"))
        .select(diesel::dsl::sum(order_lines::quantity))
        .first(&mut conn)
        .unwrap();
    let placed: i64 = orders::table.count().get_result(&mut conn).unwrap();
    drop(conn);
    drop(pool);
    if let (Some(server), Some(name)) = (&server_url, &pg_name)
        && let Ok(mut c) = PgConnection::establish(server)
    {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c);
    }

    let requests: f64 = report
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let total: i64 = report
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let refused: i64 = report
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let p50 = percentile(&report, "50%").unwrap_or(f64::NAN);
    let p99 = percentile(&report, "99%").unwrap_or(f64::NAN);
    let seconds: f64 = DURATION.trim_end_matches('s').parse().unwrap();
    let orders_per_s = (total - refused) as f64 / seconds;
    eprintln!("{report}");
    println!(
        "wrk: {total} requests, {refused} refused (sold out / deal limit: 409), {requests:.0} requests/s"
    );
    println!(
        "database: {placed} orders for {} acknowledged; SKUs below zero: {negative}; deal sold {deal_sold} of {deal_quantity}, {} units in orders",
        total - refused,
        deal_units.unwrap_or(0)
    );
    let target = if backend == "sqlite" { 5000.0 } else { 2000.0 };
    println!(
        "order placement ({backend}): {orders_per_s:.0} orders/s, p50 {p50:.1} ms, p99 {p99:.1} ms (ratio {:.2} of the {target:.0}/s target)",
        orders_per_s / target
    );
    let exact = negative == 0
        && deal_sold <= deal_quantity
        && deal_units.unwrap_or(0) == deal_sold as i64
        && placed >= total - refused;
    println!("oversold: {}", if exact { 0 } else { 1 });
    if !exact {
        std::process::exit(1);
    }
}
