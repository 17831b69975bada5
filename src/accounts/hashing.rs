//! Argon2id password hashing (m=19456 KiB, t=2, p=1), with a semaphore capping how many
//! hashes run at once: each takes 19 MiB, so a login flood queues instead of exhausting
//! memory, and the work runs on the blocking pool, off the request threads.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_string();
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || hash_now(&password)).await?
    }

    /// Checks a password against a stored PHC string. With `None` (no such account) it
    /// verifies against a dummy hash, so a wrong email costs as long as a wrong password.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let password = password.to_string();
        let stored = stored.map(str::to_string);
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let phc = stored.as_deref().unwrap_or_else(|| dummy_hash());
            let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            let ok = argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && stored.is_some())
        })
        .await?
    }
}

pub fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("kaibo-dummy-password").expect("hashing a constant works"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_baseline_parameters() {
        let hasher = PasswordHasher::new(1);
        let phc = hasher.hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            hasher
                .verify("correct horse battery", Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&phc))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("kaibo-dummy-password", None).await.unwrap());
    }

    #[tokio::test]
    async fn the_semaphore_caps_concurrent_hashes() {
        let hasher = PasswordHasher::new(2);
        assert_eq!(hasher.permits.available_permits(), 2);
        let held = hasher.permits.clone().acquire_many_owned(2).await.unwrap();
        // With every permit held, a hash waits instead of starting.
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            hasher.hash("a long enough password"),
        )
        .await;
        assert!(waiting.is_err(), "hash ran without a permit");
        drop(held);
        assert!(hasher.hash("a long enough password").await.is_ok());
    }
}
