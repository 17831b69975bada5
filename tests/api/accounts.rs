use kaibo::accounts::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn register_logs_in_and_lands_on_the_trainee_home() {
    let app = spawn_app().await;
    let response = app.register("Mei.Lin@Example.com", "Mei Lin").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/learn");
    let cookie = set_cookie(&response, "kaibo_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "Secure only when configured for TLS"
    );

    let home = app.get_html("/learn").await;
    assert!(home.contains("Hello, Mei Lin"), "{home}");
    assert!(home.contains("Welcome to Kaibo"), "flash shown once");
    let again = app.get_html("/learn").await;
    assert!(
        !again.contains("Welcome to Kaibo"),
        "flash is shown only once"
    );
    assert_eq!(app.user_count(), 1);
}

#[tokio::test]
async fn stored_password_hash_is_argon2id_with_baseline_parameters() {
    let app = spawn_app().await;
    app.register("hash@example.com", "Hash").await;
    let hash = app.stored_hash("hash@example.com");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn registration_refuses_bad_fields_and_says_which() {
    let app = spawn_app().await;
    let response = app
        .post_form(
            "/register",
            &[
                ("email", "not-an-email"),
                ("display_name", &"x".repeat(81)),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Enter an email address like name@example.com."));
    assert!(html.contains("Use at most 80 characters."));
    assert!(html.contains("Use at least 12 characters."));
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(app.user_count(), 0);

    let response = app
        .post_form(
            "/register",
            &[
                ("email", "ok@example.com"),
                ("display_name", "OK"),
                ("password", PASSWORD),
                ("password_confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The two passwords do not match.")
    );
    assert_eq!(app.user_count(), 0);
}

#[tokio::test]
async fn markup_in_fields_is_escaped_not_rendered() {
    let app = spawn_app().await;
    app.register("xss@example.com", "<script>alert(1)</script>")
        .await;
    let home = app.get_html("/learn").await;
    assert!(!home.contains("<script>alert(1)</script>"));
    assert!(
        home.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{home}"
    );
}

#[tokio::test]
async fn emails_are_unique_after_normalisation() {
    let app = spawn_app().await;
    assert_eq!(app.register("mei@example.com", "Mei").await.status(), 303);
    let other = new_client();
    let token = app.csrf_with(&other).await;
    let response = other
        .post(app.url("/register"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "  MEI@example.COM "),
            ("display_name", "Mei again"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("already exists"));
    assert_eq!(app.user_count(), 1);
}

#[tokio::test]
async fn wrong_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    let wrong_password = app.login(&email, "not the right password").await;
    let status_a = wrong_password.status();
    let body_a = wrong_password.text().await.unwrap();
    let wrong_email = app.login("nobody@example.com", PASSWORD).await;
    let status_b = wrong_email.status();
    let body_b = wrong_email.text().await.unwrap();
    assert_eq!(status_a, 401);
    assert_eq!(status_a, status_b);
    let message = "The email or password is not correct.";
    assert!(body_a.contains(message) && body_b.contains(message));
}

#[tokio::test]
async fn login_renews_the_session_and_logout_destroys_it() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    let first = app.login(&email, PASSWORD).await;
    assert_eq!(location(&first), "/learn");
    let first_cookie = set_cookie(&first, "kaibo_session").unwrap();

    // Logging in again from the same browser issues a new token and ends the old one.
    let second = app.login(&email, PASSWORD).await;
    let second_cookie = set_cookie(&second, "kaibo_session").unwrap();
    assert_ne!(first_cookie, second_cookie);
    let old_token = first_cookie.split(';').next().unwrap().to_string();
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/learn"))
        .header("cookie", &old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303, "old session no longer works");
    assert!(location(&replay).starts_with("/login"));

    assert_eq!(app.get("/learn").await.status(), 200);
    let logout = app.post_form("/logout", &[]).await;
    assert_eq!(logout.status(), 303);
    let cleared = set_cookie(&logout, "kaibo_session").unwrap();
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("expires="),
        "{cleared}"
    );
    let current_token = second_cookie.split(';').next().unwrap().to_string();
    let replay = new_client()
        .get(app.url("/learn"))
        .header("cookie", &current_token)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303, "logged-out session no longer works");
}

#[tokio::test]
async fn login_follows_a_local_next_but_not_an_external_one() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    let response = app.get("/profile").await;
    assert_eq!(location(&response), "/login?next=%2Fprofile");
    let token = app.csrf_with(&app.client).await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("next", "/profile"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/profile");

    let client = new_client();
    let token = app.csrf_with(&client).await;
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("next", "//evil.example/phish"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/learn");
}

#[tokio::test]
async fn sessions_expire_after_idle_and_absolute_timeouts() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    app.login(&email, PASSWORD).await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        app.get("/learn").await.status(),
        200,
        "29 idle minutes is fine"
    );
    app.clock.advance(chrono::Duration::minutes(31));
    let response = app.get("/learn").await;
    assert_eq!(response.status(), 303, "31 idle minutes is too many");
    assert!(
        set_cookie(&response, "kaibo_session").is_some(),
        "cookie cleared"
    );

    // Staying active does not extend a session beyond 12 hours.
    app.login(&email, PASSWORD).await;
    for _ in 0..35 {
        app.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(app.get("/learn").await.status(), 200);
    }
    app.clock.advance(chrono::Duration::minutes(25));
    assert_eq!(app.get("/learn").await.status(), 303, "absolute timeout");
}

#[tokio::test]
async fn timeouts_are_configurable() {
    let app = spawn_app_with(|raw| raw.session_idle_minutes = 5).await;
    let email = app.create_user(Role::Trainee);
    app.login(&email, PASSWORD).await;
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(app.get("/learn").await.status(), 303);
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Instructor);
    app.login(&email, PASSWORD).await;
    let other_device = new_client();
    app.login_with(&other_device, &email, PASSWORD).await;
    assert_eq!(
        app.get_with(&other_device, "/instructor").await.status(),
        200
    );

    let wrong = app
        .post_form(
            "/account/password",
            &[
                ("current", "not my password"),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("current password is not correct")
    );

    let ok = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(
        app.get("/instructor").await.status(),
        200,
        "this device stays in"
    );
    assert_eq!(
        app.get_with(&other_device, "/instructor").await.status(),
        303
    );
    let client = new_client();
    assert_eq!(
        app.login_with(&client, &email, PASSWORD).await.status(),
        401
    );
    assert_eq!(
        app.login_with(&client, &email, "a brand new passphrase")
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn language_follows_setting_then_cookie_then_accept_language() {
    let app = spawn_app().await;
    let zh = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(zh.contains("登录"));

    // The switcher wins over the header.
    let response = app
        .post_form("/lang", &[("lang", "en"), ("next", "/login")])
        .await;
    assert_eq!(location(&response), "/login");
    let en = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">"));

    // A logged-in user's own setting wins over both.
    let email = app.create_user(Role::Trainee);
    app.login(&email, PASSWORD).await;
    app.post_form("/lang", &[("lang", "zh-CN"), ("next", "/learn")])
        .await;
    let other = new_client();
    app.login_with(&other, &email, PASSWORD).await;
    let page = app.get_with(&other, "/learn").await.text().await.unwrap();
    assert!(page.contains("我的学习"), "{page}");

    let bad = app.post_form("/lang", &[("lang", "klingon")]).await;
    assert_eq!(bad.status(), 400);
}
