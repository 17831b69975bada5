//! `kaibo simulate`: replays a stored show to prove the simulation is deterministic, or
//! runs a scripted show headless and places its orders through the JSON order API of a
//! running server, printing GMV, orders per second and latency percentiles (it doubles
//! as the order-flow load generator).

use std::time::{Duration, Instant};

use super::model;
use super::sim::{Action, ActionKind, Engine, Purchase};
use crate::db::DbConn;
use crate::orders::payments::TEST_CARDS;

/// Replays show `id` from its seed and action log and compares it with what was stored.
/// Returns the lines to print and whether everything matched.
pub fn replay(conn: &mut DbConn, id: i64) -> anyhow::Result<(Vec<String>, bool)> {
    let show = model::find(conn, id)?.ok_or_else(|| anyhow::anyhow!("no show has the id {id}"))?;
    let rows = model::actions(conn, id)?;
    let log: Vec<Action> = rows.iter().filter_map(model::ActionRow::action).collect();
    let engine =
        super::runner::replay(&show, &log, show.done_ms).map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = engine.summary();
    let mut out = vec![format!(
        "show {id}: seed {}, {} actions, {} simulated s replayed",
        show.seed,
        log.len(),
        show.done_ms / 1000
    )];
    let mut ok = true;
    match show.summary() {
        Some(stored) => {
            let same = stored.digest == summary.digest;
            ok &= same;
            out.push(format!(
                "digest: stored {:016x}, replayed {:016x}: {}",
                stored.digest,
                summary.digest,
                if same { "identical" } else { "DIFFERENT" }
            ));
        }
        None => out.push("the show has not ended: no stored summary to compare".into()),
    }
    let minutes = model::minutes(conn, id)?;
    let stored_orders: i64 = minutes.iter().map(|m| m.orders as i64).sum();
    let replayed_orders: i64 = summary.minutes.iter().map(|m| m.purchases as i64).sum();
    let same = stored_orders == replayed_orders;
    ok &= same;
    out.push(format!(
        "purchases: stored {stored_orders}, replayed {replayed_orders}: {}",
        if same { "identical" } else { "DIFFERENT" }
    ));
    let comments = model::comments(conn, id)?.len() as u32;
    let same = comments == summary.questions;
    ok &= same;
    out.push(format!(
        "questions: stored {comments}, replayed {}: {}",
        summary.questions,
        if same { "identical" } else { "DIFFERENT" }
    ));
    Ok((out, ok))
}

/// A flash deal the scripted seller runs, already stored as a real deal row (so its
/// orders go through the real deal limits).
#[derive(Debug, Clone, Copy)]
pub struct ScriptedDeal {
    pub deal_id: i64,
    pub product_id: i64,
    pub sku_id: i64,
    pub price_fen: i64,
    pub quantity: i64,
    pub per_buyer_limit: i64,
}

/// The scripted seller of a headless show: pins each product in turn and, given a deal,
/// runs it for ten minutes a third of the way in (pinning its product meanwhile).
pub fn scripted_actions(
    engine_cfg: &super::sim::SimConfig,
    deal: Option<ScriptedDeal>,
) -> Vec<Action> {
    let length = engine_cfg.minutes.max(1) as u64 * 60_000;
    let products = &engine_cfg.products;
    let mut actions = Vec::new();
    if products.is_empty() {
        return actions;
    }
    let slot = (length / products.len() as u64).max(60_000);
    for (i, p) in products.iter().enumerate() {
        let at = i as u64 * slot;
        if at >= length {
            break;
        }
        actions.push(Action {
            at_ms: at,
            kind: ActionKind::Pin {
                product_id: p.product_id,
            },
        });
    }
    if let Some(d) = deal {
        let at = length / 3;
        let ends_at_ms = (at + 10 * 60_000).min(length);
        actions.push(Action {
            at_ms: at,
            kind: ActionKind::Deal {
                deal_id: d.deal_id,
                product_id: d.product_id,
                sku_id: d.sku_id,
                price_fen: d.price_fen,
                quantity: d.quantity,
                per_buyer_limit: d.per_buyer_limit,
                ends_at_ms,
            },
        });
        actions.push(Action {
            at_ms: at,
            kind: ActionKind::Pin {
                product_id: d.product_id,
            },
        });
        // Back to the running order of pins when the deal is over.
        if let Some(next) = products.iter().find(|p| p.product_id != d.product_id) {
            actions.push(Action {
                at_ms: ends_at_ms,
                kind: ActionKind::Pin {
                    product_id: next.product_id,
                },
            });
        }
    }
    // A stable sort keeps the deal's pin after a pin scheduled for the same moment.
    actions.sort_by_key(|a| a.at_ms);
    actions
}

/// Latency percentiles of a sorted list, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub purchases: usize,
    pub placed: usize,
    pub declined: usize,
    pub refused: usize,
    pub errors: usize,
    pub gmv_fen: i64,
    pub wall: Duration,
    pub engine: Duration,
    pub latencies: Vec<Duration>,
}

/// Sends every purchase of a finished engine run to `url`'s `/api/orders`, `concurrency`
/// at a time, as the shop's simulated buyers: with the engine's test card on a sandbox
/// shop, cash on delivery on a live one (which takes no cards).
pub async fn place_over_http(
    url: &str,
    handle: &str,
    token: &str,
    live: bool,
    purchases: Vec<Purchase>,
    concurrency: usize,
) -> anyhow::Result<LoadResult> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let endpoint = format!("{}/api/orders", url.trim_end_matches('/'));
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(purchases.into_iter()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, endpoint, queue) = (client.clone(), endpoint.clone(), queue.clone());
        let (handle, token) = (handle.to_string(), token.to_string());
        workers.push(tokio::spawn(async move {
            let mut r = LoadResult::default();
            loop {
                let Some(p) = queue.lock().await.next() else {
                    break;
                };
                r.purchases += 1;
                let card = TEST_CARDS
                    .get(p.card as usize)
                    .map(|c| c.0)
                    .unwrap_or(TEST_CARDS[0].0);
                let body = serde_json::json!({
                    "shop": handle,
                    "lines": [{ "sku_id": p.sku_id, "quantity": p.quantity, "deal_id": p.deal_id }],
                    "buyer": {
                        "name": format!("Viewer {}", p.viewer),
                        "phone": format!("138{:08}", p.viewer as u64 % 100_000_000),
                        "address": "Hangzhou, Xihu District, Wensan Road 88",
                        "segment": super::sim::segment_code(p.segment),
                    },
                    "payment": if live {
                        serde_json::json!({ "method": "cod" })
                    } else {
                        serde_json::json!({ "method": "card", "card_number": card })
                    },
                });
                let t = Instant::now();
                let sent = client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("load-{}", p.key))
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(resp) => {
                        let status = resp.status();
                        let json: serde_json::Value = resp.json().await.unwrap_or_default();
                        r.latencies.push(t.elapsed());
                        if status.is_success() {
                            r.placed += 1;
                            r.gmv_fen += json["total_fen"].as_i64().unwrap_or(0);
                        } else if status.as_u16() == 402 {
                            r.declined += 1;
                        } else if status.is_client_error() {
                            r.refused += 1;
                        } else {
                            r.errors += 1;
                        }
                    }
                    Err(_) => r.errors += 1,
                }
            }
            r
        }));
    }
    let mut total = LoadResult::default();
    for w in workers {
        let r = w.await?;
        total.purchases += r.purchases;
        total.placed += r.placed;
        total.declined += r.declined;
        total.refused += r.refused;
        total.errors += r.errors;
        total.gmv_fen += r.gmv_fen;
        total.latencies.extend(r.latencies);
    }
    total.wall = started.elapsed();
    total.latencies.sort();
    Ok(total)
}

/// Runs the engine of a headless show to its end: all its purchases, and how long the
/// simulation itself took.
pub fn run_engine(
    cfg: super::sim::SimConfig,
    deal: Option<ScriptedDeal>,
) -> (Vec<Purchase>, Duration, super::sim::Summary) {
    let actions = scripted_actions(&cfg, deal);
    let started = Instant::now();
    let mut engine = Engine::new(cfg);
    let length = engine.length_ms();
    let ticks = engine.run_until(&actions, length);
    let took = started.elapsed();
    let purchases = ticks.into_iter().flat_map(|t| t.purchases).collect();
    (purchases, took, engine.summary())
}
