//! Supplier API keys: `kbs_<prefix>_<secret>`. The prefix (8 random lower-case letters
//! and digits) finds the row and is shown in the portal; the secret (32 random base64url
//! characters, 192 bits) is shown once at creation and only its hash is stored.
//!
//! The hash is a plain SHA-256: the secret is random and long, so there is nothing to
//! guess from its hash and no need for a slow password hash (which would make every API
//! call pay for Argon2). The stored hash is compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::accounts::domain::is_printable_text;
use crate::db::DbConn;
use crate::db::schema::supplier_api_keys;

pub const PREFIX_LEN: usize = 8;
pub const SECRET_LEN: usize = 32;
/// At most this many keys, revoked ones included, per supplier.
pub const MAX_KEYS: i64 = 50;

const PREFIX_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = supplier_api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub supplier_id: i64,
    pub prefix: String,
    pub secret_hash: String,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A new key: the full token, shown once, and the stored row.
pub struct NewKey {
    pub token: String,
    pub key: ApiKey,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

use crate::web::csrf::constant_time_eq as same;

/// Splits `kbs_<prefix>_<secret>` into its parts, or `None` for anything else.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("kbs_")?;
    if rest.len() != PREFIX_LEN + 1 + SECRET_LEN || !rest.is_char_boundary(PREFIX_LEN) {
        return None;
    }
    let (prefix, rest) = rest.split_at(PREFIX_LEN);
    let secret = rest.strip_prefix('_')?;
    let prefix_ok = prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b));
    let secret_ok = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some((prefix, secret))
}

/// A label of 1 to 60 printable characters.
pub fn parse_label(raw: &str) -> Option<String> {
    let label = raw.trim();
    let n = label.chars().count();
    ((1..=60).contains(&n) && is_printable_text(label)).then(|| label.to_string())
}

fn new_prefix() -> String {
    let mut rng = rand::rng();
    (0..PREFIX_LEN)
        .map(|_| PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())] as char)
        .collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_LEN * 3 / 4];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn list(conn: &mut DbConn, supplier_id: i64) -> QueryResult<Vec<ApiKey>> {
    supplier_api_keys::table
        .filter(supplier_api_keys::supplier_id.eq(supplier_id))
        .order(supplier_api_keys::id.desc())
        .select(ApiKey::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConn, supplier_id: i64) -> QueryResult<i64> {
    supplier_api_keys::table
        .filter(supplier_api_keys::supplier_id.eq(supplier_id))
        .count()
        .get_result(conn)
}

/// Creates a key; a prefix that happens to be taken is drawn again.
pub fn create(
    conn: &mut DbConn,
    supplier_id: i64,
    label: &str,
    now: NaiveDateTime,
) -> QueryResult<NewKey> {
    let secret = new_secret();
    let mut last_err = None;
    for _ in 0..5 {
        let prefix = new_prefix();
        let inserted = diesel::insert_into(supplier_api_keys::table)
            .values((
                supplier_api_keys::supplier_id.eq(supplier_id),
                supplier_api_keys::prefix.eq(&prefix),
                supplier_api_keys::secret_hash.eq(hash_secret(&secret)),
                supplier_api_keys::label.eq(label),
                supplier_api_keys::created_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {
                let key = supplier_api_keys::table
                    .filter(supplier_api_keys::prefix.eq(&prefix))
                    .select(ApiKey::as_select())
                    .first(conn)?;
                return Ok(NewKey {
                    token: format!("kbs_{prefix}_{secret}"),
                    key,
                });
            }
            Err(
                e @ diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ),
            ) => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or(diesel::result::Error::NotFound))
}

/// Revokes one of the supplier's keys; revoking twice keeps the first time. `false`
/// when the key is not this supplier's.
pub fn revoke(
    conn: &mut DbConn,
    supplier_id: i64,
    key_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let found: Option<ApiKey> = supplier_api_keys::table
        .filter(supplier_api_keys::id.eq(key_id))
        .filter(supplier_api_keys::supplier_id.eq(supplier_id))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?;
    let Some(key) = found else { return Ok(false) };
    if key.revoked_at.is_none() {
        diesel::update(supplier_api_keys::table.find(key.id))
            .filter(supplier_api_keys::revoked_at.is_null())
            .set(supplier_api_keys::revoked_at.eq(now))
            .execute(conn)?;
    }
    Ok(true)
}

/// The supplier a bearer token belongs to, if it is a live key. Records the use, at most
/// once a minute per key so that busy integrations do not write on every call.
pub fn authenticate(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    let Some((prefix, secret)) = parse_token(token) else {
        return Ok(None);
    };
    let found: Option<ApiKey> = supplier_api_keys::table
        .filter(supplier_api_keys::prefix.eq(prefix))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?;
    let Some(key) = found else { return Ok(None) };
    if !same(&hash_secret(secret), &key.secret_hash) {
        return Ok(None);
    }
    if key.revoked_at.is_some() {
        return Ok(None);
    }
    if key
        .last_used_at
        .is_none_or(|at| now - at >= Duration::minutes(1))
    {
        diesel::update(supplier_api_keys::table.find(key.id))
            .filter(
                supplier_api_keys::last_used_at
                    .is_null()
                    .or(supplier_api_keys::last_used_at.le(now - Duration::minutes(1))),
            )
            .set(supplier_api_keys::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(key.supplier_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_in_their_exact_shape() {
        let secret = new_secret();
        assert_eq!(secret.len(), SECRET_LEN);
        let prefix = new_prefix();
        let token = format!("kbs_{prefix}_{secret}");
        assert_eq!(
            parse_token(&token),
            Some((prefix.as_str(), secret.as_str()))
        );
        assert_eq!(parse_token(&token[..token.len() - 1]), None);
        assert_eq!(parse_token(&format!("kbx_{prefix}_{secret}")), None);
        assert_eq!(parse_token(&format!("kbs_{prefix}-{secret}")), None);
        assert_eq!(parse_token("kbs_é"), None);
        assert_eq!(parse_token(""), None);
    }

    #[test]
    fn the_hash_is_not_the_secret() {
        let secret = new_secret();
        let hash = hash_secret(&secret);
        assert_ne!(hash, secret);
        assert_eq!(hash.len(), 64);
        assert!(same(&hash, &hash_secret(&secret)));
        assert!(!same("a", "ab"));
    }
}
