//! Whether a trainee has opened a sandbox step (profile, selection, live, after-sales):
//! a step opens when the trainee completes a module that unlocks it, in any course that
//! declares it. A step that no served course declares is open to every trainee, so a
//! deployment without such a course does not lock its trainees out.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use super::progress::CourseProgress;
use crate::courses::model::SandboxStep;
use crate::courses::store::CourseStore;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::web::{PageCtx, render_with_status};

/// A module that would open the step, for the "finish this first" message.
#[derive(Debug, Clone)]
pub struct Unlocker {
    pub course_title: String,
    pub module_title: String,
    pub href: String,
}

#[derive(Debug, Clone)]
pub enum StepAccess {
    Open,
    Locked(Vec<Unlocker>),
}

impl StepAccess {
    pub fn is_open(&self) -> bool {
        matches!(self, StepAccess::Open)
    }
}

pub fn access(
    conn: &mut DbConn,
    courses: &CourseStore,
    user_id: i64,
    step: SandboxStep,
) -> diesel::QueryResult<StepAccess> {
    let mut unlockers = Vec::new();
    for course in courses.served() {
        let Some(module) = course.modules.iter().find(|m| m.unlocks == Some(step)) else {
            continue;
        };
        let progress = CourseProgress::load(conn, user_id, &course.slug)?;
        if progress.module_complete(module) {
            return Ok(StepAccess::Open);
        }
        unlockers.push(Unlocker {
            course_title: course.title.clone(),
            module_title: module.title.clone(),
            href: format!("{}#module-{}", course.url(), module.slug),
        });
    }
    Ok(if unlockers.is_empty() {
        StepAccess::Open
    } else {
        StepAccess::Locked(unlockers)
    })
}

#[derive(Template)]
#[template(path = "learning/step_locked.html")]
struct StepLockedPage {
    ctx: PageCtx,
    step_label: String,
    unlockers: Vec<Unlocker>,
}

/// The 403 page of a step still locked, naming the modules that open it.
pub fn locked_page(
    ctx: PageCtx,
    step: SandboxStep,
    unlockers: Vec<Unlocker>,
) -> AppResult<HttpResponse> {
    let step_label = ctx.t(step.label_key());
    render_with_status(
        &StepLockedPage {
            ctx,
            step_label,
            unlockers,
        },
        StatusCode::FORBIDDEN,
    )
}
