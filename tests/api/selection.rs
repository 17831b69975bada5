//! The sandbox's selection step through HTTP: gating by the course, the creator profile,
//! the matched list with reasons, filters and typo-tolerant search, product pages with
//! the margin calculator, the showcase and its limits, and the instructor view.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::catalog::model::{self, Product};
use kaibo::db::schema::products;

use crate::helpers::*;

pub fn sandbox_courses() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sandbox-courses")
}

/// An app with the two-module sandbox course and a generated catalog of `skus` SKUs.
pub async fn sandbox_app(skus: u64) -> TestApp {
    spawn_app_with(|raw| {
        raw.courses = sandbox_courses();
        raw.demo_catalog_skus = skus;
    })
    .await
}

/// Completes the module that opens the profile, then (if `selection`) the one that
/// opens product selection.
pub async fn unlock(app: &TestApp, client: &reqwest::Client, selection: bool) {
    let r = app
        .post_form_with(client, "/courses/shop/audience/viewers/complete", &[])
        .await;
    assert_eq!(r.status(), 303, "lesson completed");
    if selection {
        let r = app
            .post_form_with(client, "/courses/shop/products/matching/complete", &[])
            .await;
        assert_eq!(r.status(), 303, "lesson completed");
    }
}

pub async fn beauty_profile(app: &TestApp, client: &reqwest::Client) {
    let r = app
        .post_form_with(
            client,
            "/profile",
            &[
                ("display_name", "Xiao Mei"),
                ("niche", "beauty"),
                ("age_band", "25-34"),
                ("female_percent", "85"),
                ("top_regions", "Guangdong, 浙江"),
                ("price_min", "30"),
                ("price_max", "150"),
                ("follower_count", "20000"),
                ("platform", "douyin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "profile saved");
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

fn product(app: &TestApp, id: i64) -> Product {
    model::find_product(&mut app.pool.get().unwrap(), id)
        .unwrap()
        .expect("product exists")
}

/// Product ids linked from a page, in order.
fn product_ids(html: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for part in html.split("href=\"/selection/products/").skip(1) {
        let id: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(id) = id.parse::<i64>()
            && ids.last() != Some(&id)
        {
            ids.push(id);
        }
    }
    ids
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test]
async fn a_trainee_unlocks_matches_searches_with_a_typo_and_builds_a_showcase() {
    let app = sandbox_app(3_000).await;
    assert_eq!(
        model::sku_count(&mut app.pool.get().unwrap()).unwrap(),
        3_000
    );
    let trainee = app.logged_in_as(Role::Trainee).await;

    // Locked until the course modules are done, with the module named.
    let (status, html) = page(&app, &trainee, "/selection").await;
    assert_eq!(status, 403);
    assert!(
        html.contains("Pick products"),
        "names the module that opens it"
    );
    let (_, html) = page(&app, &trainee, "/profile").await;
    assert!(
        !html.contains("name=\"niche\""),
        "creator profile still locked"
    );
    assert!(html.contains("Know your audience"));

    unlock(&app, &trainee, false).await;
    let (_, html) = page(&app, &trainee, "/profile").await;
    assert!(html.contains("name=\"niche\""), "creator profile open");
    beauty_profile(&app, &trainee).await;
    assert_eq!(page(&app, &trainee, "/selection").await.0, 403);
    unlock(&app, &trainee, true).await;

    // The matched list: beauty first, each product with its reasons.
    let (status, html) = page(&app, &trainee, "/selection").await;
    assert_eq!(status, 200);
    let ids = product_ids(&html);
    assert_eq!(ids.len(), 20, "twenty per page");
    assert!(html.contains("In your niche: Beauty"), "reasons are shown");
    let beauty = ids
        .iter()
        .filter(|id| product(&app, **id).category.starts_with("beauty"))
        .count();
    assert!(beauty >= 18, "only {beauty} of 20 are beauty products");
    assert_eq!(html.matches("class=\"reasons\"").count(), 20);

    // A typo still finds the product: swap two letters of the first product's last
    // title word.
    let first = product(&app, ids[0]);
    let word = first.title.split_whitespace().last().unwrap().to_string();
    let mut chars: Vec<char> = word.chars().collect();
    chars.swap(1, 2);
    let typo: String = chars.iter().collect();
    assert_ne!(typo, word);
    let (status, html) = page(&app, &trainee, &format!("/selection?q={typo}")).await;
    assert_eq!(status, 200);
    let found = product_ids(&html);
    assert!(!found.is_empty(), "{typo} finds something");
    for id in &found {
        let p = product(&app, *id);
        assert!(
            p.title.to_lowercase().contains(&word.to_lowercase())
                || p.tags.contains(&word.to_lowercase()),
            "{typo} matched {}",
            p.title
        );
    }
    assert!(
        found.contains(&ids[0]) || found.len() == 20,
        "the product itself is found"
    );

    // Five products, each at the trainee's own price between minimum and suggested.
    let mut chosen = Vec::new();
    for id in ids.iter().take(5) {
        let p = product(&app, *id);
        let price = (p.min_price_fen + p.suggested_fen) / 2;
        // The margin calculator first (a GET form, nothing stored).
        let (status, html) = page(
            &app,
            &trainee,
            &format!("/selection/products/{id}?price={}", yuan(price)),
        )
        .await;
        assert_eq!(status, 200);
        assert!(html.contains("Your margin per sale"));
        let r = app
            .post_form_with(
                &trainee,
                "/showcase/items",
                &[("product_id", &id.to_string()), ("price", &yuan(price))],
            )
            .await;
        assert_eq!(r.status(), 303, "added {id}");
        assert_eq!(location(&r), "/showcase");
        chosen.push((p, price));
    }
    let (status, html) = page(&app, &trainee, "/showcase").await;
    assert_eq!(status, 200);
    assert!(html.contains("5 / 20"));
    for (p, price) in &chosen {
        assert!(html.contains(&p.title), "{} listed", p.title);
        assert!(
            html.contains(&format!("¥{}", yuan(*price))),
            "own price shown"
        );
    }

    // The instructor sees what was picked.
    let instructor = app.logged_in_as(Role::Instructor).await;
    let (status, html) = page(&app, &instructor, "/instructor/showcases").await;
    assert_eq!(status, 200);
    assert!(html.contains(&chosen[0].0.title));
    assert!(html.contains("<svg"), "margin distribution chart");
    assert!(html.contains(">5<"), "five products picked");
}

#[tokio::test]
async fn the_margin_is_worked_out_on_the_server() {
    let app = sandbox_app(500).await;
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    beauty_profile(&app, &trainee).await;
    let p = product(&app, 1);
    let price = p.suggested_fen;
    let (_, html) = page(
        &app,
        &trainee,
        &format!("/selection/products/1?price={}", yuan(price)),
    )
    .await;
    // Douyin's 5 % fee; commission on the price.
    let fee = (price * 500 + 5_000) / 10_000;
    let commission = (price * p.commission_bp as i64 + 5_000) / 10_000;
    let margin = price - p.cost_fen - fee + commission;
    assert!(html.contains(&format!("¥{}", yuan(fee))), "fee shown");
    assert!(
        html.contains(&format!("<strong>¥{}</strong>", yuan(margin))),
        "margin ¥{} shown",
        yuan(margin)
    );
}

#[tokio::test]
async fn bad_showcase_input_gets_a_clear_answer_and_changes_nothing() {
    let app = sandbox_app(2_000).await;
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    let p = product(&app, 1);
    let add = |id: String, price: String| {
        let (app, trainee) = (&app, &trainee);
        async move {
            app.post_form_with(
                trainee,
                "/showcase/items",
                &[("product_id", id.as_str()), ("price", price.as_str())],
            )
            .await
        }
    };
    // Below the minimum and above the suggested price.
    for price in [p.min_price_fen - 1, p.suggested_fen + 1] {
        let r = add("1".into(), yuan(price)).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!(
                "Choose a price from ¥{} to ¥{}.",
                yuan(p.min_price_fen),
                yuan(p.suggested_fen)
            )),
            "range named"
        );
    }
    for bad in ["abc", "", "-5", "1e9"] {
        let r = add("1".into(), bad.into()).await;
        assert_eq!(r.status(), 422, "price {bad:?}");
    }
    // A product that does not exist.
    for id in ["999999", "abc", "-1"] {
        let r = add(id.into(), "10".into()).await;
        assert_eq!(r.status(), 400, "product {id}");
        assert!(r.text().await.unwrap().contains("No such product"));
    }
    // Twenty fit; the twenty-first is refused with a message.
    let showcase_count = || {
        use kaibo::db::schema::showcase_items;
        showcase_items::table
            .count()
            .get_result::<i64>(&mut app.pool.get().unwrap())
            .unwrap()
    };
    assert_eq!(showcase_count(), 0, "nothing stored by the bad requests");
    let all: Vec<Product> = products::table
        .order(products::id)
        .limit(21)
        .select(Product::as_select())
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    for p in &all[..20] {
        let r = add(p.id.to_string(), yuan(p.suggested_fen)).await;
        assert_eq!(r.status(), 303);
    }
    let r = add(all[20].id.to_string(), yuan(all[20].suggested_fen)).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("already holds 20 products")
    );
    assert_eq!(showcase_count(), 20);
    // Changing the price of one already there still works when full.
    let r = add(all[0].id.to_string(), yuan(all[0].min_price_fen)).await;
    assert_eq!(r.status(), 303);
    // A bad price on the showcase page names the item's field.
    let r = app
        .post_form_with(
            &trainee,
            &format!("/showcase/items/{}", all[1].id),
            &[("price", "0.01")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("price-{}-error", all[1].id))
    );
    // Remove one, then removing it again is a 404.
    let path = format!("/showcase/items/{}/remove", all[2].id);
    assert_eq!(app.post_form_with(&trainee, &path, &[]).await.status(), 303);
    assert_eq!(app.post_form_with(&trainee, &path, &[]).await.status(), 404);
    assert_eq!(showcase_count(), 19);
}

#[tokio::test]
async fn one_trainee_cannot_change_another_trainees_showcase() {
    let app = sandbox_app(500).await;
    let owner = app.logged_in_as(Role::Trainee).await;
    let other = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &owner, true).await;
    unlock(&app, &other, true).await;
    let p = product(&app, 1);
    let r = app
        .post_form_with(
            &owner,
            "/showcase/items",
            &[("product_id", "1"), ("price", &yuan(p.suggested_fen))],
        )
        .await;
    assert_eq!(r.status(), 303);
    // The other trainee's requests name the same product id but reach only their own
    // (empty) showcase.
    let r = app
        .post_form_with(
            &other,
            "/showcase/items/1",
            &[("price", &yuan(p.min_price_fen))],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .post_form_with(&other, "/showcase/items/1/remove", &[])
        .await;
    assert_eq!(r.status(), 404);
    let (_, html) = page(&app, &owner, "/showcase").await;
    assert!(
        html.contains(&format!("¥{}", yuan(p.suggested_fen))),
        "owner's price kept"
    );
    assert!(html.contains("1 / 20"));
    let (_, html) = page(&app, &other, "/showcase").await;
    assert!(html.contains("0 / 20"));
}

#[tokio::test]
async fn filters_narrow_the_list_and_bad_filters_are_named() {
    let app = sandbox_app(3_000).await;
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    let (status, html) = page(&app, &trainee, "/selection?category=pets&price_max=80").await;
    assert_eq!(status, 200);
    let ids = product_ids(&html);
    assert!(!ids.is_empty());
    for id in ids {
        let p = product(&app, id);
        assert!(p.category.starts_with("pets/"), "{}", p.category);
        assert!(p.suggested_fen <= 8_000);
    }
    let (_, html) = page(&app, &trainee, "/selection?min_margin=60").await;
    for id in product_ids(&html) {
        let p = product(&app, id);
        let m = kaibo::catalog::pricing::creator_margin(
            p.suggested_fen,
            p.cost_fen,
            p.commission_bp as u32,
            500,
        );
        assert!(m.rate_bp >= 6_000, "{} has {}", p.title, m.rate_bp);
    }
    for (query, message) in [
        ("category=weapons", "Choose a category from the list."),
        ("min_margin=lots", "Enter a percentage from 0 to 100."),
        ("price_min=abc", "Enter an amount in yuan, such as 29.90."),
        (
            "price_min=90&price_max=10",
            "The highest price must not be lower than the lowest.",
        ),
        ("page=99", "The page must be a number from 1 to 5."),
    ] {
        let (status, html) = page(&app, &trainee, &format!("/selection?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(message), "{query}: {message}");
    }
    // Search text is only text: SQL does nothing, HTML is escaped, both find nothing.
    let (status, html) = page(&app, &trainee, "/selection?q=%27%20OR%201%3D1%20--").await;
    assert_eq!(status, 200);
    assert!(product_ids(&html).is_empty());
    let (status, html) = page(
        &app,
        &trainee,
        "/selection?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    )
    .await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)"),
        "the query is shown back as text"
    );
    let long = "a".repeat(150);
    assert_eq!(
        page(&app, &trainee, &format!("/selection?q={long}"))
            .await
            .0,
        400
    );
    // Paging: page 2 continues page 1.
    let one = product_ids(&page(&app, &trainee, "/selection").await.1);
    let two = product_ids(&page(&app, &trainee, "/selection?page=2").await.1);
    assert_eq!(two.len(), 20);
    assert!(one.iter().all(|id| !two.contains(id)));
}

#[tokio::test]
async fn only_trainees_reach_selection_and_only_staff_the_showcases_view() {
    let app = sandbox_app(200).await;
    for role in [Role::Instructor, Role::Supplier, Role::Admin] {
        let client = app.logged_in_as(role).await;
        for path in ["/selection", "/selection/products/1", "/showcase"] {
            assert_eq!(page(&app, &client, path).await.0, 403, "{path} as {role:?}");
        }
        let r = app
            .post_form_with(
                &client,
                "/showcase/items",
                &[("product_id", "1"), ("price", "10")],
            )
            .await;
        assert_eq!(r.status(), 403, "add as {role:?}");
    }
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    assert_eq!(page(&app, &trainee, "/instructor/showcases").await.0, 403);
    assert_eq!(
        page(&app, &trainee, "/selection/products/99999").await.0,
        404
    );
    assert_eq!(page(&app, &trainee, "/selection/products/x").await.0, 404);
    let anonymous = new_client();
    let r = app.get_with(&anonymous, "/selection").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
}

/// A second instance on the same database, as behind a load balancer.
async fn second_instance(app: &TestApp) -> String {
    let url = match &app.database_url {
        kaibo::db::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        kaibo::db::DatabaseUrl::Postgres(url) => url.clone(),
    };
    let raw = kaibo::config::RawSettings {
        bind: "127.0.0.1:0".into(),
        data: app.data_dir.clone(),
        database_url: Some(url),
        pool_size: 2,
        workers: 1,
        hash_concurrency: 1,
        seed_demo: false,
        demo_catalog_skus: 0,
        catalog_refresh_seconds: 1,
        courses: sandbox_courses(),
        ..kaibo::config::RawSettings::default()
    };
    let settings = kaibo::config::Settings::from_raw(raw).unwrap();
    let other = kaibo::startup::Application::build_with_clock(settings, app.clock.clone())
        .await
        .expect("second instance starts");
    let address = format!("http://127.0.0.1:{}", other.port());
    tokio::spawn(other.run_until_stopped());
    address
}

#[tokio::test]
async fn another_instance_sees_a_catalog_change_within_its_refresh_interval() {
    let app = sandbox_app(300).await;
    let other = second_instance(&app).await;
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    // The trainee's session lives in the database, so it works on both instances.
    let search = |base: String| {
        let trainee = trainee.clone();
        async move {
            trainee
                .get(format!("{base}/selection?q=added%20elsewhere"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(
        !search(other.clone())
            .await
            .contains("Added Elsewhere Teapot")
    );
    // A catalog change made elsewhere: a product renamed and the catalog's version
    // bumped, as every catalog writer does.
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(products::table.find(1))
            .set(products::title.eq("Added Elsewhere Teapot"))
            .execute(&mut conn)
            .unwrap();
        model::bump_version(&mut conn, chrono::Utc::now().naive_utc()).unwrap();
    }
    // The other instance rebuilds within its one-second interval; wait up to 15 s.
    let mut found = false;
    for _ in 0..150 {
        if search(other.clone())
            .await
            .contains("Added Elsewhere Teapot")
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the second instance reloaded the catalog");
}
