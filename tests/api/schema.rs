//! The SQLite and PostgreSQL migrations must build the same tables and columns.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use kaibo::db::{self, DatabaseUrl, DbConn};

use crate::helpers::*;

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

type Columns = BTreeSet<(String, String, bool)>;

fn sqlite_columns(conn: &mut DbConn) -> Columns {
    let DbConn::Sqlite(conn) = conn else {
        unreachable!()
    };
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null, p.pk AS pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND m.name <> '__diesel_schema_migrations'",
    )
    .load::<SqliteColumn>(conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name, c.not_null == 0 && c.pk == 0))
    .collect()
}

fn pg_columns(conn: &mut DbConn) -> Columns {
    let DbConn::Postgres(conn) = conn else {
        unreachable!()
    };
    diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name,
                is_nullable::text AS is_nullable
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<PgColumn>(conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name, c.is_nullable == "YES"))
    .collect()
}

#[test]
fn sqlite_and_postgres_schemas_match() {
    let Some(server) = postgres_url() else {
        eprintln!("SKIPPED schema comparison: set KAIBO_TEST_DATABASE_URL to a PostgreSQL server");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::build_pool(&DatabaseUrl::Sqlite(dir.path().join("kaibo.db")), 1).unwrap();
    db::run_migrations(&sqlite).unwrap();
    let (url, name) = create_postgres_database(&server);
    let postgres = db::build_pool(&DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
    db::run_migrations(&postgres).unwrap();

    let left = sqlite_columns(&mut sqlite.get().unwrap());
    let right = pg_columns(&mut postgres.get().unwrap());
    drop(postgres);
    drop_postgres_database(&server, &name);
    assert!(left.len() > 10, "schema read: {left:?}");
    let only_sqlite: Vec<_> = left.difference(&right).collect();
    let only_pg: Vec<_> = right.difference(&left).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
}
