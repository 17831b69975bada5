//! The courses the server is serving. Loaded at start; with `--watch`, a course is
//! reloaded when one of its files changes. A course with errors is not served at first
//! start; once served, a broken edit leaves the last good version serving while
//! instructors see the diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::diagnostics::Diagnostic;
use super::loader;
use super::model::Course;

#[derive(Debug, Clone, Default)]
pub struct CourseState {
    /// The version trainees see: the last one that loaded without errors.
    pub served: Option<Arc<Course>>,
    /// Findings of the most recent load.
    pub diagnostics: Vec<Diagnostic>,
    /// The files as they are now when they have errors: what an instructor previews.
    pub draft: Option<Arc<Course>>,
}

impl CourseState {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

#[derive(Debug)]
pub struct CourseStore {
    root: PathBuf,
    courses: RwLock<BTreeMap<String, CourseState>>,
}

impl CourseStore {
    /// Loads every course under `root`. A missing folder gives an empty store.
    pub fn load(root: &Path) -> Self {
        let store = Self {
            root: root.to_path_buf(),
            courses: RwLock::new(BTreeMap::new()),
        };
        store.reload_all();
        store
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn reload_all(&self) {
        let dirs = loader::course_dirs(&self.root).unwrap_or_else(|e| {
            tracing::warn!(root = %self.root.display(), error = %e, "cannot read the courses folder");
            Vec::new()
        });
        let present: Vec<String> = dirs
            .iter()
            .filter_map(|d| d.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .collect();
        for slug in &present {
            self.reload(slug);
        }
        self.write().retain(|slug, _| present.contains(slug));
    }

    /// Reloads one course folder (or forgets it if the folder is gone).
    pub fn reload(&self, slug: &str) {
        let dir = self.root.join(slug);
        if !dir.is_dir() {
            self.write().remove(slug);
            return;
        }
        let loaded = loader::load_course(&dir);
        for d in &loaded.diagnostics {
            if d.is_error() {
                tracing::error!(course = slug, "{}", d.short());
            } else {
                tracing::warn!(course = slug, "{}", d.short());
            }
        }
        let mut courses = self.write();
        let state = courses.entry(slug.to_string()).or_default();
        match loaded.course {
            Some(course) => {
                tracing::info!(
                    course = slug,
                    lessons = course.lesson_count(),
                    "course loaded"
                );
                state.served = Some(Arc::new(course));
            }
            None if state.served.is_some() => {
                tracing::warn!(
                    course = slug,
                    "course has errors; the last good version keeps serving"
                );
            }
            None => tracing::error!(course = slug, "course has errors and is not served"),
        }
        state.diagnostics = loaded.diagnostics;
        state.draft = loaded.draft.map(Arc::new);
    }

    pub fn get(&self, slug: &str) -> Option<Arc<Course>> {
        self.read().get(slug).and_then(|s| s.served.clone())
    }

    /// Served courses, in folder order.
    pub fn served(&self) -> Vec<Arc<Course>> {
        self.read()
            .values()
            .filter_map(|s| s.served.clone())
            .collect()
    }

    /// Every course folder with its state, for instructors.
    pub fn states(&self) -> Vec<(String, CourseState)> {
        self.read()
            .iter()
            .map(|(slug, s)| (slug.clone(), s.clone()))
            .collect()
    }

    pub fn state(&self, slug: &str) -> Option<CourseState> {
        self.read().get(slug).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, CourseState>> {
        self.courses.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, CourseState>> {
        self.courses.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Watches the courses folder and reloads the course whose files changed. Events are
/// gathered for a short moment so an editor's save (often several writes) reloads once.
/// The returned watcher must be kept alive.
pub fn watch(store: Arc<CourseStore>) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })?;
    watcher.watch(&store.root, RecursiveMode::Recursive)?;
    let raw_root = store.root.clone();
    let root = raw_root.canonicalize().unwrap_or_else(|_| raw_root.clone());
    std::thread::Builder::new()
        .name("kaibo-course-watch".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut paths = vec![first];
                while let Ok(more) = rx.recv_timeout(Duration::from_millis(150)) {
                    paths.push(more);
                }
                let mut slugs: Vec<String> = paths
                    .iter()
                    .filter_map(|p| {
                        // A deleted file cannot be canonicalised; try both spellings.
                        let canonical = p.canonicalize().unwrap_or_else(|_| p.clone());
                        let rel = canonical
                            .strip_prefix(&root)
                            .or_else(|_| p.strip_prefix(&raw_root))
                            .or_else(|_| p.strip_prefix(&root))
                            .ok()?;
                        rel.components()
                            .next()
                            .and_then(|c| c.as_os_str().to_str())
                            .map(str::to_string)
                    })
                    .filter(|s| !s.starts_with('.'))
                    .collect();
                slugs.sort();
                slugs.dedup();
                for slug in slugs {
                    tracing::info!(course = %slug, "course files changed; reloading");
                    store.reload(&slug);
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}
