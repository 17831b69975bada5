//! Builds the application: settings -> database (pool, migrations, secrets, demo data)
//! -> routes -> a server bound to its listener. Binding first lets tests use port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use diesel::prelude::*;
use rand::RngCore;
use tracing_actix_web::TracingLogger;

use crate::accounts::demo::{self, DemoAccount};
use crate::accounts::hashing::PasswordHasher;
use crate::accounts::sessions::{self, Timeouts};
use crate::accounts::throttle::LoginThrottle;
use crate::catalog::{
    self,
    index::{CatalogIndex, SharedIndex},
};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::courses::store::{self, CourseStore};
use crate::db::schema::app_secrets;
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::web::{AppState, csrf, error_pages, security_headers, session};

pub struct Application {
    port: u16,
    server: Server,
    /// Kept alive for as long as the server runs.
    _watcher: Option<notify::RecommendedWatcher>,
    /// Demo accounts created by this start, to print once.
    pub demo_accounts: Vec<DemoAccount>,
}

/// Opens the database and brings it up to date; shared by `serve`, `migrate` and `user`.
pub fn open_database(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::build_pool(&settings.database_url, settings.pool_size)?;
    let applied = db::run_migrations(&pool)?;
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(pool)
}

/// A secret shared by every instance on the same database, created by the first one.
fn shared_secret(conn: &mut DbConn, name: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    // Two instances may race here; the loser's insert fails on the primary key and it
    // reads the winner's value.
    let _ = diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq(name),
            app_secrets::value.eq(hex::encode(bytes)),
        ))
        .execute(conn);
    Ok(app_secrets::table
        .find(name)
        .select(app_secrets::value)
        .first(conn)?)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let setup_settings = settings.clone();
        let now = clock.now();
        let (pool, key, demo_accounts, catalog) = web::block(move || -> anyhow::Result<_> {
            let pool = open_database(&setup_settings)?;
            let mut conn = pool.get()?;
            let key = shared_secret(&mut conn, "csrf")?;
            let demo_accounts = if setup_settings.seed_demo {
                demo::seed(&mut conn, now)?
            } else {
                Vec::new()
            };
            let started = std::time::Instant::now();
            if let Some(done) = catalog::seed::seed_demo(
                &mut conn,
                setup_settings.demo_catalog_skus,
                now.naive_utc(),
            )? {
                tracing::info!(
                    skus = done.skus,
                    products = done.products,
                    suppliers = done.suppliers,
                    seconds = started.elapsed().as_secs_f64(),
                    "seeded the demo catalog"
                );
            }
            let catalog = CatalogIndex::build(catalog::model::load_index_rows(&mut conn)?);
            tracing::info!(
                products = catalog.len(),
                version = catalog.version,
                seconds = started.elapsed().as_secs_f64(),
                "catalog loaded"
            );
            Ok((pool, key, demo_accounts, catalog))
        })
        .await??;

        let courses_dir = settings.courses_dir.clone();
        let courses = Arc::new(web::block(move || CourseStore::load(&courses_dir)).await?);
        let watcher = if settings.watch {
            Some(store::watch(courses.clone())?)
        } else {
            None
        };
        let state = web::Data::new(AppState {
            pool,
            settings: settings.clone(),
            clock,
            hasher: PasswordHasher::new(settings.hash_concurrency),
            throttle: LoginThrottle::new(
                settings.login_attempts_per_account,
                settings.login_attempts_per_address,
            ),
            csrf: csrf::CsrfKey::from_hex(&key)?,
            courses,
            catalog: Arc::new(SharedIndex::new(catalog)),
        });

        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let tls = settings.secure_cookies;
        let server_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(web::PayloadConfig::new(csrf::FORM_LIMIT))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    AppError::bad_request("errors.bad_query", err.to_string()).into()
                }))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .wrap(from_fn(session::load_context))
                .wrap(error_pages::middleware())
                .wrap(security_headers::middleware(tls))
                .wrap(Compress::default())
                .wrap(TracingLogger::default())
                .configure(crate::router::routes)
                .default_service(web::to(|| async { Err::<String, _>(AppError::NotFound) }))
        })
        .listen(listener)?
        .shutdown_timeout(30);
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = server.run();
        spawn_catalog_refresh(state.clone());
        spawn_housekeeping(state);
        Ok(Self {
            port,
            server,
            _watcher: watcher,
            demo_accounts,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGINT/SIGTERM, then stops accepting and lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Instances share the database, not memory: each one checks the catalog's version
/// now and then and rebuilds its index when another instance changed it.
fn spawn_catalog_refresh(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(state.settings.catalog_refresh);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            if let Err(e) = state.refresh_catalog().await {
                tracing::warn!(error = %e, "catalog refresh failed");
            }
        }
    });
}

/// Every ten minutes: drop expired sessions and forget recovered throttle keys.
fn spawn_housekeeping(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(600));
        loop {
            interval.tick().await;
            state.throttle.shrink();
            let now = state.now();
            let timeouts = Timeouts {
                idle: state.settings.session_idle,
                absolute: state.settings.session_absolute,
            };
            match state
                .db(move |conn| Ok(sessions::purge_expired(conn, now, timeouts)?))
                .await
            {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "purged expired sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
        }
    });
}
