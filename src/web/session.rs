//! Per-request context: who is logged in, which language to speak, and what the CSRF
//! token is bound to. A middleware resolves it once per request; extractors read it.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use rand::RngCore;

use super::AppState;
use crate::accounts::domain::Role;
use crate::accounts::sessions::{self, Lookup, Timeouts};
use crate::config::Settings;
use crate::error::AppError;
use crate::i18n::Locale;

pub const ANON_COOKIE: &str = "kaibo_anon";
pub const LANG_COOKIE: &str = "kaibo_lang";
pub const FLASH_COOKIE: &str = "kaibo_flash";

/// The logged-in person, as pages and handlers see them.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub locale: Option<Locale>,
    /// The hash of this session's token, to end or keep it.
    pub session_hash: String,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub user: Option<SessionUser>,
    pub anon_id: String,
    pub locale: Locale,
    pub flash: Option<&'static str>,
}

impl RequestContext {
    pub fn csrf_binding(&self) -> String {
        match &self.user {
            Some(user) => format!("session:{}", user.session_hash),
            None => format!("anon:{}", self.anon_id),
        }
    }
}

/// Messages a redirect can carry to the next page. Only these keys are accepted from the
/// cookie, so it cannot be used to put arbitrary text on a page.
pub const FLASH_KEYS: &[&str] = &[
    "flash.welcome",
    "flash.logged_in",
    "flash.logged_out",
    "flash.password_changed",
    "flash.profile_saved",
    "flash.session_expired",
    "flash.showcase_added",
    "flash.showcase_updated",
    "flash.showcase_removed",
    "flash.supplier_saved",
    // The shop (cart, returns)
    "flash.cart_added",
    "flash.cart_updated",
    "flash.cart_removed",
    "flash.case_requested",
    "flash.return_shipped",
    // The supplier portal's orders, returns and API keys
    "flash.so_acknowledged",
    "flash.so_rejected",
    "flash.so_shipped",
    "flash.so_delivered",
    "flash.case_approved",
    "flash.case_rejected",
    "flash.case_received",
    "flash.api_key_created",
    "flash.api_key_revoked",
    // The creator's order desk
    "flash.order_cancelled",
    "flash.note_added",
    // The live studio and graduation
    "flash.pinned",
    "flash.deal_started",
    "flash.answered",
    "flash.overclaim",
    "flash.show_ending",
    "flash.fast_forwarded",
    "flash.graduated",
    "flash.not_yet",
];

pub fn cookie<'a>(name: &'a str, value: String, settings: &Settings) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        .finish()
}

pub fn removal_cookie<'a>(name: &'a str, settings: &Settings) -> Cookie<'a> {
    let mut c = cookie(name, String::new(), settings);
    c.make_removal();
    c
}

pub fn flash_cookie(key: &'static str, settings: &Settings) -> Cookie<'static> {
    // A key missing from FLASH_KEYS would be dropped silently on the next page.
    debug_assert!(FLASH_KEYS.contains(&key), "{key} is not in FLASH_KEYS");
    let mut c = cookie(FLASH_COOKIE, key.to_string(), settings);
    c.set_max_age(CookieDuration::minutes(5));
    c
}

fn new_anon_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn is_hex_token(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Middleware: resolves the session cookie, the language and the CSRF binding, then
/// fixes up cookies on the way out (new visitor id, expired session, consumed flash).
pub async fn load_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    if path.starts_with("/static/")
        || path.starts_with("/api/")
        || path == "/healthz"
        || path == "/metrics"
    {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(AppError::Internal(anyhow::anyhow!("no app state")).into());
    };

    let session_cookie = req
        .cookie(sessions::COOKIE_NAME)
        .map(|c| c.value().to_string());
    // A cookie too mangled to parse at all is cleared like any other bad token.
    let mut clear_session = session_cookie.is_none()
        && req
            .headers()
            .get_all(header::COOKIE)
            .any(|v| v.as_bytes().windows(14).any(|w| w == b"kaibo_session="));
    let mut user = None;
    if let Some(token) = session_cookie {
        if is_hex_token(&token, 64) {
            let hash = sessions::hash_token(&token);
            let now = state.now();
            let timeouts = Timeouts {
                idle: state.settings.session_idle,
                absolute: state.settings.session_absolute,
            };
            let lookup_hash = hash.clone();
            let found = state
                .db(move |conn| Ok(sessions::lookup(conn, &lookup_hash, now, timeouts)?))
                .await?;
            match found {
                Lookup::Valid(u) => {
                    user = Some(SessionUser {
                        id: u.id,
                        role: u.role(),
                        locale: u.locale.as_deref().and_then(Locale::parse),
                        email: u.email,
                        display_name: u.display_name,
                        session_hash: hash,
                    })
                }
                Lookup::Expired | Lookup::Unknown => clear_session = true,
            }
        } else {
            clear_session = true;
        }
    }

    let existing_anon = req
        .cookie(ANON_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| is_hex_token(v, 32));
    let new_anon = existing_anon.is_none();
    let anon_id = existing_anon.unwrap_or_else(new_anon_id);

    let locale = user
        .as_ref()
        .and_then(|u| u.locale)
        .or_else(|| {
            req.cookie(LANG_COOKIE)
                .and_then(|c| Locale::parse(c.value()))
        })
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or_default();

    let incoming_flash = req.cookie(FLASH_COOKIE).map(|c| c.value().to_string());
    let background_fetch = req
        .headers()
        .get("sec-fetch-mode")
        .is_some_and(|m| m.as_bytes() != b"navigate");
    let flash = incoming_flash
        .as_deref()
        .and_then(|v| FLASH_KEYS.iter().copied().find(|k| *k == v));
    let expired_notice = clear_session && user.is_none();

    req.extensions_mut().insert(RequestContext {
        user,
        anon_id: anon_id.clone(),
        locale,
        flash: flash.or(expired_notice.then_some("flash.session_expired")),
    });

    let mut res = next.call(req).await?;
    let settings = &state.settings;
    let sets_cookie = |res: &ServiceResponse<_>, name: &str| {
        res.response()
            .cookies()
            .any(|c: Cookie<'_>| c.name() == name)
    };
    if new_anon {
        let mut c = cookie(ANON_COOKIE, anon_id, settings);
        c.set_max_age(CookieDuration::days(30));
        res.response_mut().add_cookie(&c).ok();
    }
    if clear_session && !sets_cookie(&res, sessions::COOKIE_NAME) {
        res.response_mut()
            .add_cookie(&removal_cookie(sessions::COOKIE_NAME, settings))
            .ok();
    }
    // A flash is shown once: the page that displays it removes it, unless this response
    // is itself setting a new one for the next page. A script's fetch (the studio's feed)
    // never shows it, so it leaves it for the page being navigated to.
    if incoming_flash.is_some() && !sets_cookie(&res, FLASH_COOKIE) && !background_fetch {
        res.response_mut()
            .add_cookie(&removal_cookie(FLASH_COOKIE, settings))
            .ok();
    }
    Ok(res.map_into_boxed_body())
}

/// The logged-in user; without a session the request is sent to the login page.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub SessionUser);

impl CurrentUser {
    /// Refuses with 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&SessionUser, AppError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = req
            .extensions()
            .get::<RequestContext>()
            .and_then(|c| c.user.clone());
        ready(match user {
            Some(user) => Ok(CurrentUser(user)),
            None => {
                let next = if req.method() == actix_web::http::Method::GET {
                    req.uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into())
                } else {
                    "/".into()
                };
                Err(AppError::LoginRequired { next })
            }
        })
    }
}
