//! The database layer: one connection type over SQLite and PostgreSQL, a pool that
//! prepares each connection for its backend, embedded migrations, and the few helpers
//! where the two backends differ.

pub mod schema;
pub mod writer;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key for `pg_advisory_lock` so that instances starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6b6169626f; // "kaibo"

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection: for statements the
/// `MultiConnection` cannot express (upserts, `RETURNING` with [`Cached`]) and for hot
/// paths, where the `MultiConnection`'s extra layer of SQL building shows.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// A statement diesel would prepare again on every call (every UPDATE, every upsert,
/// every INSERT on PostgreSQL: their SQL could depend on the values) whose SQL is in fact
/// the same each time, such as the hot statements of an order placement. Wrapped, it is
/// kept in the connection's statement cache under its SQL text, so a different text is a
/// different entry and the cache is never wrong. Not for `eq_any` lists, whose text
/// changes with their length.
///
/// Run it with `get_result` or `load` (add `.returning(..)` to an UPDATE or INSERT):
/// those take the statement by value. `execute` takes it by reference, and diesel then
/// asks the statement inside, which says "do not cache".
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q> diesel::query_builder::QueryId for Cached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Cached<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}

/// The `id` a hand-written `INSERT ... RETURNING id` gives back.
#[derive(Debug, diesel::QueryableByName)]
pub struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
}

/// A bound parameter's placeholder on each backend: `?` on SQLite, `$n` (from 1) on
/// PostgreSQL.
pub trait Placeholders: diesel::backend::Backend {
    fn placeholder(n: usize) -> String;
}

impl Placeholders for diesel::sqlite::Sqlite {
    fn placeholder(_: usize) -> String {
        "?".into()
    }
}

impl Placeholders for diesel::pg::Pg {
    fn placeholder(n: usize) -> String {
        format!("${n}")
    }
}

/// `rows` comma-separated tuples of `width` placeholders, numbered from 1: the VALUES
/// list of a hand-written multi-row statement.
pub fn values_list(placeholder: fn(usize) -> String, width: usize, rows: usize) -> String {
    let mut n = 0;
    let tuples: Vec<String> = (0..rows)
        .map(|_| {
            let row: Vec<String> = (0..width)
                .map(|_| {
                    n += 1;
                    placeholder(n)
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect();
    tuples.join(", ")
}

/// A hand-written statement for `conn`'s backend, its SQL written by `sql` with that
/// backend's placeholders; bind its values next.
pub fn hand_query<'a, C>(
    _conn: &C,
    sql: impl FnOnce(fn(usize) -> String) -> String,
) -> HandQuery<'a, C::Backend>
where
    C: diesel::Connection,
    C::Backend: Placeholders,
{
    diesel::sql_query(sql(<C::Backend as Placeholders>::placeholder)).into_boxed()
}

/// `INSERT INTO table (columns) VALUES (..), .. tail` for `rows` rows: the multi-row
/// insert diesel cannot write for SQLite, or from borrowed rows. `tail` is its conflict
/// and `RETURNING` clauses, returning one column named `id`.
pub fn insert_many_sql<DB: Placeholders>(
    table: &str,
    columns: &[&str],
    rows: usize,
    tail: &str,
) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES {} {tail}",
        columns.join(", "),
        values_list(DB::placeholder, columns.len(), rows)
    )
}

/// A hand-written statement on backend `DB`, its values bound one by one.
pub type HandQuery<'a, DB> =
    diesel::query_builder::BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>;

/// A hand-written statement on SQLite.
pub type SqliteQuery<'a> = HandQuery<'a, diesel::sqlite::Sqlite>;

/// Bound parameters per statement, under SQLite's limit of 32,766 (PostgreSQL's is
/// 65,535).
const MAX_PARAMS: usize = 32_000;

/// Multi-row statements with up to this many rows stay prepared ([`Cached`]).
const MAX_CACHED_ROWS: usize = 64;

/// Multi-row inserts on a backend's own connection: use it inside [`on_backend!`], whose
/// arms then each bind with their backend's types.
pub trait InsertMany: diesel::Connection {
    /// Inserts `rows` into `table` with [`insert_many_sql`] statements (`tail` as there),
    /// `bind` binding each row's values in the order of `columns`, and returns the `id`s
    /// the statements returned, in no particular order. A hot path's row counts repeat,
    /// so a statement of up to [`MAX_CACHED_ROWS`] rows is kept prepared ([`Cached`]);
    /// rows beyond the limit of bound parameters go in further statements.
    fn insert_many<T>(
        &mut self,
        table: &str,
        columns: &[&str],
        tail: &str,
        rows: &[T],
        bind: impl for<'a> Fn(HandQuery<'a, Self::Backend>, &'a T) -> HandQuery<'a, Self::Backend>,
    ) -> QueryResult<Vec<i64>>;
}

macro_rules! insert_many_on {
    ($conn:ty, $backend:ty) => {
        impl InsertMany for $conn {
            fn insert_many<T>(
                &mut self,
                table: &str,
                columns: &[&str],
                tail: &str,
                rows: &[T],
                bind: impl for<'a> Fn(HandQuery<'a, $backend>, &'a T) -> HandQuery<'a, $backend>,
            ) -> QueryResult<Vec<i64>> {
                let mut ids = Vec::with_capacity(rows.len());
                for chunk in rows.chunks((MAX_PARAMS / columns.len().max(1)).max(1)) {
                    let sql = insert_many_sql::<$backend>(table, columns, chunk.len(), tail);
                    let mut query = diesel::sql_query(sql).into_boxed::<$backend>();
                    for row in chunk {
                        query = bind(query, row);
                    }
                    // Each row count is its own statement: keep the usual ones (a
                    // batch's worth) prepared, not every count that ever occurs.
                    let got: Vec<Id> = if chunk.len() <= MAX_CACHED_ROWS {
                        query.cached().load(self)?
                    } else {
                        query.load(self)?
                    };
                    ids.extend(got.into_iter().map(|r| r.id));
                }
                Ok(ids)
            }
        }
    };
}

insert_many_on!(SqliteConnection, diesel::sqlite::Sqlite);
insert_many_on!(PgConnection, diesel::pg::Pg);

/// `.cached()` on any statement: see [`Cached`].
pub trait CachedExt: Sized {
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<Q> CachedExt for Q {}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Where the data lives, parsed from `DATABASE_URL` (or the default SQLite file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("unknown scheme `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    #[error("no scheme: use sqlite://PATH or postgres://USER@HOST/DB")]
    NoScheme,
    #[error("the SQLite path is empty")]
    EmptySqlitePath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        let (scheme, rest) = raw.split_once("://").ok_or(DatabaseUrlError::NoScheme)?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                if rest.is_empty() {
                    return Err(DatabaseUrlError::EmptySqlitePath);
                }
                Ok(Self::Sqlite(PathBuf::from(rest)))
            }
            "postgres" | "postgresql" => Ok(Self::Postgres(raw.to_string())),
            other => Err(DatabaseUrlError::UnknownScheme(other.to_string())),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password masked, for logs and the console.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("****"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://(unparsable)".to_string(),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Hands out connections of the configured backend, each prepared for use:
/// SQLite connections get their pragmas here, once, when they are opened.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; NORMAL sync is durable in WAL
                // mode up to the last checkpointed commit; busy_timeout makes a writer wait
                // for the lock instead of failing with "database is locked". Savepoint
                // and statement journals stay in memory: every write job of a batch is a
                // savepoint, and a journal file would cost a write per page it touches.
                // No journal_size_limit: cutting the WAL file back when it starts over
                // stalled the writer for ~100 ms at a time under load (p99 105 ms against
                // 34 ms without; BENCHMARKS.md). Under sustained load the file then stays at
                // its high-water mark (~300 MB: the writer starts it over at 64,000 frames;
                // up to ~400 MB through the fallback when a restart keeps being missed).
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA busy_timeout = 10000;
                     PRAGMA foreign_keys = ON;
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Postgres)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection left inside a transaction (a panic mid-write) is not reused.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        fn open<C>(c: &mut C) -> bool
        where
            C: diesel::Connection<TransactionManager = AnsiTransactionManager>,
        {
            !matches!(
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
                Ok(None)
            )
        }
        match conn {
            DbConn::Sqlite(c) => open(c),
            DbConn::Postgres(c) => open(c),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Pool {
        url: String,
        source: r2d2::PoolError,
    },
    #[error("cannot connect to the database {url}: {source}")]
    Connect {
        url: String,
        source: r2d2::PoolError,
    },
    #[error("migrations failed: {0}")]
    Migrations(String),
}

/// Builds the pool. For SQLite the database file's directory is created first, and a
/// directory we cannot write to is reported as such rather than as a vague open error.
/// Whether a query failed because the database itself is out of reach or out of room
/// (a closed or refused connection, PostgreSQL shutting down, a full disk, an I/O error,
/// a lock held past the busy timeout) rather than because of the request: such failures
/// are answered with 503 and Retry-After, and clear once the database is back.
pub fn is_unavailable(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            [
                "database or disk is full",
                "disk i/o error",
                "database is locked",
                "unable to open database file",
                "terminating connection",
                "server closed the connection",
                "connection refused",
                "the database system is shutting down",
                "the database system is starting up",
                "no connection to the server",
                "could not connect",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        _ => false,
    }
}

pub fn build_pool(url: &DatabaseUrl, max_size: u32) -> Result<Pool, DbSetupError> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        let fail = |source| DbSetupError::DataDir {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        check_writable(dir).map_err(fail)?;
    }
    let manager = ConnectionManager { url: url.clone() };
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(5))
        // Connections are opened on demand, so a database that is down at a given moment
        // fails requests (503) instead of the process.
        .min_idle(Some(0))
        .build(manager)
        .map_err(|source| DbSetupError::Pool {
            url: url.redacted(),
            source,
        })
}

fn check_writable(dir: &std::path::Path) -> std::io::Result<()> {
    // A name of this process's own: two instances starting at once on one folder would
    // otherwise remove each other's probe.
    let probe = dir.join(format!(".kaibo-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(&probe)
}

/// Runs the pending migrations of the pool's backend. On PostgreSQL an advisory lock
/// keeps two instances that start at once from migrating at the same time.
pub fn run_migrations(pool: &Pool) -> Result<Vec<String>, DbSetupError> {
    let mut conn = pool.get().map_err(|source| DbSetupError::Connect {
        url: "(pool)".into(),
        source,
    })?;
    let applied = match &mut *conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| DbSetupError::Migrations(e.to_string()))?,
        DbConn::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .map_err(|e| DbSetupError::Migrations(e.to_string()))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                .map_err(|e| DbSetupError::Migrations(e.to_string()));
            let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c);
            result?
        }
    };
    Ok(applied)
}

/// A write transaction. On SQLite it begins with `BEGIN IMMEDIATE`, so the write lock is
/// taken up front and waits under `busy_timeout`; a deferred transaction that reads and
/// then writes could otherwise fail at once with "database is locked".
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Postgres(_) => conn.transaction(f),
        DbConn::Sqlite(inner) => {
            let nested = AnsiTransactionManager::transaction_manager_status_mut(inner)
                .transaction_depth()
                .ok()
                .flatten()
                .is_some();
            if nested {
                // The outer transaction holds the write lock already: use a savepoint.
                return conn.transaction(f);
            }
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    let DbConn::Sqlite(inner) = conn else {
                        unreachable!("the variant does not change inside a transaction")
                    };
                    AnsiTransactionManager::commit_transaction(inner)?;
                    Ok(value)
                }
                Err(err) => {
                    if let DbConn::Sqlite(inner) = conn {
                        AnsiTransactionManager::rollback_transaction(inner)?;
                    }
                    Err(err)
                }
            }
        }
    }
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// `SELECT 1` through the pool, for `/healthz`.
pub fn ping(pool: &Pool) -> Result<Backend, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    conn.batch_execute("SELECT 1").map_err(|e| e.to_string())?;
    Ok(conn.backend())
}

#[cfg(test)]
mod tests {
    use super::*;

    diesel::table! {
        counters (id) {
            id -> BigInt,
            n -> Integer,
        }
    }

    /// `.cargo/config.toml` builds the bundled SQLite with the query planner stability
    /// guarantee; without it a bound `LIMIT` re-prepares a statement on every call.
    #[test]
    fn sqlite_is_built_with_a_stable_query_planner() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let used: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "sqlite_compileoption_used('ENABLE_QPSG')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert!(
            used,
            "LIBSQLITE3_FLAGS from .cargo/config.toml did not reach the build"
        );
    }

    /// Each wrapped statement is prepared once and then served from the statement
    /// cache (an UPDATE unwrapped never is).
    #[test]
    fn cached_statements_are_prepared_once() {
        use std::sync::{Arc, Mutex};
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE counters (id BIGINT PRIMARY KEY NOT NULL, n INTEGER NOT NULL);
             INSERT INTO counters VALUES (1, 0);",
        )
        .unwrap();
        let cached: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = cached.clone();
        conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().unwrap().push(sql.to_string());
            }
        });
        for _ in 0..3 {
            let n: i32 = diesel::update(counters::table.filter(counters::id.eq(1)))
                .set(counters::n.eq(counters::n + 1))
                .returning(counters::n)
                .cached()
                .get_result(&mut conn)
                .unwrap();
            assert!(n > 0);
            diesel::update(counters::table.filter(counters::id.eq(1)))
                .set(counters::n.eq(counters::n + 1))
                .execute(&mut conn)
                .unwrap();
        }
        let n: i32 = counters::table
            .select(counters::n)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(n, 6);
        let cached = cached.lock().unwrap();
        assert_eq!(
            cached.iter().filter(|s| s.starts_with("UPDATE")).count(),
            1,
            "{cached:?}"
        );
    }

    #[test]
    fn database_urls_pick_their_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/kaibo.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("data/kaibo.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("mysql://u@h/db"),
            Err(DatabaseUrlError::UnknownScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("data/kaibo.db"),
            Err(DatabaseUrlError::NoScheme)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::EmptySqlitePath)
        );
    }

    #[test]
    fn redacts_passwords() {
        let url = DatabaseUrl::parse("postgres://kaibo:secret@db/kaibo").unwrap();
        assert!(!url.redacted().contains("secret"));
        assert!(url.redacted().contains("****"));
    }
}

#[cfg(test)]
mod unavailable_tests {
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn an_unreachable_or_full_database_is_unavailable_and_a_bad_request_is_not() {
        for (kind, message) in [
            (DatabaseErrorKind::ClosedConnection, "connection closed"),
            (
                DatabaseErrorKind::UnableToSendCommand,
                "SSL connection has been closed unexpectedly",
            ),
            (DatabaseErrorKind::Unknown, "database or disk is full"),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (DatabaseErrorKind::Unknown, "disk I/O error"),
        ] {
            assert!(super::is_unavailable(&db_error(kind, message)), "{message}");
        }
        for err in [
            db_error(
                DatabaseErrorKind::UniqueViolation,
                "UNIQUE constraint failed",
            ),
            db_error(DatabaseErrorKind::CheckViolation, "CHECK constraint failed"),
            Error::NotFound,
        ] {
            assert!(!super::is_unavailable(&err), "{err}");
        }
    }
}
