//! The group-commit writer on the test database (SQLite, or PostgreSQL when
//! `KAIBO_TEST_DATABASE_URL` is set): jobs that fail inside a batch, with a refusal or
//! with a database error, leave nothing behind and do not take the batch's other jobs
//! with them. On PostgreSQL a database error aborts the transaction until the job's
//! savepoint is rolled back, and the batch's jobs share that savepoint's name.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use kaibo::db::writer::{self, Deferred, Writer};
use kaibo::db::{self, DatabaseUrl, DbConn};
use kaibo::error::AppError;

use crate::helpers::{create_postgres_database, drop_postgres_database, postgres_url};

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Stored,
    Refused,
    Failed,
}

/// A fresh test database (its own on PostgreSQL) with a `notes` table whose row 0 is
/// taken, and a writer on it.
struct Notes {
    _dir: tempfile::TempDir,
    /// The PostgreSQL server and the database made on it.
    postgres: Option<(String, String)>,
    url: DatabaseUrl,
    pool: db::Pool,
    writer: std::sync::Arc<Writer>,
}

impl Notes {
    fn new() -> Notes {
        let dir = tempfile::tempdir().unwrap();
        let mut postgres = None;
        let url = match postgres_url() {
            Some(server) => {
                let (url, name) = create_postgres_database(&server);
                postgres = Some((server, name));
                DatabaseUrl::Postgres(url)
            }
            None => DatabaseUrl::Sqlite(dir.path().join("kaibo.db")),
        };
        let pool = db::build_pool(&url, 4).unwrap();
        pool.get()
            .unwrap()
            .batch_execute(
                "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
                 INSERT INTO notes (id, body) VALUES (0, 'taken');",
            )
            .unwrap();
        let writer =
            std::sync::Arc::new(Writer::start(pool.clone(), url.backend(), Deferred::NONE));
        Notes {
            _dir: dir,
            postgres,
            url,
            pool,
            writer,
        }
    }

    /// The ids of the rows the jobs stored, in order.
    fn stored(&self) -> Vec<i64> {
        diesel::sql_query("SELECT id FROM notes WHERE id > 0 ORDER BY id")
            .load::<db::Id>(&mut self.pool.get().unwrap())
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    fn drop_database(self) {
        let Notes {
            postgres,
            pool,
            writer,
            ..
        } = self;
        drop(writer);
        drop(pool);
        if let Some((server, name)) = postgres {
            drop_postgres_database(&server, &name);
        }
    }
}

#[tokio::test]
async fn a_failed_job_leaves_nothing_and_its_batch_commits_the_others() {
    let notes = Notes::new();
    let writer = notes.writer.clone();

    // 120 jobs at once, so they share batches (and, on PostgreSQL, both writer threads):
    // every fifth inserts id 0 again after its own row (a unique violation), every other
    // third writes its row and then refuses, the rest store their row.
    let jobs = (1..=120i64).map(|n| {
        let writer = writer.clone();
        async move {
            let result = writer
                .write_deferring(vec![n % 7], move |conn: &mut DbConn| {
                    conn.batch_execute(&format!(
                        "INSERT INTO notes (id, body) VALUES ({n}, 'note {n}')"
                    ))?;
                    if n % 5 == 0 {
                        conn.batch_execute("INSERT INTO notes (id, body) VALUES (0, 'again')")?;
                    }
                    if n % 3 == 0 {
                        return Err(AppError::NotFound);
                    }
                    Ok::<(), AppError>(())
                })
                .await;
            let outcome = match result {
                Ok(()) => Outcome::Stored,
                Err(AppError::NotFound) => Outcome::Refused,
                Err(_) => Outcome::Failed,
            };
            (n, outcome)
        }
    });
    let outcomes = futures_util::future::join_all(jobs).await;

    for (n, outcome) in &outcomes {
        let expected = if n % 5 == 0 {
            Outcome::Failed
        } else if n % 3 == 0 {
            Outcome::Refused
        } else {
            Outcome::Stored
        };
        assert_eq!(outcome, &expected, "job {n}");
    }
    // Refused and failed jobs rolled back their own rows only.
    let expected: Vec<i64> = (1..=120).filter(|n| n % 5 != 0 && n % 3 != 0).collect();
    assert_eq!(notes.stored(), expected);
    notes.drop_database();
}

/// One lazy job (see `Writer::write_deferring_lazy`) of kind `kind` writing row `n`.
fn lazy_job(kind: u8, n: i64, conn: &mut DbConn) -> Result<(), AppError> {
    let insert = |conn: &mut DbConn, id: i64| {
        conn.batch_execute(&format!(
            "INSERT INTO notes (id, body) VALUES ({id}, 'note {n}')"
        ))
    };
    match kind {
        // Refuses after reading only.
        0 => {
            conn.batch_execute("SELECT 1")?;
            Err(AppError::NotFound)
        }
        // Writes in its savepoint, then refuses.
        1 => {
            writer::savepoint(conn)?;
            insert(conn, n)?;
            Err(AppError::NotFound)
        }
        // Writes in its savepoint, then fails a statement.
        2 => {
            writer::savepoint(conn)?;
            insert(conn, n)?;
            insert(conn, 0)?;
            Ok(())
        }
        // Writes without a savepoint and says so.
        3 => {
            insert(conn, n)?;
            writer::wrote_unguarded();
            Ok(())
        }
        // Writes without a savepoint, says so, and refuses all the same.
        4 => {
            insert(conn, n)?;
            writer::wrote_unguarded();
            Err(AppError::NotFound)
        }
        // Fails a statement without a savepoint.
        _ => {
            insert(conn, 0)?;
            Ok(())
        }
    }
}

fn lazy_outcome(result: Result<(), AppError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Stored,
        Err(AppError::NotFound) => Outcome::Refused,
        Err(_) => Outcome::Failed,
    }
}

#[tokio::test]
async fn lazy_jobs_commit_exactly_what_they_answered() {
    let notes = Notes::new();
    let (backend, writer) = (notes.url.backend(), notes.writer.clone());
    let is_refusal: fn(&AppError) -> bool = |e| matches!(e, AppError::NotFound);

    // One at a time, each job alone in its batch: every kind's answer is exact. On
    // PostgreSQL a job that wrote without a savepoint and then refused fails (its batch
    // cannot commit); on SQLite every job has its savepoint, so it is refused.
    let unguarded_refusal = match backend {
        db::Backend::Postgres => Outcome::Failed,
        db::Backend::Sqlite => Outcome::Refused,
    };
    let expected = [
        Outcome::Refused,
        Outcome::Refused,
        Outcome::Failed,
        Outcome::Stored,
        unguarded_refusal.clone(),
        Outcome::Failed,
    ];
    for (kind, expected) in expected.iter().enumerate() {
        let n = 1000 + kind as i64;
        let result = writer
            .write_deferring_lazy(vec![n], is_refusal, move |conn: &mut DbConn| {
                lazy_job(kind as u8, n, conn)
            })
            .await;
        assert_eq!(&lazy_outcome(result), expected, "kind {kind} alone");
    }

    // 120 at once, sharing batches: a batch that cannot commit fails all its jobs, so an
    // answer may turn into a failure, but every stored row is an answered success and
    // every answered success is stored.
    let jobs = (1..=120i64).map(|n| {
        let writer = writer.clone();
        async move {
            let kind = if n == 60 || n == 90 {
                (n / 30 + 2) as u8 // 4 and 5: the batch-failing kinds
            } else {
                (n % 4) as u8
            };
            let result = writer
                .write_deferring_lazy(vec![n % 7], is_refusal, move |conn: &mut DbConn| {
                    lazy_job(kind, n, conn)
                })
                .await;
            (n, kind, lazy_outcome(result))
        }
    });
    let outcomes = futures_util::future::join_all(jobs).await;
    let mut answered_stored = Vec::new();
    for (n, kind, outcome) in &outcomes {
        let own = match kind {
            0 | 1 => Outcome::Refused,
            2 | 5 => Outcome::Failed,
            3 => Outcome::Stored,
            _ => unguarded_refusal.clone(),
        };
        // On SQLite no batch fails: every job has its savepoint.
        let sqlite = backend == db::Backend::Sqlite;
        assert!(
            *outcome == own || (!sqlite && *outcome == Outcome::Failed),
            "job {n} (kind {kind}): {outcome:?}, expected {own:?} or a failed batch"
        );
        if *outcome == Outcome::Stored {
            answered_stored.push(*n);
        }
    }
    answered_stored.sort_unstable();
    let mut expected_rows = answered_stored.clone();
    expected_rows.push(1003); // the lone kind-3 job
    assert_eq!(notes.stored(), expected_rows);
    assert!(
        !answered_stored.is_empty(),
        "no job was stored: a failing job took down batches it was not in"
    );
    notes.drop_database();
}
