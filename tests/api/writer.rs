//! The group-commit writer on the test database (SQLite, or PostgreSQL when
//! `KAIBO_TEST_DATABASE_URL` is set): jobs that fail inside a batch, with a refusal or
//! with a database error, leave nothing behind and do not take the batch's other jobs
//! with them. On PostgreSQL a database error aborts the transaction until the job's
//! savepoint is rolled back, and the batch's jobs share that savepoint's name.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use kaibo::db::writer::{Deferred, Writer};
use kaibo::db::{self, DatabaseUrl, DbConn};
use kaibo::error::AppError;

use crate::helpers::{create_postgres_database, drop_postgres_database, postgres_url};

#[derive(Debug, PartialEq)]
enum Outcome {
    Stored,
    Refused,
    Failed,
}

#[tokio::test]
async fn a_failed_job_leaves_nothing_and_its_batch_commits_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let url = match &postgres {
        Some((_, _, u)) => DatabaseUrl::Postgres(u.clone()),
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
    let writer = std::sync::Arc::new(Writer::start(pool.clone(), url.backend(), Deferred::NONE));

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
    let mut conn = pool.get().unwrap();
    let stored: Vec<i64> = diesel::sql_query("SELECT id FROM notes WHERE id > 0 ORDER BY id")
        .load::<db::Id>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let expected: Vec<i64> = (1..=120).filter(|n| n % 5 != 0 && n % 3 != 0).collect();
    assert_eq!(stored, expected);
    drop(conn);
    drop(pool);
    if let Some((server, name, _)) = postgres {
        drop_postgres_database(&server, &name);
    }
}
