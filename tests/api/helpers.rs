//! Starts the real application on port 0 with a fresh database — a temporary SQLite file,
//! or a new PostgreSQL database when `KAIBO_TEST_DATABASE_URL` points at a server — and
//! talks to it over HTTP like a browser that keeps cookies.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::clock::ManualClock;
use kaibo::config::{RawSettings, Settings};
use kaibo::db::{self, DatabaseUrl, Pool};
use kaibo::startup::Application;
use rand::RngCore;

pub const PASSWORD: &str = "a long enough passphrase";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub pool: Pool,
    pub database_url: DatabaseUrl,
    pub data_dir: std::path::PathBuf,
    pub public_url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("KAIBO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates an empty PostgreSQL database and returns its URL and name.
pub fn create_postgres_database(server_url: &str) -> (String, String) {
    let name = format!("kaibo_test_{}", random_suffix());
    let mut conn = PgConnection::establish(server_url).expect("connect to test PostgreSQL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let mut url = url::Url::parse(server_url).expect("valid PostgreSQL URL");
    url.set_path(&name);
    (url.to_string(), name)
}

pub fn drop_postgres_database(server_url: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::establish(server_url) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut RawSettings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let mut raw = RawSettings {
        bind: "127.0.0.1:0".into(),
        data: dir.path().join("data"),
        database_url: postgres.as_ref().map(|(_, _, url)| url.clone()),
        pool_size: 4,
        workers: 1,
        hash_concurrency: 2,
        seed_demo: false,
        // Catalog tests ask for a small catalog; the others need none.
        demo_catalog_skus: 0,
        ..RawSettings::default()
    };
    customise(&mut raw);
    let settings = Settings::from_raw(raw).expect("valid test settings");
    let database_url = settings.database_url.clone();
    let data_dir = settings.data_dir.clone();
    let public_url = settings.public_url.clone();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap(),
    ));
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = db::build_pool(&database_url, 2).expect("test pool");
    TestApp {
        address,
        client: new_client(),
        clock,
        pool,
        database_url,
        data_dir,
        public_url,
        _dir: dir,
        postgres: postgres.map(|(server, name, _)| (server, name)),
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            drop_postgres_database(server, name);
        }
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html_with(&self, client: &reqwest::Client, path: &str) -> String {
        let response = self.get_with(client, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// A token valid for this client's current session (or anonymous visit).
    pub async fn csrf_with(&self, client: &reqwest::Client) -> String {
        let mut response = self.get_with(client, "/login").await;
        if response.status() == 303 {
            // Logged in: the login page sends us home; the profile page has forms too.
            response = self.get_with(client, "/profile").await;
        }
        csrf_token(&response.text().await.unwrap())
    }

    /// POSTs a form with a valid CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(&self.client, path, fields).await
    }

    pub async fn post_form_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_with(client).await;
        let mut body: Vec<(&str, &str)> = vec![("csrf", &token)];
        body.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&body)
            .send()
            .await
            .expect("POST")
    }

    /// Registers with a fresh client's own session, so the client is logged in after.
    pub async fn register_with_name(
        &self,
        client: &reqwest::Client,
        email: &str,
        name: &str,
    ) -> reqwest::Response {
        self.post_form_with(
            client,
            "/register",
            &[
                ("email", email),
                ("display_name", name),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await
    }

    pub fn settings_public_url(&self) -> String {
        self.public_url.clone()
    }

    pub async fn register(&self, email: &str, name: &str) -> reqwest::Response {
        self.post_form(
            "/register",
            &[
                ("email", email),
                ("display_name", name),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.login_with(&self.client, email, password).await
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post_form_with(
            client,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Creates an account directly in the database, as `kaibo user create` would.
    pub fn create_user(&self, role: Role) -> String {
        let email = format!("{}-{}@example.com", role.as_str(), random_suffix());
        let hash = hashing::hash_now(PASSWORD).unwrap();
        let mut conn = self.pool.get().unwrap();
        users::create(
            &mut conn,
            &Email::parse(&email).unwrap(),
            &hash,
            role,
            &DisplayName::parse("Test Person").unwrap(),
            None,
            Utc::now().naive_utc(),
        )
        .unwrap();
        email
    }

    /// A fresh client logged in with a new account of `role`.
    pub async fn logged_in_as(&self, role: Role) -> reqwest::Client {
        let email = self.create_user(role);
        let client = new_client();
        let response = self.login_with(&client, &email, PASSWORD).await;
        assert_eq!(response.status(), 303, "login as {}", role.as_str());
        client
    }

    /// The app's clock, as stored timestamps read it.
    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        use kaibo::clock::Clock;
        self.clock.now().naive_utc()
    }

    pub fn user_count(&self) -> i64 {
        users::count(&mut self.pool.get().unwrap()).unwrap()
    }

    pub fn stored_hash(&self, email: &str) -> String {
        users::find_by_email(&mut self.pool.get().unwrap(), &Email::parse(email).unwrap())
            .unwrap()
            .expect("user exists")
            .password_hash
    }
}

/// The value of a cookie set by a response.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}
