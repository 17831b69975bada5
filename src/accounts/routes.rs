//! Handlers for registering, logging in and out, changing a password and switching
//! language. They parse, call the account services, and render.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::domain::{DisplayName, Email, NewPassword, Role};
use super::sessions;
use super::users::{self, CreateUserError};
use crate::db::write_tx;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::learning::cohorts;
use crate::web::page::FormErrors;
use crate::web::session::{LANG_COOKIE, cookie, flash_cookie, removal_cookie};
use crate::web::{
    AppState, CsrfForm, CurrentUser, PageCtx, render, render_with_status, safe_next, see_other,
};

/// Form fields are capped before any parsing: nothing a person types is this long.
const FIELD_CAP: usize = 1024;

fn capped(value: &str) -> &str {
    match value.char_indices().nth(FIELD_CAP) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    ctx: PageCtx,
    email: String,
    display_name: String,
    invite: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    invite: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    invite: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn register_page(
    ctx: PageCtx,
    query: web::Query<RegisterQuery>,
) -> AppResult<HttpResponse> {
    if let Some(user) = &ctx.user {
        return Ok(see_other(user.role.home_path()));
    }
    render(&RegisterPage {
        ctx,
        email: String::new(),
        display_name: String::new(),
        invite: capped(query.invite.as_deref().unwrap_or_default()).to_string(),
        errors: FormErrors::default(),
    })
}

pub async fn register(
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> AppResult<HttpResponse> {
    let mut errors = FormErrors::default();
    let email = Email::parse(capped(&form.email))
        .map_err(|key| errors.add("email", ctx.t(key)))
        .ok();
    let name = DisplayName::parse(capped(&form.display_name))
        .map_err(|key| errors.add("display_name", ctx.t(key)))
        .ok();
    let password = NewPassword::parse(capped(&form.password))
        .map_err(|key| errors.add("password", ctx.t(key)))
        .ok();
    if password.is_some() && form.password != form.password_confirm {
        errors.add("password_confirm", ctx.t("validation.password_mismatch"));
    }
    let invite = capped(&form.invite).trim().to_string();
    let group = if invite.is_empty() {
        None
    } else {
        let code = invite.clone();
        let found = state
            .db(move |conn| Ok(cohorts::by_code(conn, &code)?))
            .await?;
        if found.is_none() {
            errors.add("invite", ctx.t("validation.invite_unknown"));
        }
        found.map(|g| g.id)
    };
    let again = |ctx: PageCtx, errors: FormErrors| {
        render_with_status(
            &RegisterPage {
                ctx,
                email: capped(&form.email).to_string(),
                display_name: capped(&form.display_name).to_string(),
                invite: invite.clone(),
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let (Some(email), Some(name), Some(password), true) =
        (email, name, password, errors.is_empty())
    else {
        return again(ctx, errors);
    };

    let hash = state.hasher.hash(password.expose()).await?;
    let now = state.now();
    let locale = ctx.locale.code();
    let created = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let user = match users::create(
                    conn,
                    &email,
                    &hash,
                    Role::Trainee,
                    &name,
                    Some(locale),
                    now.naive_utc(),
                ) {
                    Ok(user) => user,
                    Err(CreateUserError::EmailTaken) => return Ok(None),
                    Err(CreateUserError::Database(e)) => return Err(AppError::from(e)),
                };
                if let Some(group) = group {
                    cohorts::join(conn, user.id, group, now)?;
                }
                let token = sessions::create(conn, user.id, now)?;
                Ok(Some(token))
            })
        })
        .await?;
    let Some(token) = created else {
        errors.add("email", ctx.t("validation.email_taken"));
        return again(ctx, errors);
    };
    tracing::info!("trainee registered");
    Ok(start_session(
        &state,
        &token,
        Role::Trainee.home_path(),
        "flash.welcome",
    ))
}

/// A redirect that sets a fresh session cookie.
fn start_session(
    state: &AppState,
    token: &str,
    location: &str,
    flash: &'static str,
) -> HttpResponse {
    let mut session = cookie(sessions::COOKIE_NAME, token.to_string(), &state.settings);
    session.set_max_age(actix_web::cookie::time::Duration::seconds(
        state.settings.session_absolute.num_seconds(),
    ));
    let mut response = see_other(location);
    response.add_cookie(&session).ok();
    response
        .add_cookie(&flash_cookie(flash, &state.settings))
        .ok();
    response
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    ctx: PageCtx,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login_page(ctx: PageCtx, query: web::Query<LoginQuery>) -> AppResult<HttpResponse> {
    if let Some(user) = &ctx.user {
        return Ok(see_other(user.role.home_path()));
    }
    render(&LoginPage {
        ctx,
        email: String::new(),
        next: safe_next(query.next.as_deref()).unwrap_or_default(),
        error: None,
    })
}

fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> std::net::IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_string)
        })
        .flatten()
        .and_then(|addr| {
            addr.parse::<std::net::IpAddr>()
                .ok()
                .or_else(|| addr.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        });
    forwarded
        .or_else(|| req.peer_addr().map(|a| a.ip()))
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<HttpResponse> {
    let raw_email = capped(&form.email).trim().to_lowercase();
    let address = client_address(&req, state.settings.trust_forwarded_for);
    if let Err(retry_after_secs) = state.throttle.check(&raw_email, address) {
        tracing::warn!(%address, "login throttled");
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let user = match Email::parse(&raw_email) {
        Ok(email) => {
            state
                .db(move |conn| Ok(users::find_by_email(conn, &email)?))
                .await?
        }
        Err(_) => None,
    };
    let password = capped(&form.password).to_string();
    let ok = state
        .hasher
        .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let next = safe_next(form.next.as_deref());
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            tracing::info!(%address, "login failed");
            // One message whether the email or the password was wrong.
            let error = Some(ctx.t("login.failed"));
            return render_with_status(
                &LoginPage {
                    ctx,
                    email: capped(&form.email).to_string(),
                    next: next.unwrap_or_default(),
                    error,
                },
                StatusCode::UNAUTHORIZED,
            );
        }
    };

    // A new token at every login: a session id planted before login is worth nothing.
    let old_session = ctx.user.as_ref().map(|u| u.session_hash.clone());
    let now = state.now();
    let user_id = user.id;
    let token = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                if let Some(old) = old_session {
                    sessions::destroy(conn, &old)?;
                }
                Ok(sessions::create(conn, user_id, now)?)
            })
        })
        .await?;
    let role = user.role();
    let location = next.unwrap_or_else(|| role.home_path().to_string());
    Ok(start_session(&state, &token, &location, "flash.logged_in"))
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn logout(
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<HttpResponse> {
    if let Some(user) = ctx.user {
        let hash = user.session_hash;
        state
            .db(move |conn| Ok(sessions::destroy(conn, &hash)?))
            .await?;
    }
    let mut response = see_other("/");
    response
        .add_cookie(&removal_cookie(sessions::COOKIE_NAME, &state.settings))
        .ok();
    response
        .add_cookie(&flash_cookie("flash.logged_out", &state.settings))
        .ok();
    Ok(response)
}

#[derive(Template)]
#[template(path = "accounts/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn password_page(_user: CurrentUser, ctx: PageCtx) -> AppResult<HttpResponse> {
    render(&PasswordPage {
        ctx,
        errors: FormErrors::default(),
    })
}

pub async fn change_password(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<PasswordForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = ctx.require_user()?;
    let mut errors = FormErrors::default();
    let user_id = user.id;
    let stored = state
        .db(move |conn| Ok(users::find(conn, user_id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let current_ok = state
        .hasher
        .verify(capped(&form.current), Some(&stored.password_hash))
        .await?;
    if !current_ok {
        errors.add("current", ctx.t("validation.current_password_wrong"));
    }
    let password = NewPassword::parse(capped(&form.password))
        .map_err(|key| errors.add("password", ctx.t(key)))
        .ok();
    if password.is_some() && form.password != form.password_confirm {
        errors.add("password_confirm", ctx.t("validation.password_mismatch"));
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return render_with_status(
            &PasswordPage { ctx, errors },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let hash = state.hasher.hash(password.expose()).await?;
    let now = state.now();
    // Every other session ends; this one is replaced by a new token.
    let token = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                users::set_password_hash(conn, user_id, &hash, now.naive_utc())?;
                sessions::destroy_all(conn, user_id)?;
                Ok(sessions::create(conn, user_id, now)?)
            })
        })
        .await?;
    Ok(start_session(
        &state,
        &token,
        user.role.home_path(),
        "flash.password_changed",
    ))
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    next: Option<String>,
}

pub async fn switch_language(
    state: web::Data<AppState>,
    ctx: PageCtx,
    CsrfForm(form): CsrfForm<LanguageForm>,
) -> AppResult<HttpResponse> {
    let locale = Locale::parse(capped(&form.lang))
        .ok_or_else(|| AppError::bad_request("errors.unknown_language", capped(&form.lang)))?;
    if let Some(user) = &ctx.user {
        let id = user.id;
        state
            .db(move |conn| Ok(users::set_locale(conn, id, locale.code())?))
            .await?;
    }
    let mut lang = cookie(LANG_COOKIE, locale.code().to_string(), &state.settings);
    lang.set_max_age(actix_web::cookie::time::Duration::days(365));
    let mut response = see_other(&safe_next(form.next.as_deref()).unwrap_or_else(|| "/".into()));
    response.add_cookie(&lang).ok();
    Ok(response)
}
