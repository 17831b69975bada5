use kaibo::accounts::domain::Role;

use crate::helpers::*;
use crate::selection::{sandbox_app, unlock};

#[tokio::test]
async fn a_trainee_saves_a_creator_profile() {
    let app = sandbox_app(0).await;
    app.register("creator@example.com", "Creator").await;
    unlock(&app, &app.client, false).await;
    let response = app
        .post_form(
            "/profile",
            &[
                ("display_name", "Xiao Mei"),
                ("locale", "zh-CN"),
                ("niche", "beauty"),
                ("niche", "food"),
                ("age_band", "25-34"),
                ("female_percent", "72"),
                ("top_regions", "Guangdong, 浙江"),
                ("price_min", "19.9"),
                ("price_max", "¥199"),
                ("follower_count", "12,000"),
                ("platform", "douyin"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = app.get_html("/profile").await;
    assert!(page.contains("value=\"Xiao Mei\""));
    assert!(page.contains("value=\"beauty\" checked"));
    assert!(page.contains("value=\"food\" checked"));
    assert!(!page.contains("value=\"pets\" checked"));
    assert!(page.contains("value=\"25-34\" selected"));
    assert!(page.contains("value=\"72\""));
    assert!(
        page.contains("广东, 浙江"),
        "regions in the page's language"
    );
    assert!(page.contains("value=\"19.90\""));
    assert!(page.contains("value=\"199\""));
    assert!(page.contains("value=\"12000\""));
    assert!(page.contains("value=\"douyin\" selected"));
    assert!(page.contains("个人资料"), "language setting applied");
    assert!(app.get_html("/learn").await.contains("主播资料已完善"));
}

#[tokio::test]
async fn bad_profile_fields_are_named_and_nothing_is_saved() {
    let app = sandbox_app(0).await;
    app.register("creator@example.com", "Creator").await;
    unlock(&app, &app.client, false).await;
    let response = app
        .post_form(
            "/profile",
            &[
                ("display_name", "Renamed"),
                ("niche", "weapons"),
                ("age_band", "12-17"),
                ("female_percent", "140"),
                ("price_min", "50"),
                ("price_max", "20"),
                ("follower_count", "lots"),
                ("platform", "myspace"),
                (
                    "top_regions",
                    "Beijing, Shanghai, Tianjin, Hebei, Henan, Hubei",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for message in [
        "Pick one of the options offered.",
        "Enter a whole number from 0 to 100.",
        "The highest price must not be lower than the lowest.",
        "Enter a whole number, such as 12000.",
        "List at most 5 regions.",
    ] {
        assert!(html.contains(message), "missing {message:?}");
    }
    let response = app
        .post_form(
            "/profile",
            &[("display_name", "Renamed"), ("top_regions", "Atlantis")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("A region is not one we know")
    );
    assert!(html.contains("value=\"140\""), "typed values are kept");
    let page = app.get_html("/profile").await;
    assert!(page.contains("value=\"Creator\""), "name unchanged");
}

#[tokio::test]
async fn staff_profiles_have_no_creator_section() {
    let app = spawn_app().await;
    let supplier = app.logged_in_as(Role::Supplier).await;
    let page = app
        .get_with(&supplier, "/profile")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Display name"));
    assert!(!page.contains("Creator profile"));
}

#[tokio::test]
async fn the_creator_profile_waits_for_its_module_and_ignores_early_fields() {
    let app = sandbox_app(0).await;
    app.register("early@example.com", "Early").await;
    let page = app.get_html("/profile").await;
    assert!(!page.contains("name=\"niche\""));
    assert!(
        page.contains("Know your audience"),
        "names the module that opens it"
    );
    // Fields sent anyway are not stored.
    let response = app
        .post_form(
            "/profile",
            &[("display_name", "Early"), ("niche", "beauty")],
        )
        .await;
    assert_eq!(response.status(), 303);
    unlock(&app, &app.client, false).await;
    let page = app.get_html("/profile").await;
    assert!(page.contains("name=\"niche\""));
    assert!(!page.contains("value=\"beauty\" checked"));
}
