//! CSRF protection. A token is the HMAC of what the request is bound to: the session
//! (hashed token) once logged in, or a random anonymous-visitor cookie before. Every
//! state-changing form is read through `CsrfForm`, which checks the token before the
//! handler sees any field.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::AppState;
use super::session::RequestContext;
use crate::error::AppError;

/// Form bodies larger than this are refused with 413.
pub const FORM_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    pub fn from_hex(hex_key: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_key)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("CSRF key must be 32 bytes"))?;
        Ok(Self(key))
    }

    fn mac(&self, binding: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"kaibo-csrf:");
        mac.update(binding.as_bytes());
        mac
    }

    pub fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(binding).finalize().into_bytes())
    }

    pub fn verify(&self, binding: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token.as_bytes()) {
            Ok(bytes) => self.mac(binding).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

/// A urlencoded form whose `csrf` field has been checked. `T` is deserialised from the
/// same body (extra fields such as `csrf` are ignored by serde).
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct TokenOnly {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    AppError::PayloadTooLarge
                } else {
                    AppError::bad_request("errors.bad_form", "")
                }
            })?;
            let form = parse_form(&body)?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let binding = req
                .extensions()
                .get::<RequestContext>()
                .map(RequestContext::csrf_binding);
            let token = form.csrf.unwrap_or_default();
            match binding {
                Some(binding) if state.csrf.verify(&binding, &token) => {}
                _ => return Err(AppError::Csrf),
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::bad_request("errors.bad_form", e.to_string()))
        })
    }
}

/// Checks that every name and value is valid UTF-8 once percent-decoded (browsers never
/// send anything else; a tampered body gets a 400 naming the field), then reads the token.
fn parse_form(body: &[u8]) -> Result<TokenOnly, AppError> {
    for pair in body.split(|b| *b == b'&') {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = parts.next().unwrap_or_default();
        let value = parts.next().unwrap_or_default();
        let decode = |raw: &[u8]| {
            let plus_as_space: Vec<u8> = raw
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            percent_encoding::percent_decode(&plus_as_space)
                .decode_utf8()
                .map(|s| s.into_owned())
        };
        let name = decode(name)
            .map_err(|_| AppError::bad_request("errors.bad_utf8", "(field name)".to_string()))?;
        if decode(value).is_err() {
            return Err(AppError::bad_request("errors.bad_utf8", name));
        }
    }
    serde_urlencoded::from_bytes::<TokenOnly>(body)
        .map_err(|e| AppError::bad_request("errors.bad_form", e.to_string()))
}

/// Compares two secrets in time that depends only on their length.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_binding() {
        let key = CsrfKey([7; 32]);
        let token = key.token("session-a");
        assert!(key.verify("session-a", &token));
        assert!(!key.verify("session-b", &token));
        assert!(!key.verify("session-a", "forged"));
        assert!(!key.verify("session-a", ""));
        assert!(!CsrfKey([8; 32]).verify("session-a", &token));
    }

    #[test]
    fn invalid_utf8_names_the_field() {
        match parse_form(b"csrf=x&display_name=%FF%FE") {
            Err(AppError::BadRequest { key, detail }) => {
                assert_eq!(key, "errors.bad_utf8");
                assert_eq!(detail, "display_name");
            }
            _ => panic!("invalid UTF-8 accepted"),
        }
        assert!(parse_form("csrf=x&name=%E6%9E%97".as_bytes()).is_ok());
    }
}
