//! The live studio through HTTP: a sandbox show at 60× speed ticked by the app's own
//! worker on the test clock, its actions and their refusals, the report, fast-forward,
//! the creator's after-sales decisions, graduation, and who may see what.

use std::time::Duration;

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::db::schema::{after_sales, orders, shows};
use kaibo::orders::Mode;

use crate::helpers::*;
use crate::shop_fixture::{ShopFixture, shop_fixture};

fn show_row(app: &TestApp, id: i64) -> (String, i64, i32) {
    let mut conn = app.pool.get().unwrap();
    shows::table
        .find(id)
        .select((shows::status, shows::done_ms, shows::orders_placed))
        .first(&mut conn)
        .unwrap()
}

/// Waits (polling, bounded) for the app's show worker to store simulated time `ms`.
pub(crate) async fn wait_done(app: &TestApp, id: i64, ms: i64) -> (String, i64, i32) {
    for _ in 0..600 {
        let row = show_row(app, id);
        if row.1 >= ms || row.0 == "ended" {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the show worker did not reach {ms} ms: {:?}",
        show_row(app, id)
    );
}

/// Starts a 10-minute show at 60× with a fixed seed and returns its id. The seed is
/// random when a trainee starts a show over HTTP; a test fixes it through the service,
/// so no tick of the app's show worker can run with another seed first.
async fn start_show(f: &ShopFixture, seed: i64) -> i64 {
    let mut conn = f.app.pool.get().unwrap();
    let request = kaibo::live::service::StartRequest {
        mode: Mode::Sandbox,
        minutes: 10,
        speed: 60,
    };
    kaibo::live::service::start(
        &mut conn,
        f.creator_id,
        &request,
        Some(seed as u64),
        f.app.clock_now(),
    )
    .unwrap()
    .id
}

pub(crate) fn advance(app: &TestApp, secs: i64) {
    app.clock.advance(chrono::Duration::seconds(secs));
}

/// The scripted trainee: pin, a flash deal, answer the first questions, then let the
/// show run to its end. Returns the show id.
pub(crate) async fn scripted_show(f: &ShopFixture, seed: i64) -> i64 {
    let id = start_show(f, seed).await;
    let p = &f.products[0];
    advance(&f.app, 1); // one real second = one simulated minute
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/studio/shows/{id}/pin"),
            &[("product", &p.product_id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303, "pinned");
    advance(&f.app, 1);
    let price = format!("{:.2}", (p.price_fen as f64 * 0.8).round() / 100.0);
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/studio/shows/{id}/deal"),
            &[
                ("sku", &p.sku_id.to_string()),
                ("price", &price),
                ("quantity", "5"),
                ("minutes", "3"),
                ("per_buyer", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "deal started");
    wait_done(&f.app, id, 120_000).await;
    advance(&f.app, 2);
    wait_done(&f.app, id, 240_000).await;
    let questions: Vec<i64> = {
        use kaibo::db::schema::show_comments;
        let mut conn = f.app.pool.get().unwrap();
        show_comments::table
            .filter(show_comments::show_id.eq(id))
            .order(show_comments::comment_id)
            .select(show_comments::comment_id)
            .limit(2)
            .load(&mut conn)
            .unwrap()
    };
    for q in &questions {
        let r = f
            .app
            .post_form_with(
                &f.creator,
                &format!("/studio/shows/{id}/answer"),
                &[
                    ("comment", &q.to_string()),
                    (
                        "reply",
                        "The supplier ships within two days, with tracking.",
                    ),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "answered");
    }
    advance(&f.app, 10);
    let (status, done, _) = wait_done(&f.app, id, 600_000).await;
    assert_eq!((status.as_str(), done), ("ended", 600_000));
    id
}

#[tokio::test]
async fn a_sandbox_show_runs_through_the_real_order_flow_and_reports() {
    let f = shop_fixture(Mode::Sandbox, 3).await;
    let id = scripted_show(&f, 7).await;
    let (_, _, placed) = show_row(&f.app, id);
    let mut conn = f.app.pool.get().unwrap();
    let orders_of_show: i64 = orders::table
        .filter(orders::show_id.eq(id))
        .filter(orders::mode.eq("sandbox"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    drop(conn);
    assert!(placed > 0, "the audience bought something");
    assert!(
        orders_of_show >= placed as i64,
        "every placement is an order"
    );

    let html = f
        .app
        .get_html_with(&f.creator, &format!("/studio/shows/{id}/report"))
        .await;
    assert!(html.contains("<svg"), "chart drawn");
    assert!(html.contains("Coaching"));
    assert!(html.contains("Conversion"));

    // Actions after the end are refused with a message; nothing changes.
    let r = f
        .app
        .post_form_with(&f.creator, &format!("/studio/shows/{id}/end"), &[])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("This show has ended"));

    // Fast-forward: simulated suppliers ship and deliver.
    let r = f
        .app
        .post_form_with(&f.creator, &format!("/studio/shows/{id}/fast-forward"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let mut conn = f.app.pool.get().unwrap();
    let delivered: i64 = orders::table
        .filter(orders::show_id.eq(id))
        .filter(orders::status.eq_any(["delivered", "partially_shipped", "completed"]))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(delivered > 0, "fast-forward delivered orders");
    // Any return request can be decided by the creator from the desk.
    let requested: Option<i64> = after_sales::table
        .filter(after_sales::shop_user_id.eq(f.creator_id))
        .filter(after_sales::status.eq("requested"))
        .select(after_sales::id)
        .first(&mut conn)
        .optional()
        .unwrap();
    drop(conn);
    if let Some(case) = requested {
        let r = f
            .app
            .post_form_with(&f.creator, &format!("/desk/cases/{case}/approve"), &[])
            .await;
        assert_eq!(r.status(), 303);
        let r = f
            .app
            .post_form_with(&f.creator, &format!("/studio/shows/{id}/fast-forward"), &[])
            .await;
        assert_eq!(r.status(), 303);
        let mut conn = f.app.pool.get().unwrap();
        let status: String = after_sales::table
            .find(case)
            .select(after_sales::status)
            .first(&mut conn)
            .unwrap();
        assert_eq!(status, "refunded", "returned, received and refunded");
    }
    let html = f.app.get_html_with(&f.creator, "/graduation").await;
    assert!(
        html.contains("delivered"),
        "checklist shows the delivered orders"
    );
}

#[tokio::test]
async fn bad_actions_get_clear_messages_and_a_second_show_is_refused() {
    let f = shop_fixture(Mode::Sandbox, 2).await;
    let id = start_show(&f, 3).await;
    let r = f
        .app
        .post_form_with(
            &f.creator,
            "/studio/shows",
            &[("minutes", "10"), ("speed", "60")],
        )
        .await;
    assert_eq!(r.status(), 409, "a second show while one runs");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("already have a show running")
    );
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/studio/shows/{id}/pin"),
            &[("product", "999999")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not in your showcase"));
    let p = &f.products[0];
    for (price, qty, expect) in [
        ("0.01", "5", "below the supplier"),
        ("999999", "5", "cheaper than your shop price"),
        ("1.00", "100000000", "Enter how many units"),
    ] {
        let r = f
            .app
            .post_form_with(
                &f.creator,
                &format!("/studio/shows/{id}/deal"),
                &[
                    ("sku", &p.sku_id.to_string()),
                    ("price", price),
                    ("quantity", qty),
                    ("minutes", "5"),
                    ("per_buyer", "2"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422, "{expect}");
        assert!(r.text().await.unwrap().contains(expect), "{expect}");
    }
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/studio/shows/{id}/answer"),
            &[("comment", "12345"), ("text", "hello")],
        )
        .await;
    assert_eq!(r.status(), 422);
    // An order through the API may name only this shop's running show.
    let mut body = f.order_json(
        &[(p.sku_id, 1)],
        serde_json::json!({"method": "card", "card_number": "4242424242424242"}),
    );
    body["show_id"] = serde_json::json!(id + 1000);
    let r = f.post_order("wrong-show", &body).await;
    assert_eq!(r.status(), 400);
    let err: serde_json::Value = r.json().await.unwrap();
    assert!(
        err["error"]["fields"]["show_id"]
            .as_str()
            .unwrap()
            .contains("running show"),
        "{err}"
    );
    // Without one, a sandbox order placed during the show belongs to it.
    body.as_object_mut().unwrap().remove("show_id");
    let r = f.post_order("during-show", &body).await;
    assert_eq!(r.status(), 201);
    let placed: serde_json::Value = r.json().await.unwrap();
    let mut conn = f.app.pool.get().unwrap();
    let show: Option<i64> = orders::table
        .filter(orders::reference.eq(placed["reference"].as_str().unwrap()))
        .select(orders::show_id)
        .first(&mut conn)
        .unwrap();
    drop(conn);
    assert_eq!(show, Some(id));
    // Two tabs ending at once: one ends it, the other is told it has ended.
    let end_path = format!("/studio/shows/{id}/end");
    let a = f.app.post_form_with(&f.creator, &end_path, &[]);
    let b = f.app.post_form_with(&f.creator, &end_path, &[]);
    let (a, b) = tokio::join!(a, b);
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 409]);
    let mut conn = f.app.pool.get().unwrap();
    let ends: i64 = kaibo::db::schema::show_actions::table
        .filter(kaibo::db::schema::show_actions::show_id.eq(id))
        .filter(kaibo::db::schema::show_actions::kind.eq("end"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(ends, 1);
}

#[tokio::test]
async fn other_people_cannot_see_or_act_on_a_show() {
    let f = shop_fixture(Mode::Sandbox, 2).await;
    let id = start_show(&f, 5).await;
    let other = f.app.logged_in_as(Role::Trainee).await;
    let r = f.app.get_with(&other, &format!("/studio/shows/{id}")).await;
    assert_eq!(r.status(), 404, "another trainee's show");
    let r = f
        .app
        .get_with(&other, &format!("/studio/shows/{id}/report"))
        .await;
    assert_eq!(r.status(), 404);
    let r = f
        .app
        .get_with(&other, &format!("/studio/shows/{id}/events"))
        .await;
    assert_eq!(r.status(), 404);
    let r = f
        .app
        .post_form_with(&other, &format!("/studio/shows/{id}/end"), &[])
        .await;
    assert_eq!(r.status(), 404, "another trainee cannot end it");
    let supplier = f.app.logged_in_as(Role::Supplier).await;
    let r = f
        .app
        .get_with(&supplier, &format!("/studio/shows/{id}"))
        .await;
    assert_eq!(r.status(), 403);
    let r = f
        .app
        .get_with(&supplier, &format!("/studio/shows/{id}/report"))
        .await;
    assert_eq!(r.status(), 403);
    let instructor = f.app.logged_in_as(Role::Instructor).await;
    let r = f
        .app
        .get_with(&instructor, &format!("/studio/shows/{id}/report"))
        .await;
    assert_eq!(r.status(), 200, "instructors read every report");
    let r = f.app.get_with(&instructor, "/instructor/shows").await;
    assert_eq!(r.status(), 200);
    let r = f
        .app
        .get_with(&instructor, &format!("/studio/shows/{id}"))
        .await;
    assert_eq!(r.status(), 403, "the console is the trainee's");
    let r = f.app.get_with(&other, "/instructor/shows").await;
    assert_eq!(r.status(), 403);
    let r = f
        .app
        .get_with(&f.app.client, "/certificates/AAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(r.status(), 404, "no such certificate");
}

/// The report without what differs between two apps (CSRF tokens, the clock line).
fn comparable(html: &str) -> String {
    let re = regex_lite::Regex::new(r#"name="csrf" value="[^"]*""#).unwrap();
    re.replace_all(html, "").to_string()
}

#[tokio::test]
async fn the_same_seed_and_actions_give_an_identical_report() {
    let a = shop_fixture(Mode::Sandbox, 3).await;
    let b = shop_fixture(Mode::Sandbox, 3).await;
    assert_eq!(
        a.products[0].product_id, b.products[0].product_id,
        "same catalog"
    );
    let ia = scripted_show(&a, 11).await;
    let ib = scripted_show(&b, 11).await;
    let ra = a
        .app
        .get_html_with(&a.creator, &format!("/studio/shows/{ia}/report"))
        .await;
    let rb = b
        .app
        .get_html_with(&b.creator, &format!("/studio/shows/{ib}/report"))
        .await;
    assert_eq!(comparable(&ra), comparable(&rb));
    let digest = |f: &ShopFixture, id: i64| -> String {
        let mut conn = f.app.pool.get().unwrap();
        shows::table
            .find(id)
            .select(shows::summary)
            .first::<Option<String>>(&mut conn)
            .unwrap()
            .unwrap()
    };
    assert_eq!(digest(&a, ia), digest(&b, ib));
    // A different seed is a different show.
    let c = shop_fixture(Mode::Sandbox, 3).await;
    let ic = scripted_show(&c, 12).await;
    assert_ne!(digest(&a, ia), digest(&c, ic));
}
