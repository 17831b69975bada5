//! What the trainee dashboard computes from a course and a trainee's progress: module
//! bars, where to continue, and the sandbox steps the course unlocks.

use crate::courses::model::{Course, Module, SandboxStep};

use super::progress::CourseProgress;
use super::visits::Visit;

/// Completed parts of a module (its lessons, and its quiz if it has one), in percent.
pub fn module_percent(progress: &CourseProgress, module: &Module) -> u32 {
    let total = module.lessons.len() + usize::from(module.quiz.is_some());
    if total == 0 {
        return if progress.module_complete(module) {
            100
        } else {
            0
        };
    }
    let done = module
        .lessons
        .iter()
        .filter(|l| progress.lesson_done(&module.slug, &l.slug))
        .count()
        + usize::from(module.quiz.is_some() && progress.passed_quizzes.contains(&module.slug));
    (done * 100 / total) as u32
}

/// A place in the course: a lesson, or a module's quiz.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub url: String,
    pub module_title: String,
    /// The lesson title, or `None` for the module's quiz.
    pub lesson_title: Option<String>,
}

/// Where to pick up: the first unfinished, unlocked lesson or quiz at or after the
/// last lesson visited (wrapping round to the start), or `None` when all is done.
pub fn continue_at(
    course: &Course,
    progress: &CourseProgress,
    last: Option<&Visit>,
) -> Option<Place> {
    let mut items: Vec<(Place, bool, (String, Option<String>))> = Vec::new();
    for m in &course.modules {
        let open = progress.unlocked(course, m);
        for l in &m.lessons {
            items.push((
                Place {
                    url: format!("/courses/{}/{}/{}", course.slug, m.slug, l.slug),
                    module_title: m.title.clone(),
                    lesson_title: Some(l.title.clone()),
                },
                open && !progress.lesson_done(&m.slug, &l.slug),
                (m.slug.clone(), Some(l.slug.clone())),
            ));
        }
        if m.quiz.is_some() {
            items.push((
                Place {
                    url: format!("/courses/{}/{}/quiz", course.slug, m.slug),
                    module_title: m.title.clone(),
                    lesson_title: None,
                },
                open && !progress.passed_quizzes.contains(&m.slug),
                (m.slug.clone(), None),
            ));
        }
    }
    let start = last
        .and_then(|v| {
            items
                .iter()
                .position(|(_, _, (m, l))| *m == v.module && l.as_deref() == Some(&v.lesson))
        })
        .unwrap_or(0);
    let n = items.len();
    (0..n)
        .map(|i| &items[(start + i) % n])
        .find(|(_, todo, _)| *todo)
        .map(|(place, _, _)| place.clone())
}

/// A sandbox step a course unlocks, and whether this trainee has unlocked it.
#[derive(Debug, Clone)]
pub struct StepState<'c> {
    pub step: SandboxStep,
    pub module: &'c Module,
    pub unlocked: bool,
}

impl StepState<'_> {
    /// The page for the step, where it exists yet.
    pub fn href(&self) -> Option<&'static str> {
        match self.step {
            SandboxStep::Profile => Some("/profile"),
            SandboxStep::Selection => Some("/selection"),
            _ => None,
        }
    }
}

/// Steps in sandbox order, each with the module that unlocks it.
pub fn sandbox_steps<'c>(course: &'c Course, progress: &CourseProgress) -> Vec<StepState<'c>> {
    SandboxStep::ALL
        .iter()
        .filter_map(|step| {
            let module = course.modules.iter().find(|m| m.unlocks == Some(*step))?;
            Some(StepState {
                step: *step,
                module,
                unlocked: progress.module_complete(module),
            })
        })
        .collect()
}

/// The step to show as "next": the first one still locked, or the last one when every
/// step is open.
pub fn next_step<'a, 'c>(steps: &'a [StepState<'c>]) -> Option<&'a StepState<'c>> {
    steps.iter().find(|s| !s.unlocked).or(steps.last())
}
