//! The landing page and each role's home page.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::accounts::domain::Role;
use crate::accounts::users;
use crate::error::AppResult;
use crate::web::{AppState, CurrentUser, PageCtx, render, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing))
        .route("/home", web::get().to(home))
        .route("/instructor", web::get().to(instructor_home))
        .route("/supplier", web::get().to(supplier_home))
        .route("/admin", web::get().to(admin_home));
}

#[derive(Template)]
#[template(path = "home/landing.html")]
struct Landing {
    ctx: PageCtx,
}

async fn landing(ctx: PageCtx) -> AppResult<HttpResponse> {
    if let Some(user) = &ctx.user {
        return Ok(see_other(user.role.home_path()));
    }
    render(&Landing { ctx })
}

async fn home(CurrentUser(user): CurrentUser) -> HttpResponse {
    see_other(user.role.home_path())
}

#[derive(Template)]
#[template(path = "home/role.html")]
struct RoleHome {
    ctx: PageCtx,
    name: String,
    title_key: &'static str,
    intro_key: &'static str,
}

/// Instructors and suppliers get a page that says where they are; their tools arrive
/// with the course and catalog features.
fn role_home(
    user: CurrentUser,
    ctx: PageCtx,
    role: Role,
    title_key: &'static str,
    intro_key: &'static str,
) -> AppResult<HttpResponse> {
    let user = user.require(&[role])?;
    render(&RoleHome {
        name: user.display_name.clone(),
        title_key,
        intro_key,
        ctx,
    })
}

async fn instructor_home(user: CurrentUser, ctx: PageCtx) -> AppResult<HttpResponse> {
    role_home(
        user,
        ctx,
        Role::Instructor,
        "home.instructor_title",
        "home.instructor_intro",
    )
}

async fn supplier_home(user: CurrentUser, ctx: PageCtx) -> AppResult<HttpResponse> {
    role_home(
        user,
        ctx,
        Role::Supplier,
        "home.supplier_title",
        "home.supplier_intro",
    )
}

#[derive(Template)]
#[template(path = "home/admin.html")]
struct AdminHome {
    ctx: PageCtx,
    name: String,
    accounts: i64,
    backend: &'static str,
}

async fn admin_home(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Admin])?;
    let (accounts, backend) = state
        .db(|conn| Ok((users::count(conn)?, conn.backend().name())))
        .await?;
    render(&AdminHome {
        name: user.display_name.clone(),
        accounts,
        backend,
        ctx,
    })
}
