//! `/supplier/catalog`: a supplier account's own supplier record and catalog. Uploads
//! go through the same validation and the same atomic import as `kaibo catalog import`,
//! and every problem is listed by line and column on the page.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::accounts::domain::{Role, is_printable_text};
use crate::catalog::csv_io::{self, ImportError, ImportLimits, ImportSummary};
use crate::catalog::model::{self, Supplier};
use crate::catalog::regions::{self, REGIONS};
use crate::error::{AppError, AppResult};
use crate::web::page::FormErrors;
use crate::web::session::{RequestContext, SessionUser, flash_cookie};
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/supplier/catalog", web::get().to(catalog_page))
        .route("/supplier/catalog/profile", web::post().to(save_supplier))
        .route("/supplier/catalog/upload", web::post().to(upload))
        .route("/supplier/catalog/export.csv", web::get().to(export));
}

/// Errors shown on the page at most; the count says how many more there were.
const SHOWN_ERRORS: usize = 200;
const HANDLING_CHOICES: &[i32] = &[24, 48, 72, 96];
const RETURN_CHOICES: &[i32] = &[7, 15, 30];

#[derive(Template)]
#[template(path = "suppliers/catalog.html")]
struct CatalogPage {
    ctx: PageCtx,
    supplier: Option<Supplier>,
    region_name: String,
    products: i64,
    skus: i64,
    form: SupplierForm,
    errors: FormErrors,
    upload_errors: Vec<String>,
    more_errors: usize,
    summary: Option<ImportSummary>,
    file_name: String,
}

impl CatalogPage {
    fn regions(&self) -> Vec<(&'static str, &'static str)> {
        REGIONS
            .iter()
            .map(|r| (r.slug, regions::name(r.slug, self.ctx.locale)))
            .collect()
    }
    fn handling_choices(&self) -> &'static [i32] {
        HANDLING_CHOICES
    }
    fn return_choices(&self) -> &'static [i32] {
        RETURN_CHOICES
    }
    fn rating_text(&self, s: &Supplier) -> String {
        format!("{:.1}", s.rating_centi as f64 / 100.0)
    }
    fn percent(&self, bp: &i32) -> String {
        crate::catalog::pricing::percent_text(*bp as i64)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct SupplierForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    handling_hours: String,
    #[serde(default)]
    return_days: String,
    #[serde(default)]
    return_policy: String,
}

fn supplier_user(ctx: &PageCtx) -> AppResult<SessionUser> {
    ctx.require_role(&[Role::Supplier])
}

struct Loaded {
    supplier: Option<Supplier>,
    products: i64,
    skus: i64,
}

async fn load(state: &AppState, user_id: i64) -> AppResult<Loaded> {
    state
        .db(move |conn| {
            let supplier = model::supplier_of_user(conn, user_id)?;
            let (products, skus) = match &supplier {
                Some(s) => model::supplier_counts(conn, s.id)?,
                None => (0, 0),
            };
            Ok(Loaded {
                supplier,
                products,
                skus,
            })
        })
        .await
}

fn page(ctx: PageCtx, loaded: Loaded) -> CatalogPage {
    let region_name = loaded
        .supplier
        .as_ref()
        .map(|s| regions::name(&s.region, ctx.locale).to_string())
        .unwrap_or_default();
    CatalogPage {
        ctx,
        supplier: loaded.supplier,
        region_name,
        products: loaded.products,
        skus: loaded.skus,
        form: SupplierForm {
            handling_hours: "48".into(),
            return_days: "7".into(),
            ..Default::default()
        },
        errors: FormErrors::default(),
        upload_errors: Vec::new(),
        more_errors: 0,
        summary: None,
        file_name: String::new(),
    }
}

pub async fn catalog_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    if user.role != Role::Supplier {
        return Err(AppError::Forbidden);
    }
    let loaded = load(&state, user.id).await?;
    render_with_status(&page(ctx, loaded), StatusCode::OK)
}

pub async fn save_supplier(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SupplierForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = supplier_user(&ctx)?;
    let mut errors = FormErrors::default();
    let name = form.name.trim().to_string();
    if name.chars().count() < 2 || name.chars().count() > 80 || !is_printable_text(&name) {
        errors.add("name", ctx.t("supplier_portal.name_invalid"));
    }
    let region = regions::index_of(form.region.trim());
    if region.is_none() {
        errors.add("region", ctx.t("validation.choice_invalid"));
    }
    let handling = form
        .handling_hours
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|h| HANDLING_CHOICES.contains(h));
    if handling.is_none() {
        errors.add("handling_hours", ctx.t("validation.choice_invalid"));
    }
    let return_days = form
        .return_days
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|d| RETURN_CHOICES.contains(d));
    if return_days.is_none() {
        errors.add("return_days", ctx.t("validation.choice_invalid"));
    }
    let policy = form.return_policy.trim().to_string();
    if policy.chars().count() > 500 || !is_printable_text(&policy.replace('\n', " ")) {
        errors.add("return_policy", ctx.t("supplier_portal.policy_invalid"));
    }
    let loaded = load(&state, user.id).await?;
    if loaded.supplier.is_some() {
        // One supplier record per account; it is created once.
        return Ok(see_other("/supplier/catalog"));
    }
    let (Some(region), Some(handling), Some(return_days), true) =
        (region, handling, return_days, errors.is_empty())
    else {
        let mut view = page(ctx, loaded);
        view.form = form;
        view.errors = errors;
        return render_with_status(&view, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let now = state.now().naive_utc();
    let policy = if policy.is_empty() {
        format!("{return_days}-day no-reason returns.")
    } else {
        policy
    };
    let uid = user.id;
    state
        .db(move |conn| {
            model::create_supplier(
                conn,
                Supplier {
                    id: 0,
                    code: format!("acct-{uid}"),
                    name,
                    user_id: Some(uid),
                    region: REGIONS[region].slug.to_string(),
                    // A new supplier starts from the platform's neutral prior; ratings and
                    // reliability move with its real orders.
                    rating_centi: 450,
                    handling_hours: handling,
                    reliability_bp: 9_500,
                    return_days,
                    return_policy: policy,
                    created_at: now,
                },
            )?;
            Ok(())
        })
        .await?;
    state.refresh_catalog().await?;
    let mut response = see_other("/supplier/catalog");
    response
        .add_cookie(&flash_cookie("flash.supplier_saved", &state.settings))
        .ok();
    Ok(response)
}

/// What the upload form sent, read with the size limit enforced while reading.
struct Upload {
    file: Vec<u8>,
    file_name: String,
    skip_invalid: bool,
    too_large: bool,
}

async fn read_upload(
    req: &HttpRequest,
    state: &AppState,
    mut payload: Multipart,
) -> AppResult<Upload> {
    let binding = req
        .extensions()
        .get::<RequestContext>()
        .map(RequestContext::csrf_binding);
    // Without a verified token, any unreadable body is refused like a missing token.
    let fail = |token_ok: bool| {
        if token_ok {
            AppError::bad_request("errors.bad_form", "multipart")
        } else {
            AppError::Csrf
        }
    };
    let mut upload = Upload {
        file: Vec::new(),
        file_name: String::new(),
        skip_invalid: false,
        too_large: false,
    };
    let mut token_ok = false;
    let limit = ImportLimits::UPLOAD.max_bytes;
    while let Some(mut field) = payload.try_next().await.map_err(|_| fail(token_ok))? {
        let name = field.name().unwrap_or("").to_string();
        // The token comes first in the form, so nothing else is read without it.
        if !token_ok && name != "csrf" {
            return Err(AppError::Csrf);
        }
        match name.as_str() {
            "csrf" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(|_| fail(token_ok))? {
                    value.extend_from_slice(&chunk);
                    if value.len() > 256 {
                        return Err(AppError::Csrf);
                    }
                }
                let token = String::from_utf8_lossy(&value).to_string();
                token_ok = matches!(&binding, Some(b) if state.csrf.verify(b, &token));
                if !token_ok {
                    return Err(AppError::Csrf);
                }
            }
            "file" => {
                upload.file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(120)
                    .collect();
                while let Some(chunk) = field.try_next().await.map_err(|_| fail(token_ok))? {
                    if upload.file.len() + chunk.len() > limit {
                        upload.too_large = true;
                        // Drain the rest without keeping it.
                        while field
                            .try_next()
                            .await
                            .map_err(|_| fail(token_ok))?
                            .is_some()
                        {}
                        break;
                    }
                    upload.file.extend_from_slice(&chunk);
                }
            }
            "skip_invalid" => {
                upload.skip_invalid = true;
                while field
                    .try_next()
                    .await
                    .map_err(|_| fail(token_ok))?
                    .is_some()
                {}
            }
            _ => {
                while field
                    .try_next()
                    .await
                    .map_err(|_| fail(token_ok))?
                    .is_some()
                {}
            }
        }
    }
    if !token_ok {
        return Err(AppError::Csrf);
    }
    Ok(upload)
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: Multipart,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let upload = read_upload(&req, &state, payload).await?;
    let user = supplier_user(&ctx)?;
    let loaded = load(&state, user.id).await?;
    let Some(supplier) = loaded.supplier.clone() else {
        return Ok(see_other("/supplier/catalog"));
    };
    let mut view = page(ctx, loaded);
    view.file_name = upload.file_name.clone();
    if upload.too_large {
        view.upload_errors = vec![view.ctx.tf(
            "supplier_portal.too_large",
            &[(
                "mib",
                &(ImportLimits::UPLOAD.max_bytes / (1024 * 1024)).to_string(),
            )],
        )];
        return render_with_status(&view, StatusCode::PAYLOAD_TOO_LARGE);
    }
    if upload.file.is_empty() {
        view.upload_errors = vec![view.ctx.t("supplier_portal.no_file")];
        return render_with_status(&view, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let now = state.now().naive_utc();
    let skip = upload.skip_invalid;
    let file = upload.file;
    let result = state
        .db(move |conn| {
            let parsed = csv_io::parse(&file, &ImportLimits::UPLOAD);
            let rows = parsed.errors.clone();
            match csv_io::import(conn, &supplier, &parsed, skip, now, |_| {}) {
                Ok(summary) => Ok(Ok((summary, rows))),
                Err(ImportError::Invalid(errors)) => Ok(Err(errors)),
                Err(ImportError::Db(e)) => Err(e.into()),
            }
        })
        .await?;
    match result {
        Ok((summary, skipped)) => {
            state.refresh_catalog().await?;
            let loaded = load(&state, user.id).await?;
            view.products = loaded.products;
            view.skus = loaded.skus;
            view.summary = Some(summary);
            view.more_errors = skipped.len().saturating_sub(SHOWN_ERRORS);
            view.upload_errors = skipped
                .iter()
                .take(SHOWN_ERRORS)
                .map(|e| e.message(view.ctx.locale))
                .collect();
            render_with_status(&view, StatusCode::OK)
        }
        Err(errors) => {
            view.more_errors = errors.len().saturating_sub(SHOWN_ERRORS);
            view.upload_errors = errors
                .iter()
                .take(SHOWN_ERRORS)
                .map(|e| e.message(view.ctx.locale))
                .collect();
            render_with_status(&view, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

pub async fn export(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<HttpResponse> {
    if user.role != Role::Supplier {
        return Err(AppError::Forbidden);
    }
    let uid = user.id;
    let (code, body) = state
        .db(move |conn| {
            let supplier = model::supplier_of_user(conn, uid)?.ok_or(AppError::NotFound)?;
            let mut out = Vec::new();
            csv_io::export(conn, Some(&supplier), &mut out)?;
            Ok((supplier.code, out))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"kaibo-catalog-{code}.csv\""),
        ))
        .body(body))
}
