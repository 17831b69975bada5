use kaibo::accounts::domain::Role;

use crate::helpers::*;

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.get("/register").await;
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[
            ("email", "csrf@example.com"),
            ("display_name", "No Token"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The form has expired")
    );
    assert_eq!(app.user_count(), 0);
}

#[tokio::test]
async fn a_forged_or_foreign_csrf_token_is_refused() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    app.login(&email, PASSWORD).await;
    // A token that belongs to another visitor's session does not work here.
    let attacker = new_client();
    let foreign = app.csrf_with(&attacker).await;
    for token in [foreign.as_str(), "forged", ""] {
        let response = app
            .client
            .post(app.url("/profile"))
            .form(&[("csrf", token), ("display_name", "Hacked")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "token {token:?}");
    }
    assert!(
        app.get_html("/profile")
            .await
            .contains("value=\"Test Person\"")
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() {
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    for attempt in 1..=5 {
        let response = app.login(&email, "wrong password again").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let response = app.login(&email, "wrong password again").await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert!(response.text().await.unwrap().contains("Too many attempts"));
    // Even the right password is refused until the wait is over.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_throttled() {
    let app = spawn_app_with(|raw| raw.login_attempts_per_address = 3).await;
    for i in 0..3 {
        let response = app.login(&format!("user{i}@example.com"), PASSWORD).await;
        assert_eq!(response.status(), 401);
    }
    let response = app.login("user9@example.com", PASSWORD).await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/login",
        "/no/such/page",
        "/healthz",
        "/static/kaibo.css",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/register"] {
        let html = app.get_html(path).await;
        assert!(!html.contains("<script"), "{path}");
        assert!(!html.contains(" onclick="), "{path}");
    }
}

#[tokio::test]
async fn secure_cookies_when_configured_for_tls() {
    let app = spawn_app_with(|raw| raw.secure_cookies = true).await;
    let response = app.get("/login").await;
    let cookie = set_cookie(&response, "kaibo_anon").unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(response.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn a_forged_session_cookie_is_treated_as_logged_out() {
    let app = spawn_app().await;
    for forged in [
        "kaibo_session=0000000000000000000000000000000000000000000000000000000000000000",
        "kaibo_session=not-even-hex",
        "kaibo_session=%00%ff",
    ] {
        let response = new_client()
            .get(app.url("/learn"))
            .header("cookie", forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{forged}");
        assert!(location(&response).starts_with("/login"));
        let cleared = set_cookie(&response, "kaibo_session").expect("cookie cleared");
        assert!(cleared.contains("Max-Age=0") || cleared.contains("expires="));
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_form_gets_a_clear_400() {
    let app = spawn_app().await;
    let token = app.csrf_with(&app.client).await;
    let body = format!("csrf={token}&email=a%40b.com&display_name=%FF%FE&password=x");
    let response = app
        .client
        .post(app.url("/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("unreadable text"), "{html}");
    assert!(html.contains("display_name"));
    assert_eq!(app.user_count(), 0);
}

#[tokio::test]
async fn duplicate_or_garbage_fields_get_a_clear_400() {
    let app = spawn_app().await;
    let token = app.csrf_with(&app.client).await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={token}&email=a%40b.com&email=c%40d.com&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The form could not be read")
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn_app().await;
    let token = app.csrf_with(&app.client).await;
    let huge = "x".repeat(200 * 1024);
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[("csrf", token.as_str()), ("display_name", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("Too much data"));
}

#[tokio::test]
async fn overlong_fields_are_capped_not_stored() {
    let app = spawn_app().await;
    let long_email = format!("{}@example.com", "a".repeat(5000));
    let response = app
        .post_form(
            "/register",
            &[
                ("email", &long_email),
                ("display_name", "Long"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("too long"), "{html}");
    assert!(html.len() < 20_000, "the echoed value is capped");
}

#[tokio::test]
async fn unknown_routes_get_a_friendly_404_without_internals() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/no/such/page?x=%00"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("页面不存在"), "{html}");
    assert!(!html.contains("actix"));
}

#[tokio::test]
async fn a_wrong_method_gets_a_friendly_page() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.text().await.unwrap().contains("Not possible here"));
}

#[tokio::test]
async fn static_files_are_cached_and_compressed() {
    let app = spawn_app().await;
    let html = app.get_html("/login").await;
    let start = html.find("/static/kaibo.css?v=").unwrap();
    let end = html[start..].find('"').unwrap() + start;
    let response = app
        .client
        .get(app.url(&html[start..end]))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(app.url("/static/kaibo.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
    assert_eq!(app.get("/static/%2e%2e%2fCargo.toml").await.status(), 404);
}

#[tokio::test]
async fn healthz_checks_the_database() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = if postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected);
}
