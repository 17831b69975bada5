//! Two `kaibo serve` processes on one database (PostgreSQL in CI's second run, one SQLite
//! file otherwise): a session made on one is honoured by the other, a flash sale whose
//! buyers alternate between them sells exactly the deal's units with no duplicate order,
//! and a sandbox show running while both workers are up is ticked by exactly one of them
//! and replays to the same result.

use std::collections::BTreeSet;

use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::db::schema::{deal_purchases, flash_deals, order_lines, orders, products, shows, skus};
use kaibo::db::{self, DatabaseUrl};
use kaibo::live::service::{self, StartRequest};
use kaibo::orders::Mode;
use kaibo::selection::showcase;
use serde_json::json;

use crate::helpers::*;
use crate::order_crash::{Server, prepare};

const DEAL_UNITS: i32 = 40;
const BUYERS: usize = 120;

#[tokio::test]
async fn two_processes_share_sessions_sell_a_flash_deal_exactly_and_tick_a_show_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let url = match &postgres {
        Some((_, _, u)) => DatabaseUrl::Postgres(u.clone()),
        None => DatabaseUrl::Sqlite(data.join("kaibo.db")),
    };
    let (handle, sku_ids) = prepare(&url);
    let pool = db::build_pool(&url, 2).unwrap();
    let now = chrono::Utc::now().naive_utc();
    let hot = sku_ids[0];
    let (deal_id, stock_before) = {
        let mut conn = pool.get().unwrap();
        let creator = users::find_by_email(
            &mut conn,
            &Email::parse("crash-creator@example.com").unwrap(),
        )
        .unwrap()
        .unwrap()
        .id;
        diesel::insert_into(flash_deals::table)
            .values((
                flash_deals::shop_user_id.eq(creator),
                flash_deals::sku_id.eq(hot),
                flash_deals::mode.eq("live"),
                flash_deals::price_fen.eq(990),
                flash_deals::quantity.eq(DEAL_UNITS),
                flash_deals::sold.eq(0),
                flash_deals::per_buyer_limit.eq(1),
                flash_deals::starts_at.eq(now - chrono::Duration::minutes(1)),
                flash_deals::ends_at.eq(now + chrono::Duration::minutes(30)),
                flash_deals::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        let deal: i64 = flash_deals::table
            .select(flash_deals::id)
            .first(&mut conn)
            .unwrap();
        let stock: i32 = skus::table
            .find(hot)
            .select(skus::stock)
            .first(&mut conn)
            .unwrap();
        (deal, stock)
    };

    // Both start at once, as two instances behind a balancer would.
    let (a, b) = tokio::join!(
        Server::start(&url, &data, true),
        Server::start(&url, &data, true)
    );
    let bases = [a.base(), b.base()];
    let base = |i: usize| bases[i % 2].clone();

    // A session made on one instance is valid on the other.
    let browser = new_client();
    let login_page = browser
        .get(format!("{}/login", base(0)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(format!("{}/login", base(0)))
        .form(&[
            ("csrf", csrf_token(&login_page).as_str()),
            ("email", "crash-creator@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(
        status,
        303,
        "logged in on the first instance: {}",
        r.text().await.unwrap()
    );
    for i in 0..4 {
        let r = browser
            .get(format!("{}/desk/orders", base(i)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {i} on instance {}", i % 2);
    }

    // The flash sale: every buyer wants one deal unit; buyers alternate instances, and
    // each one's retry goes to the other instance with the same key.
    let mut tasks = Vec::new();
    // One client: its keep-alive connections are shared by the buyers, as a load
    // balancer's would be.
    let client = reqwest::Client::new();
    for buyer in 0..BUYERS {
        let handle = handle.clone();
        let client = client.clone();
        let (first, retry) = (base(buyer), base(buyer + 1));
        tasks.push(tokio::spawn(async move {
            let body = json!({
                "shop": handle,
                "lines": [{"sku_id": hot, "quantity": 1, "deal_id": deal_id}],
                "buyer": {"name": format!("Buyer {buyer}"), "phone": format!("136{buyer:08}"),
                          "address": "3 Two Servers Road, Suzhou"},
                "payment": {"method": "cod"},
            });
            let key = format!("two-instances-{buyer}");
            let mut answers = Vec::new();
            for url in [first, retry] {
                let r = client
                    .post(format!("{url}/api/orders"))
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let json: serde_json::Value = r.json().await.unwrap_or_default();
                answers.push((status, json["reference"].as_str().map(str::to_owned)));
            }
            answers
        }));
    }
    let mut sold = BTreeSet::new();
    let mut refused = 0;
    for task in tasks {
        let answers = task.await.unwrap();
        let (first, retry) = (&answers[0], &answers[1]);
        assert!(first.0 < 500 && retry.0 < 500, "no 5xx: {answers:?}");
        match first.0 {
            201 => {
                assert_eq!(retry.0, 200, "the retry is a replay: {answers:?}");
                assert_eq!(first.1, retry.1, "the same order: {answers:?}");
                sold.insert(first.1.clone().unwrap());
            }
            _ => refused += 1,
        }
    }
    assert_eq!(
        sold.len(),
        DEAL_UNITS as usize,
        "exactly the deal's units sold"
    );
    assert_eq!(refused, BUYERS - DEAL_UNITS as usize);
    {
        let mut conn = pool.get().unwrap();
        let deal_sold: i32 = flash_deals::table
            .find(deal_id)
            .select(flash_deals::sold)
            .first(&mut conn)
            .unwrap();
        assert_eq!(deal_sold, DEAL_UNITS);
        let stock: i32 = skus::table
            .find(hot)
            .select(skus::stock)
            .first(&mut conn)
            .unwrap();
        assert_eq!(stock, stock_before - DEAL_UNITS, "stock is exact");
        let deal_orders: Vec<String> = orders::table
            .inner_join(order_lines::table)
            .filter(order_lines::deal_id.eq(deal_id))
            .select(orders::reference)
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            deal_orders.len(),
            DEAL_UNITS as usize,
            "no duplicate orders"
        );
        assert_eq!(
            deal_orders.into_iter().collect::<BTreeSet<_>>(),
            sold,
            "the acknowledged orders are the stored ones"
        );
        let buyers: i64 = deal_purchases::table
            .filter(deal_purchases::deal_id.eq(deal_id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(buyers, DEAL_UNITS as i64);
    }

    // A sandbox show while both workers run: 5 simulated minutes at 60×.
    let show_id = {
        let mut conn = pool.get().unwrap();
        let trainee = users::create(
            &mut conn,
            &Email::parse("two-instances-trainee@example.com").unwrap(),
            &hashing::hash_now(PASSWORD).unwrap(),
            Role::Trainee,
            &DisplayName::parse("Two Instances").unwrap(),
            None,
            now,
        )
        .unwrap();
        let picked: Vec<(i64, i64)> = products::table
            .select((products::id, products::suggested_fen))
            .order(products::id)
            .limit(3)
            .load(&mut conn)
            .unwrap();
        for (product, price) in picked {
            showcase::put(&mut conn, trainee.id, product, price, now).unwrap();
        }
        let request = StartRequest {
            mode: Mode::Sandbox,
            minutes: 5,
            speed: 60,
        };
        service::start(&mut conn, trainee.id, &request, Some(21), now)
            .unwrap()
            .id
    };
    let mut owners = BTreeSet::new();
    let mut status = String::new();
    for _ in 0..600 {
        let mut conn = pool.get().unwrap();
        let (s, owner): (String, Option<String>) = shows::table
            .find(show_id)
            .select((shows::status, shows::lease_owner))
            .first(&mut conn)
            .unwrap();
        owners.extend(owner);
        status = s;
        if status == "ended" {
            break;
        }
        drop(conn);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "ended", "the show ran to its end");
    assert_eq!(owners.len(), 1, "one instance held the show: {owners:?}");
    let mut conn = pool.get().unwrap();
    let (lines, same) = kaibo::live::cli::replay(&mut conn, show_id).unwrap();
    assert!(same, "the stored show replays exactly: {lines:?}");
    let placed: i64 = orders::table
        .filter(orders::show_id.eq(show_id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let (paid, refused): (i32, i32) = shows::table
        .find(show_id)
        .select((shows::orders_placed, shows::orders_refused))
        .first(&mut conn)
        .unwrap();
    // Declined test cards leave an order too; sold-out refusals do not.
    assert!(
        placed >= paid as i64 && placed <= (paid + refused) as i64,
        "every purchase stored once: {placed} orders, {paid} paid, {refused} refused"
    );
    drop(conn);
    drop(pool);
    if let Some((server, name, _)) = &postgres {
        drop(a);
        drop(b);
        drop_postgres_database(server, name);
    }
}
