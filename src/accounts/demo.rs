//! Demo accounts, one per role, created on the first start of an empty database so a
//! new installation can be tried at once. Passwords are random and printed once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::domain::{DisplayName, Email, Role};
use super::hashing;
use super::users;
use crate::db::{DbConn, write_tx};

/// The demo supplier account manages the demo catalog's first supplier.
pub const DEMO_SUPPLIER_EMAIL: &str = "supplier@kaibo.example";

pub struct DemoAccount {
    pub role: Role,
    pub email: String,
    pub password: String,
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates the demo accounts if there are no accounts at all; returns what it created.
pub fn seed(
    conn: &mut DbConn,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<DemoAccount>> {
    if users::count(conn)? > 0 {
        return Ok(Vec::new());
    }
    let accounts: Vec<DemoAccount> = Role::ALL
        .into_iter()
        .map(|role| DemoAccount {
            role,
            email: format!("{}@kaibo.example", role.as_str()),
            password: random_password(),
        })
        .collect();
    let hashes = accounts
        .iter()
        .map(|a| hashing::hash_now(&a.password))
        .collect::<anyhow::Result<Vec<_>>>()?;
    write_tx(conn, |conn| {
        for (account, hash) in accounts.iter().zip(&hashes) {
            let email = Email::parse(&account.email).map_err(anyhow::Error::msg)?;
            let name = DisplayName::parse(&format!("Demo {}", account.role.as_str()))
                .map_err(anyhow::Error::msg)?;
            users::create(
                conn,
                &email,
                hash,
                account.role,
                &name,
                None,
                now.naive_utc(),
            )?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(accounts)
}
