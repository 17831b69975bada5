//! Walks every route with every role, and with no login, and checks the answer.

use kaibo::accounts::domain::Role;

use crate::helpers::*;

#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Pages for visitors (login, register): logged-in users are sent home.
    Visitor,
    /// Any logged-in role.
    AnyUser,
    /// Only this role.
    Only(Role),
    /// Only these roles.
    Roles(&'static [Role]),
    /// A trainee's sandbox step, locked for a new account: 403 for everyone logged in
    /// (the trainee's page explains what opens it).
    TraineeStep,
}

const GET_ROUTES: &[(&str, Access)] = &[
    ("/", Access::Visitor),
    ("/login", Access::Visitor),
    ("/register", Access::Visitor),
    ("/healthz", Access::Public),
    // Loopback (as here) or a token, whatever the role: see tests/api/metrics.rs.
    ("/metrics", Access::Public),
    ("/static/kaibo.css", Access::Public),
    ("/home", Access::AnyUser),
    ("/profile", Access::AnyUser),
    ("/account/password", Access::AnyUser),
    ("/learn", Access::Only(Role::Trainee)),
    ("/instructor", Access::Only(Role::Instructor)),
    ("/supplier", Access::Only(Role::Supplier)),
    ("/admin", Access::Only(Role::Admin)),
    ("/courses", Access::Only(Role::Trainee)),
    ("/courses/first-live-sale", Access::Only(Role::Trainee)),
    (
        "/courses/first-live-sale/what-is-live-commerce/the-live-room",
        Access::Only(Role::Trainee),
    ),
    (
        "/courses/first-live-sale/what-is-live-commerce/quiz",
        Access::Only(Role::Trainee),
    ),
    (
        "/courses/first-live-sale/assets/order-flow.svg",
        Access::AnyUser,
    ),
    (
        "/instructor/courses",
        Access::Roles(&[Role::Instructor, Role::Admin]),
    ),
    (
        "/instructor/courses/first-live-sale",
        Access::Roles(&[Role::Instructor, Role::Admin]),
    ),
    ("/review", Access::Only(Role::Trainee)),
    (
        "/instructor/courses/first-live-sale/progress",
        Access::Roles(STAFF),
    ),
    (
        "/instructor/courses/first-live-sale/quizzes/what-is-live-commerce",
        Access::Roles(STAFF),
    ),
    ("/instructor/groups", Access::Roles(STAFF)),
    ("/instructor/export", Access::Roles(STAFF)),
    (
        "/instructor/export/attempts.csv?course=first-live-sale",
        Access::Roles(STAFF),
    ),
    (
        "/instructor/export/progress.csv?course=first-live-sale",
        Access::Roles(STAFF),
    ),
    (
        "/instructor/export/xapi.json?course=first-live-sale",
        Access::Roles(STAFF),
    ),
    ("/selection", Access::TraineeStep),
    ("/selection/products/1", Access::TraineeStep),
    ("/showcase", Access::TraineeStep),
    ("/instructor/showcases", Access::Roles(STAFF)),
    ("/desk/orders", Access::Only(Role::Trainee)),
    ("/desk/cases", Access::Only(Role::Trainee)),
    ("/studio", Access::TraineeStep),
    ("/graduation", Access::Only(Role::Trainee)),
    (
        "/instructor/shows",
        Access::Roles(&[Role::Instructor, Role::Admin]),
    ),
    ("/supplier/orders", Access::Only(Role::Supplier)),
    ("/supplier/returns", Access::Only(Role::Supplier)),
    ("/supplier/api-keys", Access::Only(Role::Supplier)),
    ("/supplier/catalog", Access::Only(Role::Supplier)),
];

const STAFF: &[Role] = &[Role::Instructor, Role::Admin];

pub(crate) const POST_ROUTES: &[&str] = &[
    "/register",
    "/login",
    "/logout",
    "/account/password",
    "/profile",
    "/lang",
    "/courses/first-live-sale/what-is-live-commerce/the-live-room/complete",
    "/courses/first-live-sale/what-is-live-commerce/quiz",
    "/review",
    "/instructor/groups",
    "/showcase/items",
    "/showcase/items/1",
    "/showcase/items/1/remove",
    "/supplier/catalog/profile",
    "/supplier/catalog/upload",
    "/desk/orders/KAAAAAAAAAA/cancel",
    "/desk/cases/1/notes",
    "/supplier/orders/1/acknowledge",
    "/supplier/orders/1/reject",
    "/supplier/orders/1/ship",
    "/supplier/orders/1/deliver",
    "/supplier/returns/1/approve",
    "/supplier/returns/1/reject",
    "/supplier/returns/1/receive",
    "/supplier/api-keys",
    "/supplier/api-keys/1/revoke",
    "/shop/some-shop-abcd/cart",
    "/shop/some-shop-abcd/cart/update",
    "/shop/some-shop-abcd/cart/remove",
    "/shop/some-shop-abcd/checkout",
    "/orders/AAAAAAAAAAAAAAAAAAAAAAAA/cases",
    "/orders/AAAAAAAAAAAAAAAAAAAAAAAA/cases/1/ship-back",
    "/studio/shows",
    "/studio/shows/1/pin",
    "/studio/shows/1/deal",
    "/studio/shows/1/answer",
    "/studio/shows/1/end",
    "/studio/shows/1/fast-forward",
    "/graduation/first-live-sale",
    "/desk/cases/1/approve",
    "/desk/cases/1/reject",
];

fn expected_get(access: Access, role: Option<Role>) -> u16 {
    match (access, role) {
        (Access::Public, _) => 200,
        (Access::Visitor, None) => 200,
        (Access::Visitor, Some(_)) => 303,
        (Access::AnyUser, None) | (Access::Only(_), None) | (Access::Roles(_), None) => 303,
        (Access::AnyUser, Some(_)) => 200,
        (Access::Only(wanted), Some(role)) if wanted == role => 200,
        (Access::Only(_), Some(_)) => 403,
        (Access::Roles(allowed), Some(role)) if allowed.contains(&role) => 200,
        (Access::Roles(_), Some(_)) => 403,
        (Access::TraineeStep, None) => 303,
        (Access::TraineeStep, Some(_)) => 403,
    }
}

#[tokio::test]
async fn every_get_route_answers_every_role_correctly() {
    let app = spawn_app().await;
    let mut clients = vec![(None, new_client())];
    for role in Role::ALL {
        clients.push((Some(role), app.logged_in_as(role).await));
    }
    let mut wrong = Vec::new();
    for (path, access) in GET_ROUTES {
        for (role, client) in &clients {
            let response = app.get_with(client, path).await;
            let mut expected = expected_get(*access, *role);
            if *path == "/home" && role.is_some() {
                expected = 303; // /home sends each role to its own page
            }
            let status = response.status().as_u16();
            if status != expected {
                wrong.push(format!(
                    "GET {path} as {role:?}: {status}, expected {expected}"
                ));
            }
            if status == 303 && role.is_none() && !matches!(access, Access::Visitor) {
                assert!(location(&response).starts_with("/login?next="));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn every_post_route_refuses_a_missing_csrf_token_for_every_role() {
    let app = spawn_app().await;
    let mut clients = vec![(None, new_client())];
    for role in Role::ALL {
        clients.push((Some(role), app.logged_in_as(role).await));
    }
    for path in POST_ROUTES {
        for (role, client) in &clients {
            // Visit a page first so the client has a visitor cookie, as a browser would.
            app.get_with(client, "/login").await;
            let response = client
                .post(app.url(path))
                .form(&[("display_name", "x"), ("lang", "en")])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "POST {path} as {role:?}");
        }
    }
}

#[tokio::test]
async fn account_pages_send_visitors_to_login_even_with_a_valid_token() {
    let app = spawn_app().await;
    for path in ["/profile", "/account/password"] {
        let response = app.post_form(path, &[("display_name", "x")]).await;
        assert_eq!(response.status(), 303, "{path}");
        assert!(location(&response).starts_with("/login"));
    }
}

#[tokio::test]
async fn a_user_sees_only_their_own_profile() {
    // The profile has no id in its URL: it is always the session's own account, so
    // there is nothing to change to reach another trainee's profile.
    let app = spawn_app().await;
    app.register("first@example.com", "First Trainee").await;
    let second = new_client();
    let token = app.csrf_with(&second).await;
    second
        .post(app.url("/register"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "second@example.com"),
            ("display_name", "Second Trainee"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let page = app.get_html("/profile?user_id=2&id=2").await;
    assert!(page.contains("First Trainee"));
    assert!(!page.contains("Second Trainee"));
}

#[tokio::test]
async fn staff_cannot_post_trainee_progress_even_with_a_valid_token() {
    let app = spawn_app().await;
    for role in [Role::Instructor, Role::Supplier, Role::Admin] {
        let client = app.logged_in_as(role).await;
        for path in [
            "/courses/first-live-sale/what-is-live-commerce/the-live-room/complete",
            "/courses/first-live-sale/what-is-live-commerce/quiz",
        ] {
            let response = app
                .post_form_with(&client, path, &[("q-who-ships-orders", "a")])
                .await;
            assert_eq!(response.status(), 403, "POST {path} as {role:?}");
        }
    }
}

/// GET routes outside the role walk above: each is reached through an id, handle, token
/// or code that belongs to someone, and the named test checks that the wrong owner (or a
/// guess) is refused.
const OWNED_GET: &[(&str, &str)] = &[
    (
        "/api/orders/{token}",
        "bad_orders_get_clear_answers_and_write_nothing",
    ),
    (
        "/certificates/{code}",
        "other_people_cannot_see_or_act_on_a_show",
    ),
    (
        "/courses/{course}/{module}/quiz/attempts/{number}",
        "another_trainee_cannot_read_my_attempt",
    ),
    (
        "/desk/orders/{reference}",
        "nobody_else_reads_or_touches_a_shops_orders",
    ),
    (
        "/instructor/courses/{course}/trainees/{user}",
        "trainees_are_refused_instructor_pages_and_drill_downs",
    ),
    (
        "/orders/{token}",
        "unknown_handles_tokens_and_products_are_404",
    ),
    (
        "/review/answers/{id}",
        "another_trainee_cannot_open_my_review_answer",
    ),
    (
        "/shop/{handle}",
        "a_sandbox_shop_is_404_for_everyone_but_its_owner",
    ),
    (
        "/shop/{handle}/cart",
        "a_sandbox_shop_is_404_for_everyone_but_its_owner",
    ),
    (
        "/shop/{handle}/checkout",
        "a_sandbox_shop_is_404_for_everyone_but_its_owner",
    ),
    (
        "/shop/{handle}/products/{id}",
        "a_sandbox_shop_is_404_for_everyone_but_its_owner",
    ),
    (
        "/studio/shows/{id}",
        "other_people_cannot_see_or_act_on_a_show",
    ),
    (
        "/studio/shows/{id}/events",
        "other_people_cannot_see_or_act_on_a_show",
    ),
    (
        "/studio/shows/{id}/feed",
        "other_people_cannot_see_or_act_on_a_show",
    ),
    (
        "/studio/shows/{id}/report",
        "other_people_cannot_see_or_act_on_a_show",
    ),
    (
        "/supplier/orders/{id}",
        "another_supplier_cannot_see_or_touch_the_order",
    ),
    (
        "/supplier/catalog/export.csv",
        "each_supplier_sees_only_its_own_catalog",
    ),
];

/// The JSON APIs authenticate by bearer key or order token, not by session and role:
/// their refusals are tested in `supplier_api.rs` and `orders.rs`, their malformed input
/// in `fuzz_inputs.rs`.
const API_FILES: &[&str] = &["src/suppliers/api.rs", "src/shop/api.rs"];

/// Every `(method, pattern)` the source registers, read from `src/` (whitespace removed,
/// so a route split over lines is found too).
fn registered_routes() -> Vec<(String, String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let route =
        regex_lite::Regex::new(r#"\.route\("([^"]+)",web::(get|post|put|patch|delete)\(\)"#)
            .unwrap();
    let resource = regex_lite::Regex::new(r#"web::resource\("([^"]+)"\)((?:\.[a-z_]+\((?:[^()]|\([^()]*(?:\([^()]*\))?[^()]*\))*\))+)"#).unwrap();
    let method = regex_lite::Regex::new(r"web::(get|post|put|patch|delete)\(\)").unwrap();
    let mut out = Vec::new();
    for file in files {
        let name = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for c in route.captures_iter(&text) {
            out.push((c[2].to_string(), c[1].to_string(), name.clone()));
        }
        for c in resource.captures_iter(&text) {
            for m in method.captures_iter(&c[2]) {
                out.push((m[1].to_string(), c[1].to_string(), name.clone()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn pattern_matches(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let mut re = String::from("^");
    for part in pattern.split('/').skip(1) {
        re.push('/');
        if part.starts_with('{') && part.contains(":.*") {
            re.push_str(".*");
        } else if part.starts_with('{') {
            re.push_str("[^/]+");
        } else {
            re.push_str(&regex_lite::escape(part));
        }
    }
    re.push('$');
    regex_lite::Regex::new(&re).unwrap().is_match(path)
}

/// The matrices above must cover every route there is: a new route that is in neither
/// list (nor an API with its own tests) fails here until it is added with its access.
#[test]
fn every_registered_route_is_in_the_role_or_owner_matrix() {
    let routes = registered_routes();
    assert!(
        routes.len() > 80,
        "the source scan finds the routes: {routes:?}"
    );
    let tests: String = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for (_, test) in OWNED_GET {
        assert!(
            tests.contains(&format!("async fn {test}(")),
            "the owner test {test} exists"
        );
    }
    let mut missing = Vec::new();
    for (method, pattern, file) in &routes {
        if API_FILES.contains(&file.as_str()) {
            continue;
        }
        let covered = match method.as_str() {
            "get" => {
                GET_ROUTES.iter().any(|(p, _)| pattern_matches(pattern, p))
                    || OWNED_GET.iter().any(|(p, _)| p == pattern)
            }
            "post" => POST_ROUTES.iter().any(|p| pattern_matches(pattern, p)),
            _ => false,
        };
        if !covered {
            missing.push(format!("{} {pattern} ({file})", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the matrices: {missing:#?}"
    );
}
