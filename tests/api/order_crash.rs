//! `kill -9` during order load: every order whose 2xx answer reached the buyer exists
//! after a restart, a replay of its key returns it (no duplicate), and the outbox
//! delivers every message that was pending when the process died.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// A `kaibo serve` child process. It binds port 0 and the test reads the port it prints,
/// so no other test can take the port between choosing and binding it. Its log (level
/// `TEST_CHILD_LOG`, default `warn`) goes to a file beside its data directory and is
/// printed if it fails to come up. Dropping it kills the process.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `kaibo serve` and waits up to 60 s until it answers `/healthz`: a debug build
    /// starting beside a browser test and the rest of the suite on two cores once took
    /// longer than 10 s.
    pub(crate) async fn start(url: &DatabaseUrl, data: &Path, outbox: bool) -> Server {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let log = data.with_file_name(format!("serve-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("create the server's log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data)
            .env_remove("DATABASE_URL")
            .env(
                "KAIBO_LOG",
                std::env::var("TEST_CHILD_LOG").unwrap_or("warn".into()),
            )
            .env("KAIBO_SEED_DEMO", "false")
            .env("KAIBO_DEMO_CATALOG_SKUS", "0")
            .env("KAIBO_OUTBOX_WORKER", if outbox { "true" } else { "false" })
            .stdout(Stdio::piped())
            .stderr(log_file);
        if let DatabaseUrl::Postgres(u) = url {
            command.env("DATABASE_URL", u);
        }
        let mut child = command.spawn().expect("start kaibo serve");
        // Read stdout to its end on a thread, so the child never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = running_port(&line) {
                    let _ = tx.send(port);
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        for _ in 0..2400 {
            if let Ok(port) = rx.try_recv() {
                server.port = port;
            }
            if server.port != 0
                && let Ok(r) =
                    reqwest::get(format!("http://127.0.0.1:{}/healthz", server.port)).await
                && r.status() == 200
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "kaibo serve ended with {status} before it came up:\n{}",
                    server.log_text()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "kaibo serve did not come up in 60 s (port {}):\n{}",
            server.port,
            server.log_text()
        );
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process without warning (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The port in `kaibo serve`'s "Kaibo is running at http://host:port/" line.
fn running_port(line: &str) -> Option<u16> {
    let address = line.split("Kaibo is running at http://").nth(1)?;
    let host_port = address.split('/').next()?;
    host_port.rsplit_once(':')?.1.parse().ok()
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
    // The first process never delivers the outbox: everything it routed is pending
    // when it dies, and only the restarted process can deliver it.
    let mut server = Server::start(&url, &data, false).await;
    let base = server.base();

    let acknowledged: Arc<Mutex<BTreeMap<String, (String, Value)>>> = Default::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut buyers = Vec::new();
    for b in 0..16 {
        let (acknowledged, stop, handle, sku_ids, base) = (
            acknowledged.clone(),
            stop.clone(),
            handle.clone(),
            sku_ids.clone(),
            base.clone(),
        );
        buyers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("crash-{b:02}-{n:06}");
                let body = body(&handle, sku_ids[n % sku_ids.len()], b * 1_000_000 + n);
                n += 1;
                let sent = client
                    .post(format!("{base}/api/orders"))
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
    server.kill();
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

    let server = Server::start(&url, &data, true).await;
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
            .post(format!("{}/api/orders", server.base()))
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
    drop(server);
    drop(conn);
    drop(pool);
    if let Some((server, name, _)) = &postgres {
        drop_postgres_database(server, name);
    }
    assert_eq!(pending, 0, "outbox drained after restart");
}
