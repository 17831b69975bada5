//! Unguessable public identifiers: order references and the secret in a buyer's order
//! link. The link's secret is an HMAC of the reference under a key every instance shares,
//! so a replayed placement can hand out the same link again; only its hash is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Crockford base32 without the letters that read like digits.
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `K` and 10 random characters: 50 bits, not a row id.
pub fn new_reference() -> String {
    let mut rng = rand::rng();
    let mut out = String::from("K");
    for _ in 0..10 {
        out.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    out
}

pub struct LinkKey([u8; 32]);

impl LinkKey {
    pub fn from_hex(hex_key: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_key)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the order link key must be 32 bytes"))?;
        Ok(Self(key))
    }

    /// The secret in `/orders/<secret>` for an order reference.
    pub fn token(&self, reference: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"kaibo-order-link:");
        mac.update(reference.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..18])
    }

    /// A sandbox shop's token for the simulated buyers that order through the JSON API.
    pub fn sandbox_token(&self, shop_user_id: i64) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"kaibo-sandbox-shop:");
        mac.update(shop_user_id.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..18])
    }
}

/// What is stored for a link secret.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_tokens() {
        let a = new_reference();
        assert_eq!(a.len(), 11);
        assert!(a.starts_with('K'));
        assert_ne!(a, new_reference());
        let key = LinkKey::from_hex(&"11".repeat(32)).unwrap();
        let other = LinkKey::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(key.token("K1"), key.token("K1"));
        assert_ne!(key.token("K1"), key.token("K2"));
        assert_ne!(key.token("K1"), other.token("K1"));
        assert_eq!(key.token("K1").len(), 24);
        assert_eq!(hash("x").len(), 64);
    }
}
