//! Graduation: the course's criteria (front matter `[graduation]`) checked against the
//! trainee's records, a checklist of what is still missing, and on meeting them a
//! certificate with a public, unguessable verification link; the shop goes live.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use crate::accounts::domain::Role;
use crate::courses::model::Course;
use crate::db::schema::{after_sales, certificates, orders, shows, supplier_orders, users};
use crate::db::{DbConn, write_tx};
use crate::error::{AppError, AppResult};
use crate::learning::progress::CourseProgress;
use crate::orders::{CaseStatus, Mode, SupplierStatus};
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, PageCtx, render, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graduation", web::get().to(page))
        .route("/graduation/{course}", web::post().to(graduate))
        .route("/certificates/{code}", web::get().to(certificate_page));
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = certificates)]
pub struct Certificate {
    pub code: String,
    pub user_id: i64,
    pub course_slug: String,
    pub course_title: String,
    pub holder_name: String,
    pub show_id: Option<i64>,
    pub issued_at: NaiveDateTime,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub label: String,
    pub done: bool,
    pub detail: String,
    pub href: Option<String>,
}

/// A sandbox show's standing against the criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowStanding {
    pub show_id: i64,
    pub delivered: i64,
    pub open_cases: i64,
}

/// Delivered orders and unresolved after-sales cases per finished sandbox show.
pub fn show_standings(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<ShowStanding>> {
    let ids: Vec<i64> = shows::table
        .filter(shows::user_id.eq(user_id))
        .filter(shows::mode.eq(Mode::Sandbox.as_str()))
        .filter(shows::status.eq(crate::live::model::ENDED))
        .order(shows::id)
        .select(shows::id)
        .load(conn)?;
    let open: Vec<&str> = CaseStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let delivered: i64 = orders::table
            .filter(orders::show_id.eq(id))
            .filter(orders::shop_user_id.eq(user_id))
            .filter(diesel::dsl::exists(
                supplier_orders::table
                    .filter(supplier_orders::order_id.eq(orders::id))
                    .filter(supplier_orders::status.eq(SupplierStatus::Delivered.as_str())),
            ))
            .count()
            .get_result(conn)?;
        let open_cases: i64 = after_sales::table
            .inner_join(orders::table)
            .filter(orders::show_id.eq(id))
            .filter(after_sales::shop_user_id.eq(user_id))
            .filter(after_sales::status.eq_any(&open))
            .count()
            .get_result(conn)?;
        out.push(ShowStanding {
            show_id: id,
            delivered,
            open_cases,
        });
    }
    Ok(out)
}

/// The checklist of one course for one trainee, translated, and whether all of it holds.
pub fn checklist(
    conn: &mut DbConn,
    locale: crate::i18n::Locale,
    course: &Course,
    user_id: i64,
) -> QueryResult<(Vec<Check>, Option<i64>)> {
    let progress = CourseProgress::load(conn, user_id, &course.slug)?;
    let required: Vec<_> = if course.graduation.required_modules.is_empty() {
        course.modules.iter().collect()
    } else {
        course
            .modules
            .iter()
            .filter(|m| course.graduation.required_modules.contains(&m.slug))
            .collect()
    };
    let mut checks = Vec::new();
    for m in &required {
        checks.push(Check {
            label: locale.tf("graduation.module", &[("module", &m.title)]),
            done: progress.module_complete(m),
            detail: String::new(),
            href: Some(format!("{}#module-{}", course.url(), m.slug)),
        });
    }
    let need = course.graduation.sandbox_delivered_orders as i64;
    let standings = show_standings(conn, user_id)?;
    let best = standings
        .iter()
        .max_by_key(|s| (s.delivered.min(need), -s.open_cases, s.show_id))
        .copied();
    let delivered = best.map(|b| b.delivered).unwrap_or(0);
    checks.push(Check {
        label: locale.tf("graduation.delivered", &[("n", &need.to_string())]),
        done: delivered >= need && best.is_some(),
        detail: match best {
            Some(b) => locale.tf(
                "graduation.delivered_detail",
                &[
                    ("n", &b.delivered.to_string()),
                    ("show", &b.show_id.to_string()),
                ],
            ),
            None => locale.t("graduation.no_show"),
        },
        href: Some(match best {
            Some(b) => format!("/studio/shows/{}", b.show_id),
            None => "/studio".into(),
        }),
    });
    // The qualifying show: enough delivered orders and, when the course asks, no open case.
    let qualifying = standings
        .iter()
        .filter(|s| s.delivered >= need)
        .find(|s| !course.graduation.after_sales_resolved || s.open_cases == 0)
        .map(|s| s.show_id);
    if course.graduation.after_sales_resolved {
        let open = best.map(|b| b.open_cases).unwrap_or(0);
        checks.push(Check {
            label: locale.t("graduation.cases"),
            done: best.is_some() && (qualifying.is_some() || open == 0),
            detail: locale.tf("graduation.cases_detail", &[("n", &open.to_string())]),
            href: Some("/desk/cases".into()),
        });
    }
    let all = checks.iter().all(|c| c.done) && qualifying.is_some();
    Ok((checks, if all { qualifying } else { None }))
}

pub fn certificate_of(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
) -> QueryResult<Option<Certificate>> {
    certificates::table
        .filter(certificates::user_id.eq(user_id))
        .filter(certificates::course_slug.eq(course))
        .select(Certificate::as_select())
        .first(conn)
        .optional()
}

pub fn find_certificate(conn: &mut DbConn, code: &str) -> QueryResult<Option<Certificate>> {
    if code.len() != 20 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    certificates::table
        .find(code)
        .select(Certificate::as_select())
        .first(conn)
        .optional()
}

/// 20 characters of Crockford base32: 100 bits, not guessable, not a row id.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Issues the certificate (once) and opens the shop to the public.
pub fn issue(
    conn: &mut DbConn,
    user_id: i64,
    course: &Course,
    show_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Certificate> {
    write_tx(conn, |conn| {
        if let Some(c) = certificate_of(conn, user_id, &course.slug)? {
            return Ok(c);
        }
        let name: String = users::table
            .find(user_id)
            .select(users::display_name)
            .first(conn)?;
        diesel::insert_into(certificates::table)
            .values((
                certificates::code.eq(new_code()),
                certificates::user_id.eq(user_id),
                certificates::course_slug.eq(&course.slug),
                certificates::course_title.eq(&course.title),
                certificates::holder_name.eq(&name),
                certificates::show_id.eq(Some(show_id)),
                certificates::issued_at.eq(now),
            ))
            .execute(conn)?;
        crate::orders::shop::set_mode(conn, user_id, Mode::Live, now)?;
        certificate_of(conn, user_id, &course.slug)?.ok_or(diesel::result::Error::NotFound)
    })
}

// ------------------------------------------------------------------ pages

pub struct CourseView {
    pub slug: String,
    pub title: String,
    pub checks: Vec<Check>,
    pub ready: bool,
    pub certificate: Option<String>,
}

#[derive(Template)]
#[template(path = "graduation/page.html")]
struct GraduationPage {
    ctx: PageCtx,
    courses: Vec<CourseView>,
    shop: Option<(String, bool)>,
}

async fn page(state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let courses = state.courses.served();
    let locale = ctx.locale;
    let (views, shop) = state
        .db(move |conn| {
            let mut views = Vec::new();
            for c in &courses {
                let (checks, qualifying) = checklist(conn, locale, c, uid)?;
                let cert = certificate_of(conn, uid, &c.slug)?;
                views.push(CourseView {
                    slug: c.slug.clone(),
                    title: c.title.clone(),
                    ready: qualifying.is_some() && cert.is_none(),
                    checks,
                    certificate: cert.map(|c| c.code),
                });
            }
            let shop = crate::orders::shop::of_user(conn, uid)?
                .map(|s| (s.handle.clone(), s.mode() == Mode::Live));
            Ok((views, shop))
        })
        .await?;
    render(&GraduationPage {
        ctx,
        courses: views,
        shop,
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct EmptyForm {}

async fn graduate(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<EmptyForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let course = state
        .courses
        .get(&path.into_inner())
        .ok_or(AppError::NotFound)?;
    let locale = ctx.locale;
    let now = state.now().naive_utc();
    let issued = state
        .write(move |conn| {
            let (_, qualifying) = checklist(conn, locale, &course, uid)?;
            match qualifying {
                Some(show) => Ok(Some(issue(conn, uid, &course, show, now)?)),
                None => Ok::<_, AppError>(None),
            }
        })
        .await?;
    match issued {
        Some(cert) => {
            let mut r = see_other(&format!("/certificates/{}", cert.code));
            r.add_cookie(&flash_cookie("flash.graduated", &state.settings))
                .ok();
            Ok(r)
        }
        None => {
            let mut r = see_other("/graduation");
            r.add_cookie(&flash_cookie("flash.not_yet", &state.settings))
                .ok();
            Ok(r)
        }
    }
}

#[derive(Template)]
#[template(path = "graduation/certificate.html")]
struct CertificatePage {
    ctx: PageCtx,
    cert: Certificate,
    issued: String,
    link: String,
    shop: Option<String>,
}

/// The public verification page: anyone with the link sees who graduated from what.
async fn certificate_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = path.into_inner();
    let (cert, shop) = state
        .db(move |conn| {
            let cert = find_certificate(conn, &code)?;
            let shop = match &cert {
                Some(c) => crate::orders::shop::of_user(conn, c.user_id)?
                    .filter(|s| s.mode() == Mode::Live)
                    .map(|s| s.handle),
                None => None,
            };
            Ok((cert, shop))
        })
        .await?;
    let cert = cert.ok_or(AppError::NotFound)?;
    let link = format!(
        "{}/certificates/{}",
        state.settings.public_url.trim_end_matches('/'),
        cert.code
    );
    render(&CertificatePage {
        issued: cert.issued_at.format("%Y-%m-%d").to_string(),
        link,
        shop,
        cert,
        ctx,
    })
}
