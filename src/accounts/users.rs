//! Account records and the queries on them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::domain::{DisplayName, Email, Role};
use crate::db::DbConn;
use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub display_name: String,
    pub locale: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    /// Roles are constrained by the schema, so an unknown one is a corrupt row; it is
    /// treated as the least privileged role rather than failing the request.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Trainee)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

pub fn create(
    conn: &mut DbConn,
    email: &Email,
    password_hash: &str,
    role: Role,
    display_name: &DisplayName,
    locale: Option<&str>,
    now: NaiveDateTime,
) -> Result<User, CreateUserError> {
    let inserted = diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_str()),
            users::password_hash.eq(password_hash),
            users::role.eq(role.as_str()),
            users::display_name.eq(display_name.as_str()),
            users::locale.eq(locale),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {
            find_by_email(conn, email)?.ok_or(CreateUserError::Database(DieselError::NotFound))
        }
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(CreateUserError::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn set_password_hash(
    conn: &mut DbConn,
    user_id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn set_locale(conn: &mut DbConn, user_id: i64, locale: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set(users::locale.eq(locale))
        .execute(conn)
}

pub fn set_name_and_locale(
    conn: &mut DbConn,
    user_id: i64,
    name: &DisplayName,
    locale: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((
            users::display_name.eq(name.as_str()),
            users::locale.eq(locale),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}
