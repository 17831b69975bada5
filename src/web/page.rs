//! What every page template gets: the language, the user, the CSRF token, the current
//! path (for the language switcher) and a one-time flash message.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::AppState;
use super::session::{RequestContext, SessionUser};
use crate::error::AppError;
use crate::i18n::Locale;

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub locale: Locale,
    pub user: Option<SessionUser>,
    pub csrf: String,
    pub path: String,
    pub flash: Option<&'static str>,
}

impl PageCtx {
    pub fn from_request_parts(req: &HttpRequest) -> Result<Self, AppError> {
        let ctx = req
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no request context")))?;
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
        Ok(Self {
            csrf: state.csrf.token(&ctx.csrf_binding()),
            locale: ctx.locale,
            user: ctx.user,
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            flash: ctx.flash,
        })
    }

    /// The logged-in user, for handlers that read a form first: extractors run
    /// concurrently, so checking the user here, after `CsrfForm` has been read, makes a
    /// POST without a token fail with 403 whoever sends it.
    pub fn require_user(&self) -> Result<SessionUser, AppError> {
        self.user
            .clone()
            .ok_or_else(|| AppError::LoginRequired { next: "/".into() })
    }

    /// `require_user`, then 403 unless the user has one of `roles`.
    pub fn require_role(
        &self,
        roles: &[crate::accounts::domain::Role],
    ) -> Result<SessionUser, AppError> {
        let user = self.require_user()?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.locale.tf(key, args)
    }

    pub fn locales(&self) -> [Locale; 2] {
        Locale::ALL
    }

    pub fn css_url(&self) -> &'static str {
        super::assets::css_url()
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }
}

impl FromRequest for PageCtx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::from_request_parts(req))
    }
}

/// Field-by-field messages for a form, already translated.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(Vec<(&'static str, String)>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }
}
