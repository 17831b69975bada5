//! `kill -9` during order load: every order whose 2xx answer reached the buyer exists
//! after a restart, a replay of its key returns it (no duplicate), and the outbox
//! delivers every message that was pending when the process died.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::db::schema::{orders, outbox, products, skus};
use kaibo::db::{self, DatabaseUrl};
use kaibo::orders::{Mode, shop};
use kaibo::selection::showcase;
use serde_json::{Value, json};

use crate::helpers::*;

/// A live shop with 10 products on a fresh database, made through the services.
pub(crate) fn prepare(url: &DatabaseUrl) -> (String, Vec<i64>) {
    let pool = db::build_pool(url, 1).unwrap();
    db::run_migrations(&pool).unwrap();
    let mut conn = pool.get().unwrap();
    let now = chrono::Utc::now().naive_utc();
    kaibo::catalog::seed::generate_into(&mut conn, 7, 300, now, |_| {}).unwrap();
    let user = users::create(
        &mut conn,
        &Email::parse("crash-creator@example.com").unwrap(),
        &hashing::hash_now(PASSWORD).unwrap(),
        Role::Trainee,
        &DisplayName::parse("Crash Creator").unwrap(),
        None,
        now,
    )
    .unwrap();
    let picked: Vec<(i64, i64, i64)> = skus::table
        .inner_join(products::table)
        .select((products::id, skus::id, products::suggested_fen))
        .order(skus::id)
        .load::<(i64, i64, i64)>(&mut conn)
        .unwrap()
        .into_iter()
        .fold(Vec::new(), |mut acc, row| {
            if acc.len() < 10 && !acc.iter().any(|(p, _, _): &(i64, i64, i64)| *p == row.0) {
                acc.push(row);
            }
            acc
        });
    let mut sku_ids = Vec::new();
    for (product, sku, price) in &picked {
        showcase::put(&mut conn, user.id, *product, *price, now).unwrap();
        diesel::update(skus::table.find(sku))
            .set(skus::stock.eq(1_000_000))
            .execute(&mut conn)
            .unwrap();
        sku_ids.push(*sku);
    }
    let shop = shop::set_mode(&mut conn, user.id, Mode::Live, now).unwrap();
    (shop.handle, sku_ids)
}

/// Where a started server's log goes: the file named by `TEST_CHILD_STDERR` (appended;
/// with `TEST_CHILD_LOG` as its level) when debugging a failure, else nowhere.
fn child_stderr() -> Stdio {
    match std::env::var("TEST_CHILD_STDERR") {
        Ok(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_or_else(|_| Stdio::null(), Stdio::from),
        Err(_) => Stdio::null(),
    }
}

pub(crate) fn start(url: &DatabaseUrl, data: &std::path::Path, port: u16, outbox: bool) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env_remove("DATABASE_URL")
        .env(
            "KAIBO_LOG",
            std::env::var("TEST_CHILD_LOG").unwrap_or("error".into()),
        )
        .env("KAIBO_SEED_DEMO", "false")
        .env("KAIBO_DEMO_CATALOG_SKUS", "0")
        .env("KAIBO_OUTBOX_WORKER", if outbox { "true" } else { "false" })
        .stdout(Stdio::null())
        .stderr(child_stderr());
    if let DatabaseUrl::Postgres(u) = url {
        command.env("DATABASE_URL", u);
    }
    command.spawn().expect("start kaibo serve")
}

/// Waits up to 30 s for a started server: a debug build starting beside a browser test
/// and the rest of the suite on two cores once took longer than 10 s.
pub(crate) async fn wait_healthy(port: u16) {
    for _ in 0..1200 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the server did not come up");
}

fn body(handle: &str, sku: i64, buyer: usize) -> Value {
    json!({
        "shop": handle,
        "lines": [{"sku_id": sku, "quantity": 1}],
        "buyer": {"name": format!("Buyer {buyer}"), "phone": format!("137{buyer:08}"),
                  "address": "9 Crash Lane, Chengdu"},
        "payment": {"method": "cod"},
    })
}

#[tokio::test]
async fn acknowledged_orders_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let url = match &postgres {
        Some((_, _, u)) => DatabaseUrl::Postgres(u.clone()),
        None => {
            std::fs::create_dir_all(&data).unwrap();
            DatabaseUrl::Sqlite(data.join("kaibo.db"))
        }
    };
    let (handle, sku_ids) = prepare(&url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The first process never delivers the outbox: everything it routed is pending
    // when it dies, and only the restarted process can deliver it.
    let mut child = start(&url, &data, port, false);
    wait_healthy(port).await;

    let acknowledged: Arc<Mutex<BTreeMap<String, (String, Value)>>> = Default::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut buyers = Vec::new();
    for b in 0..16 {
        let (acknowledged, stop, handle, sku_ids) = (
            acknowledged.clone(),
            stop.clone(),
            handle.clone(),
            sku_ids.clone(),
        );
        buyers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("crash-{b:02}-{n:06}");
                let body = body(&handle, sku_ids[n % sku_ids.len()], b * 1_000_000 + n);
                n += 1;
                let sent = client
                    .post(format!("http://127.0.0.1:{port}/api/orders"))
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                let Ok(r) = sent else { break };
                if r.status().is_success() {
                    let Ok(v) = r.json::<Value>().await else {
                        break;
                    };
                    let reference = v["reference"].as_str().unwrap().to_string();
                    acknowledged.lock().unwrap().insert(key, (reference, body));
                }
            }
        }));
    }
    // Let the load run, then kill the server without warning.
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        if acknowledged.lock().unwrap().len() >= 150 {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for b in buyers {
        b.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "load ran: {} orders",
        acknowledged.len()
    );

    let pool = db::build_pool(&url, 1).unwrap();
    let pending_before: i64 = outbox::table
        .filter(outbox::delivered_at.is_null())
        .count()
        .get_result(&mut pool.get().unwrap())
        .unwrap();
    assert!(pending_before > 0, "messages were pending at the kill");

    let mut child = start(&url, &data, port, true);
    wait_healthy(port).await;
    let mut conn = pool.get().unwrap();
    for (reference, _) in acknowledged.values() {
        let found: i64 = orders::table
            .filter(orders::reference.eq(reference))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(found, 1, "acknowledged order {reference} exists once");
    }
    let before: i64 = orders::table.count().get_result(&mut conn).unwrap();
    // Replaying every acknowledged request returns the same order and makes none.
    let client = reqwest::Client::new();
    for (key, (reference, body)) in &acknowledged {
        let r = client
            .post(format!("http://127.0.0.1:{port}/api/orders"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "replay of {key}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["reference"].as_str(), Some(reference.as_str()));
    }
    let after: i64 = orders::table.count().get_result(&mut conn).unwrap();
    assert_eq!(before, after, "replays made no new orders");
    // The restarted instance delivers everything that was pending.
    let mut pending = i64::MAX;
    for _ in 0..400 {
        pending = outbox::table
            .filter(outbox::delivered_at.is_null())
            .count()
            .get_result(&mut conn)
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(conn);
    drop(pool);
    if let Some((server, name, _)) = &postgres {
        drop_postgres_database(server, name);
    }
    assert_eq!(pending, 0, "outbox drained after restart");
}
