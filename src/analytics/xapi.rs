//! xAPI 1.0.3 statement builders for exporting learning records to a school's
//! Learning Record Store (LRS).
//!
//! Everything here is a pure function: the caller loads the records and the
//! quiz definitions, and these functions turn them into statements as
//! [`serde_json::Value`]s. [`shape_problems`] checks the parts of a statement
//! an LRS rejects on, so the export can test what it sends.
//!
//! Statement ids are UUID v5 values under [`KAIBO_XAPI_NAMESPACE`], keyed by
//! the Kaibo home page and the record (`lesson:…`, `answer:…`, `attempt:…`),
//! so exporting the same record twice gives the same id and the LRS does not
//! store a duplicate.

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The xAPI version every statement declares.
pub const XAPI_VERSION: &str = "1.0.3";

/// Namespace for Kaibo statement ids:
/// `Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://kaibo.example/xapi")`,
/// hard-coded so it never changes (a test checks the derivation).
pub const KAIBO_XAPI_NAMESPACE: Uuid = Uuid::from_u128(0x7349_0b65_316e_5055_ad3e_e11b_2a9a_215d);

/// ADL verb IRIs used by Kaibo.
pub const VERB_COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
pub const VERB_ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
pub const VERB_PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
pub const VERB_FAILED: &str = "http://adlnet.gov/expapi/verbs/failed";

/// ADL activity type IRIs used by Kaibo.
pub const ACTIVITY_COURSE: &str = "http://adlnet.gov/expapi/activities/course";
pub const ACTIVITY_MODULE: &str = "http://adlnet.gov/expapi/activities/module";
pub const ACTIVITY_LESSON: &str = "http://adlnet.gov/expapi/activities/lesson";
pub const ACTIVITY_ASSESSMENT: &str = "http://adlnet.gov/expapi/activities/assessment";
pub const ACTIVITY_INTERACTION: &str = "http://adlnet.gov/expapi/activities/cmi.interaction";

/// The learner, identified by their Kaibo account.
pub struct Actor<'a> {
    /// Kaibo's public base URL, e.g. "https://kaibo.example" (no trailing slash needed; normalise).
    pub home_page: &'a str,
    /// The account name on Kaibo: the user's numeric id as a string.
    pub account_name: String,
    /// Display name (may be Chinese, may contain quotes).
    pub name: &'a str,
}

pub struct CourseRef<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    /// e.g. "en" or "zh-CN"; used as the language map key.
    pub language: &'a str,
}

pub struct ModuleRef<'a> {
    pub slug: &'a str,
    pub title: &'a str,
}

pub struct LessonCompletion<'a> {
    pub course: CourseRef<'a>,
    pub module: ModuleRef<'a>,
    pub lesson_slug: &'a str,
    pub lesson_title: &'a str,
    pub completed_at: DateTime<Utc>,
}

pub enum Interaction<'a> {
    /// Single/multiple/true-false: all option ids in order, with their plain-text labels, and the correct ones.
    Choice {
        options: &'a [(String, String)],
        correct: &'a [String],
    },
    /// Short answer: accepted answers.
    FillIn { accepted: &'a [String] },
    /// Numeric: inclusive range.
    Numeric { min: f64, max: f64 },
    /// The question no longer exists in the current quiz file: no definition details.
    Unknown,
}

pub struct QuestionAnswer<'a> {
    pub course: CourseRef<'a>,
    pub module: ModuleRef<'a>,
    pub quiz_title: &'a str,
    pub attempt_id: i64,
    pub attempt_number: i32,
    pub quiz_version: &'a str,
    pub question_id: &'a str,
    pub question_text: &'a str,
    pub interaction: Interaction<'a>,
    /// Option ids picked, or the typed text, as stored.
    pub response: Response<'a>,
    pub score_milli: i64,
    pub max_milli: i64,
    pub submitted_at: DateTime<Utc>,
}

pub enum Response<'a> {
    Choices(&'a [String]),
    Text(&'a str),
}

pub struct AttemptOutcome<'a> {
    pub course: CourseRef<'a>,
    pub module: ModuleRef<'a>,
    pub quiz_title: &'a str,
    pub attempt_id: i64,
    pub attempt_number: i32,
    pub quiz_version: &'a str,
    pub score_milli: i64,
    pub max_milli: i64,
    pub passed: bool,
    pub submitted_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

/// `completed` statement for a lesson the learner finished.
pub fn lesson_completed(actor: &Actor<'_>, c: &LessonCompletion<'_>) -> Value {
    let home = normalize_home(actor.home_page);
    let lang = normalize_language(c.course.language);
    let iris = Iris::new(&home, c.course.slug, c.module.slug);
    let lesson_iri = format!("{}/{}", iris.module, segment(c.lesson_slug));

    let key = format!(
        "lesson:{}:{}:{}:{}",
        segment(&actor.account_name),
        segment(c.course.slug),
        segment(c.module.slug),
        segment(c.lesson_slug)
    );

    json!({
        "id": statement_id(&home, &key).to_string(),
        "actor": actor_json(actor, &home),
        "verb": verb(VERB_COMPLETED, "completed"),
        "object": activity(&lesson_iri, ACTIVITY_LESSON, c.lesson_title, &lang),
        "result": { "completion": true },
        "context": {
            "contextActivities": {
                "parent": [module_activity(&iris, &c.module, &lang)],
                "grouping": [course_activity(&iris, &c.course, &lang)],
            },
            "language": lang,
        },
        "timestamp": timestamp(&c.completed_at),
        "version": XAPI_VERSION,
    })
}

/// `answered` statement for one question inside a quiz attempt. The object is
/// the question as a `cmi.interaction` activity.
pub fn question_answered(actor: &Actor<'_>, a: &QuestionAnswer<'_>) -> Value {
    let home = normalize_home(actor.home_page);
    let lang = normalize_language(a.course.language);
    let iris = Iris::new(&home, a.course.slug, a.module.slug);
    let question_iri = format!(
        "{}#{}",
        iris.quiz,
        utf8_percent_encode(a.question_id, UNRESERVED_ESCAPE)
    );

    // A question that no longer exists may have lost its text too.
    let name = if a.question_text.trim().is_empty() {
        a.question_id
    } else {
        a.question_text
    };
    let mut object = activity(&question_iri, ACTIVITY_INTERACTION, name, &lang);
    if let Some(definition) = object.get_mut("definition").and_then(Value::as_object_mut) {
        add_interaction(definition, &a.interaction, &lang);
    }

    let response = match a.response {
        Response::Choices(ids) => ids.join("[,]"),
        Response::Text(text) => text.to_owned(),
    };
    let mut result = Map::new();
    result.insert("score".into(), score(a.score_milli, a.max_milli));
    result.insert("success".into(), Value::Bool(a.score_milli >= a.max_milli));
    result.insert("response".into(), Value::String(response));

    let key = format!(
        "answer:{}:{}",
        a.attempt_id,
        utf8_percent_encode(a.question_id, UNRESERVED_ESCAPE)
    );

    json!({
        "id": statement_id(&home, &key).to_string(),
        "actor": actor_json(actor, &home),
        "verb": verb(VERB_ANSWERED, "answered"),
        "object": object,
        "result": Value::Object(result),
        "context": {
            "registration": registration(&home, a.attempt_id).to_string(),
            "contextActivities": {
                "parent": [quiz_activity(&iris, a.quiz_title, &lang)],
                "grouping": [
                    course_activity(&iris, &a.course, &lang),
                    module_activity(&iris, &a.module, &lang),
                ],
            },
            "extensions": quiz_extensions(&home, a.attempt_number, a.quiz_version),
            "language": lang,
        },
        "timestamp": timestamp(&a.submitted_at),
        "version": XAPI_VERSION,
    })
}

/// `passed` / `failed` statement for a whole quiz attempt. The object is the
/// quiz as an assessment activity.
pub fn attempt_finished(actor: &Actor<'_>, a: &AttemptOutcome<'_>) -> Value {
    let home = normalize_home(actor.home_page);
    let lang = normalize_language(a.course.language);
    let iris = Iris::new(&home, a.course.slug, a.module.slug);
    let (verb_id, verb_word) = if a.passed {
        (VERB_PASSED, "passed")
    } else {
        (VERB_FAILED, "failed")
    };

    let key = format!("attempt:{}", a.attempt_id);

    json!({
        "id": statement_id(&home, &key).to_string(),
        "actor": actor_json(actor, &home),
        "verb": verb(verb_id, verb_word),
        "object": quiz_activity(&iris, a.quiz_title, &lang),
        "result": {
            "score": score(a.score_milli, a.max_milli),
            "success": a.passed,
            "completion": true,
        },
        "context": {
            "registration": registration(&home, a.attempt_id).to_string(),
            "contextActivities": {
                "parent": [module_activity(&iris, &a.module, &lang)],
                "grouping": [course_activity(&iris, &a.course, &lang)],
            },
            "extensions": quiz_extensions(&home, a.attempt_number, a.quiz_version),
            "language": lang,
        },
        "timestamp": timestamp(&a.submitted_at),
        "version": XAPI_VERSION,
    })
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/// Everything except RFC 3986 unreserved characters is percent-encoded, so a
/// slug or question id is always a single, literal path segment / fragment.
const UNRESERVED_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Trims whitespace and trailing slashes from the configured base URL.
fn normalize_home(home_page: &str) -> String {
    home_page.trim().trim_end_matches('/').to_owned()
}

/// One percent-encoded path segment. `.` and `..` are encoded too, so IRI
/// normalisation can never fold them away.
fn segment(raw: &str) -> String {
    match raw {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => utf8_percent_encode(raw, UNRESERVED_ESCAPE).to_string(),
    }
}

/// Language map key / `context.language`: `zh_CN` becomes `zh-CN`; anything
/// that is not shaped like an RFC 5646 tag becomes `und` (undetermined).
fn normalize_language(raw: &str) -> String {
    let tag = raw.trim().replace('_', "-");
    if is_language_tag(&tag) {
        tag
    } else {
        "und".to_owned()
    }
}

fn statement_id(home: &str, key: &str) -> Uuid {
    Uuid::new_v5(&KAIBO_XAPI_NAMESPACE, format!("{home} {key}").as_bytes())
}

/// One registration per quiz attempt, shared by the attempt statement and
/// every answered statement of that attempt.
fn registration(home: &str, attempt_id: i64) -> Uuid {
    statement_id(home, &format!("registration:{attempt_id}"))
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn actor_json(actor: &Actor<'_>, home: &str) -> Value {
    let mut agent = Map::new();
    agent.insert("objectType".into(), Value::from("Agent"));
    if !actor.name.trim().is_empty() {
        agent.insert("name".into(), Value::from(actor.name));
    }
    agent.insert(
        "account".into(),
        json!({ "homePage": home, "name": actor.account_name }),
    );
    Value::Object(agent)
}

fn verb(id: &str, word: &str) -> Value {
    json!({ "id": id, "display": { "en-US": word } })
}

fn activity(id: &str, activity_type: &str, name: &str, lang: &str) -> Value {
    json!({
        "objectType": "Activity",
        "id": id,
        "definition": {
            "name": { lang: name },
            "type": activity_type,
        },
    })
}

struct Iris {
    course: String,
    module: String,
    quiz: String,
}

impl Iris {
    fn new(home: &str, course_slug: &str, module_slug: &str) -> Self {
        let course = format!("{home}/courses/{}", segment(course_slug));
        let module = format!("{course}/{}", segment(module_slug));
        let quiz = format!("{module}/quiz");
        Iris {
            course,
            module,
            quiz,
        }
    }
}

fn course_activity(iris: &Iris, course: &CourseRef<'_>, lang: &str) -> Value {
    activity(&iris.course, ACTIVITY_COURSE, course.title, lang)
}

fn module_activity(iris: &Iris, module: &ModuleRef<'_>, lang: &str) -> Value {
    activity(&iris.module, ACTIVITY_MODULE, module.title, lang)
}

fn quiz_activity(iris: &Iris, quiz_title: &str, lang: &str) -> Value {
    activity(&iris.quiz, ACTIVITY_ASSESSMENT, quiz_title, lang)
}

fn quiz_extensions(home: &str, attempt_number: i32, quiz_version: &str) -> Value {
    let mut ext = Map::new();
    ext.insert(
        format!("{home}/xapi/extensions/attempt"),
        Value::from(attempt_number),
    );
    ext.insert(
        format!("{home}/xapi/extensions/quiz-version"),
        Value::from(quiz_version),
    );
    Value::Object(ext)
}

fn add_interaction(definition: &mut Map<String, Value>, interaction: &Interaction<'_>, lang: &str) {
    match interaction {
        Interaction::Choice { options, correct } => {
            definition.insert("interactionType".into(), Value::from("choice"));
            definition.insert(
                "correctResponsesPattern".into(),
                json!([correct.join("[,]")]),
            );
            let choices: Vec<Value> = options
                .iter()
                .map(|(id, label)| json!({ "id": id, "description": { lang: label } }))
                .collect();
            definition.insert("choices".into(), Value::Array(choices));
        }
        Interaction::FillIn { accepted } => {
            definition.insert("interactionType".into(), Value::from("fill-in"));
            definition.insert("correctResponsesPattern".into(), json!(accepted));
        }
        Interaction::Numeric { min, max } => {
            definition.insert("interactionType".into(), Value::from("numeric"));
            // An unbounded side is left empty, as the spec allows.
            let bound = |v: f64| {
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            };
            definition.insert(
                "correctResponsesPattern".into(),
                json!([format!("{}[:]{}", bound(*min), bound(*max))]),
            );
        }
        Interaction::Unknown => {
            definition.insert("interactionType".into(), Value::from("other"));
        }
    }
}

/// `{"scaled", "raw", "min", "max"}` in points (milli / 1000). Out-of-range
/// data is pulled into a shape the LRS accepts: raw never exceeds max, a
/// negative raw lowers min to itself, and scaled is clamped to -1..=1
/// (0 when max is 0).
fn score(score_milli: i64, max_milli: i64) -> Value {
    let max_milli = max_milli.max(0);
    let raw_milli = score_milli.min(max_milli);
    let min_milli = raw_milli.min(0);
    let scaled = if max_milli == 0 {
        0.0
    } else {
        (raw_milli as f64 / max_milli as f64).clamp(-1.0, 1.0)
    };
    json!({
        "scaled": scaled,
        "raw": points(raw_milli),
        "min": points(min_milli),
        "max": points(max_milli),
    })
}

fn points(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

// ---------------------------------------------------------------------------
// Shape check
// ---------------------------------------------------------------------------

const STATEMENT_KEYS: &[&str] = &[
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
];

const INTERACTION_TYPES: &[&str] = &[
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];

/// Checks the parts of the xAPI 1.0.3 statement shape an LRS rejects on: returns the
/// list of problems (empty = valid). Used by tests and by the export's own test.
///
/// Beyond the spec, a missing `id` is reported too: Kaibo relies on
/// deterministic ids to make re-exports idempotent.
pub fn shape_problems(statement: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(st) = statement.as_object() else {
        p.push("statement is not a JSON object".to_owned());
        return p;
    };

    no_nulls(statement, "statement", &mut p);
    for key in st.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            p.push(format!("unknown statement property `{key}`"));
        }
    }

    match st.get("id") {
        None => p.push("id is missing".to_owned()),
        Some(id) => check_uuid(id, "id", &mut p),
    }

    match st.get("actor") {
        None => p.push("actor is missing".to_owned()),
        Some(actor) => check_actor(actor, &mut p),
    }

    match st.get("verb").and_then(Value::as_object) {
        None => p.push("verb is missing or not an object".to_owned()),
        Some(verb) => {
            check_iri(verb.get("id"), "verb.id", &mut p);
            match verb.get("display") {
                None => p.push("verb.display is missing".to_owned()),
                Some(display) => check_language_map(display, "verb.display", &mut p),
            }
        }
    }

    match st.get("object") {
        None => p.push("object is missing".to_owned()),
        Some(object) => check_activity(object, "object", true, &mut p),
    }

    if let Some(result) = st.get("result") {
        check_result(result, &mut p);
    }

    if let Some(context) = st.get("context") {
        check_context(context, &mut p);
    }

    if let Some(ts) = st.get("timestamp") {
        match ts.as_str() {
            Some(s) if DateTime::parse_from_rfc3339(s).is_ok() => {}
            _ => p.push(format!("timestamp {ts} is not an RFC 3339 date-time")),
        }
    }

    if let Some(version) = st.get("version") {
        match version.as_str() {
            Some(v) if v == "1.0" || v.starts_with("1.0.") => {}
            _ => p.push(format!("version {version} is not a 1.0.x version")),
        }
    }

    p
}

fn no_nulls(value: &Value, path: &str, p: &mut Vec<String>) {
    match value {
        Value::Null => p.push(format!("{path} is null")),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                no_nulls(item, &format!("{path}[{i}]"), p);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                no_nulls(v, &format!("{path}.{k}"), p);
            }
        }
        _ => {}
    }
}

fn check_uuid(value: &Value, path: &str, p: &mut Vec<String>) {
    // xAPI wants the hyphenated form (36 characters).
    match value.as_str() {
        Some(s) if s.len() == 36 && Uuid::parse_str(s).is_ok() => {}
        _ => p.push(format!("{path} {value} is not a hyphenated UUID")),
    }
}

fn is_absolute_iri(s: &str) -> bool {
    !s.chars().any(char::is_whitespace) && url::Url::parse(s).is_ok()
}

fn check_iri(value: Option<&Value>, path: &str, p: &mut Vec<String>) {
    match value {
        None => p.push(format!("{path} is missing")),
        Some(v) => match v.as_str() {
            Some(s) if is_absolute_iri(s) => {}
            _ => p.push(format!("{path} {v} is not an absolute IRI")),
        },
    }
}

/// Rough RFC 5646 shape: a 2–8 letter primary subtag, then 1–8 character
/// alphanumeric subtags, separated by `-`.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|s| (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_language_map(value: &Value, path: &str, p: &mut Vec<String>) {
    let Some(map) = value.as_object() else {
        p.push(format!("{path} is not a language map"));
        return;
    };
    if map.is_empty() {
        p.push(format!("{path} is an empty language map"));
    }
    for (tag, text) in map {
        if !is_language_tag(tag) {
            p.push(format!("{path} key `{tag}` is not a language tag"));
        }
        if !text.is_string() {
            p.push(format!("{path}.{tag} is not a string"));
        }
    }
}

fn check_actor(actor: &Value, p: &mut Vec<String>) {
    let Some(agent) = actor.as_object() else {
        p.push("actor is not an object".to_owned());
        return;
    };
    if agent.get("objectType").and_then(Value::as_str) != Some("Agent") {
        p.push("actor.objectType must be \"Agent\"".to_owned());
    }
    if let Some(name) = agent.get("name")
        && !name.is_string()
    {
        p.push("actor.name is not a string".to_owned());
    }
    let identifiers = ["mbox", "mbox_sha1sum", "openid", "account"]
        .iter()
        .filter(|k| agent.contains_key(**k))
        .count();
    if identifiers != 1 {
        p.push(format!(
            "actor must have exactly one identifier, found {identifiers}"
        ));
    }
    if let Some(account) = agent.get("account") {
        match account.as_object() {
            None => p.push("actor.account is not an object".to_owned()),
            Some(account) => {
                check_iri(account.get("homePage"), "actor.account.homePage", p);
                match account.get("name").and_then(Value::as_str) {
                    Some(name) if !name.is_empty() => {}
                    _ => p.push("actor.account.name is missing or empty".to_owned()),
                }
            }
        }
    }
}

/// An Activity. `require_definition` is set for the statement object, whose
/// definition must carry a name and a type.
fn check_activity(value: &Value, path: &str, require_definition: bool, p: &mut Vec<String>) {
    let Some(activity) = value.as_object() else {
        p.push(format!("{path} is not an object"));
        return;
    };
    if activity.get("objectType").and_then(Value::as_str) != Some("Activity") {
        p.push(format!("{path}.objectType must be \"Activity\""));
    }
    check_iri(activity.get("id"), &format!("{path}.id"), p);

    let definition = match activity.get("definition") {
        None if require_definition => {
            p.push(format!("{path}.definition is missing"));
            return;
        }
        None => return,
        Some(d) => d,
    };
    let Some(definition) = definition.as_object() else {
        p.push(format!("{path}.definition is not an object"));
        return;
    };
    let dpath = format!("{path}.definition");

    match definition.get("name") {
        Some(name) => check_language_map(name, &format!("{dpath}.name"), p),
        None if require_definition => p.push(format!("{dpath}.name is missing")),
        None => {}
    }
    if let Some(description) = definition.get("description") {
        check_language_map(description, &format!("{dpath}.description"), p);
    }
    match definition.get("type") {
        Some(t) => check_iri(Some(t), &format!("{dpath}.type"), p),
        None if require_definition => p.push(format!("{dpath}.type is missing")),
        None => {}
    }

    if let Some(kind) = definition.get("interactionType")
        && !kind
            .as_str()
            .is_some_and(|k| INTERACTION_TYPES.contains(&k))
    {
        p.push(format!(
            "{dpath}.interactionType {kind} is not an xAPI interaction type"
        ));
    }
    if let Some(patterns) = definition.get("correctResponsesPattern") {
        let all_strings = patterns
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string));
        if !all_strings {
            p.push(format!(
                "{dpath}.correctResponsesPattern is not an array of strings"
            ));
        }
    }
    for list in ["choices", "scale", "source", "target", "steps"] {
        let Some(components) = definition.get(list) else {
            continue;
        };
        let Some(components) = components.as_array() else {
            p.push(format!("{dpath}.{list} is not an array"));
            continue;
        };
        let mut seen = std::collections::HashSet::new();
        for (i, component) in components.iter().enumerate() {
            let cpath = format!("{dpath}.{list}[{i}]");
            match component.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => {
                    if !seen.insert(id) {
                        p.push(format!("{cpath}.id `{id}` is not unique"));
                    }
                }
                _ => p.push(format!("{cpath}.id is missing or empty")),
            }
            if let Some(description) = component.get("description") {
                check_language_map(description, &format!("{cpath}.description"), p);
            }
        }
    }
    if let Some(extensions) = definition.get("extensions") {
        check_extensions(extensions, &format!("{dpath}.extensions"), p);
    }
}

fn check_result(result: &Value, p: &mut Vec<String>) {
    let Some(result) = result.as_object() else {
        p.push("result is not an object".to_owned());
        return;
    };
    for flag in ["success", "completion"] {
        if let Some(v) = result.get(flag)
            && !v.is_boolean()
        {
            p.push(format!("result.{flag} is not a boolean"));
        }
    }
    if let Some(response) = result.get("response")
        && !response.is_string()
    {
        p.push("result.response is not a string".to_owned());
    }
    let Some(score) = result.get("score") else {
        return;
    };
    let Some(score) = score.as_object() else {
        p.push("result.score is not an object".to_owned());
        return;
    };
    let mut number = |key: &str| -> Option<f64> {
        let v = score.get(key)?;
        let n = v.as_f64();
        if n.is_none() {
            p.push(format!("result.score.{key} is not a number"));
        }
        n
    };
    let scaled = number("scaled");
    let raw = number("raw");
    let min = number("min");
    let max = number("max");
    if let Some(scaled) = scaled
        && !(-1.0..=1.0).contains(&scaled)
    {
        p.push(format!("result.score.scaled {scaled} is outside -1..=1"));
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        p.push(format!("result.score.min {min} is greater than max {max}"));
    }
    if let Some(raw) = raw {
        if let Some(min) = min
            && raw < min
        {
            p.push(format!("result.score.raw {raw} is below min {min}"));
        }
        if let Some(max) = max
            && raw > max
        {
            p.push(format!("result.score.raw {raw} is above max {max}"));
        }
    }
}

fn check_context(context: &Value, p: &mut Vec<String>) {
    let Some(context) = context.as_object() else {
        p.push("context is not an object".to_owned());
        return;
    };
    if let Some(registration) = context.get("registration") {
        check_uuid(registration, "context.registration", p);
    }
    if let Some(language) = context.get("language")
        && !language.as_str().is_some_and(is_language_tag)
    {
        p.push(format!("context.language {language} is not a language tag"));
    }
    if let Some(activities) = context.get("contextActivities") {
        match activities.as_object() {
            None => p.push("context.contextActivities is not an object".to_owned()),
            Some(activities) => {
                for (kind, list) in activities {
                    let path = format!("context.contextActivities.{kind}");
                    if !["parent", "grouping", "category", "other"].contains(&kind.as_str()) {
                        p.push(format!("{path} is not a context activity kind"));
                        continue;
                    }
                    match list {
                        Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                check_activity(item, &format!("{path}[{i}]"), false, p);
                            }
                        }
                        single => check_activity(single, &path, false, p),
                    }
                }
            }
        }
    }
    if let Some(extensions) = context.get("extensions") {
        check_extensions(extensions, "context.extensions", p);
    }
}

fn check_extensions(extensions: &Value, path: &str, p: &mut Vec<String>) {
    match extensions.as_object() {
        None => p.push(format!("{path} is not an object")),
        Some(map) => {
            for key in map.keys() {
                if !is_absolute_iri(key) {
                    p.push(format!("{path} key `{key}` is not an absolute IRI"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap()
    }

    fn actor() -> Actor<'static> {
        Actor {
            home_page: "https://kaibo.example/",
            account_name: "42".to_owned(),
            name: "王小明 \"Ming\"",
        }
    }

    fn course() -> CourseRef<'static> {
        CourseRef {
            slug: "rust-101",
            title: "Rust 入门",
            language: "zh-CN",
        }
    }

    fn module() -> ModuleRef<'static> {
        ModuleRef {
            slug: "ownership",
            title: "所有权",
        }
    }

    fn lesson() -> LessonCompletion<'static> {
        LessonCompletion {
            course: course(),
            module: module(),
            lesson_slug: "borrowing",
            lesson_title: "借用与\"引用\"",
            completed_at: at(),
        }
    }

    fn answer<'a>(
        question_id: &'a str,
        interaction: Interaction<'a>,
        response: Response<'a>,
        score_milli: i64,
        max_milli: i64,
    ) -> QuestionAnswer<'a> {
        QuestionAnswer {
            course: course(),
            module: module(),
            quiz_title: "所有权测验",
            attempt_id: 7,
            attempt_number: 2,
            quiz_version: "v3",
            question_id,
            question_text: "Which of these move?",
            interaction,
            response,
            score_milli,
            max_milli,
            submitted_at: at(),
        }
    }

    fn outcome(passed: bool, score_milli: i64, max_milli: i64) -> AttemptOutcome<'static> {
        AttemptOutcome {
            course: course(),
            module: module(),
            quiz_title: "所有权测验",
            attempt_id: 7,
            attempt_number: 2,
            quiz_version: "v3",
            score_milli,
            max_milli,
            passed,
            submitted_at: at(),
        }
    }

    fn assert_valid(statement: &Value) {
        let problems = shape_problems(statement);
        assert!(problems.is_empty(), "problems: {problems:?}\n{statement:#}");
    }

    #[test]
    fn namespace_matches_its_derivation() {
        assert_eq!(
            KAIBO_XAPI_NAMESPACE,
            Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://kaibo.example/xapi")
        );
    }

    #[test]
    fn lesson_statement_shape_and_values() {
        let s = lesson_completed(&actor(), &lesson());
        assert_valid(&s);
        assert_eq!(s["version"], "1.0.3");
        assert_eq!(s["timestamp"], "2025-03-14T09:26:53.000Z");
        assert_eq!(
            s["actor"],
            json!({
                "objectType": "Agent",
                "name": "王小明 \"Ming\"",
                "account": { "homePage": "https://kaibo.example", "name": "42" },
            })
        );
        assert_eq!(s["verb"]["id"], VERB_COMPLETED);
        assert_eq!(s["verb"]["display"]["en-US"], "completed");
        assert_eq!(
            s["object"],
            json!({
                "objectType": "Activity",
                "id": "https://kaibo.example/courses/rust-101/ownership/borrowing",
                "definition": {
                    "name": { "zh-CN": "借用与\"引用\"" },
                    "type": ACTIVITY_LESSON,
                },
            })
        );
        assert_eq!(s["result"], json!({ "completion": true }));
        let ctx = &s["context"];
        assert_eq!(ctx["language"], "zh-CN");
        assert_eq!(
            ctx["contextActivities"]["parent"][0]["id"],
            "https://kaibo.example/courses/rust-101/ownership"
        );
        assert_eq!(
            ctx["contextActivities"]["grouping"][0],
            json!({
                "objectType": "Activity",
                "id": "https://kaibo.example/courses/rust-101",
                "definition": { "name": { "zh-CN": "Rust 入门" }, "type": ACTIVITY_COURSE },
            })
        );
    }

    #[test]
    fn choice_answer_statement() {
        let options = vec![
            ("a".to_owned(), "let b = a;".to_owned()),
            ("b".to_owned(), "let b = &a;".to_owned()),
            ("c".to_owned(), "f(a)".to_owned()),
        ];
        let correct = vec!["a".to_owned(), "c".to_owned()];
        let picked = vec!["a".to_owned(), "b".to_owned()];
        let a = answer(
            "q1",
            Interaction::Choice {
                options: &options,
                correct: &correct,
            },
            Response::Choices(&picked),
            500,
            1000,
        );
        let s = question_answered(&actor(), &a);
        assert_valid(&s);
        assert_eq!(s["verb"]["id"], VERB_ANSWERED);
        assert_eq!(
            s["object"]["id"],
            "https://kaibo.example/courses/rust-101/ownership/quiz#q1"
        );
        let def = &s["object"]["definition"];
        assert_eq!(def["type"], ACTIVITY_INTERACTION);
        assert_eq!(def["interactionType"], "choice");
        assert_eq!(def["correctResponsesPattern"], json!(["a[,]c"]));
        assert_eq!(
            def["choices"][1],
            json!({ "id": "b", "description": { "zh-CN": "let b = &a;" } })
        );
        assert_eq!(def["choices"].as_array().unwrap().len(), 3);
        assert_eq!(
            s["result"],
            json!({
                "score": { "scaled": 0.5, "raw": 0.5, "min": 0.0, "max": 1.0 },
                "success": false,
                "response": "a[,]b",
            })
        );
        let ctx = &s["context"];
        assert_eq!(
            ctx["contextActivities"]["parent"][0]["id"],
            "https://kaibo.example/courses/rust-101/ownership/quiz"
        );
        assert_eq!(
            ctx["contextActivities"]["parent"][0]["definition"]["type"],
            ACTIVITY_ASSESSMENT
        );
        assert_eq!(
            ctx["contextActivities"]["grouping"][0]["id"],
            "https://kaibo.example/courses/rust-101"
        );
        assert_eq!(
            ctx["extensions"]["https://kaibo.example/xapi/extensions/attempt"],
            2
        );
        assert_eq!(
            ctx["extensions"]["https://kaibo.example/xapi/extensions/quiz-version"],
            "v3"
        );
        assert_eq!(ctx["language"], "zh-CN");
    }

    #[test]
    fn fill_in_numeric_and_unknown_answers() {
        let accepted = vec!["borrow".to_owned(), "借用".to_owned()];
        let s = question_answered(
            &actor(),
            &answer(
                "q2",
                Interaction::FillIn {
                    accepted: &accepted,
                },
                Response::Text("借用"),
                2000,
                2000,
            ),
        );
        assert_valid(&s);
        let def = &s["object"]["definition"];
        assert_eq!(def["interactionType"], "fill-in");
        assert_eq!(def["correctResponsesPattern"], json!(["borrow", "借用"]));
        assert!(def.get("choices").is_none());
        assert_eq!(s["result"]["response"], "借用");
        assert_eq!(s["result"]["success"], true);
        assert_eq!(s["result"]["score"]["scaled"], 1.0);
        assert_eq!(s["result"]["score"]["raw"], 2.0);

        let s = question_answered(
            &actor(),
            &answer(
                "q3",
                Interaction::Numeric { min: 3.0, max: 3.5 },
                Response::Text("3.2"),
                1000,
                1000,
            ),
        );
        assert_valid(&s);
        let def = &s["object"]["definition"];
        assert_eq!(def["interactionType"], "numeric");
        assert_eq!(def["correctResponsesPattern"], json!(["3[:]3.5"]));
        assert_eq!(s["result"]["response"], "3.2");

        let mut a = answer("gone", Interaction::Unknown, Response::Text("x"), 0, 1000);
        a.question_text = "";
        let s = question_answered(&actor(), &a);
        assert_valid(&s);
        let def = &s["object"]["definition"];
        assert_eq!(def["interactionType"], "other");
        assert!(def.get("correctResponsesPattern").is_none());
        assert!(def.get("choices").is_none());
        assert_eq!(def["name"]["zh-CN"], "gone");
        assert_eq!(s["result"]["success"], false);
    }

    #[test]
    fn attempt_statements_pass_and_fail() {
        let s = attempt_finished(&actor(), &outcome(true, 4500, 5000));
        assert_valid(&s);
        assert_eq!(s["verb"]["id"], VERB_PASSED);
        assert_eq!(s["verb"]["display"]["en-US"], "passed");
        assert_eq!(
            s["object"],
            json!({
                "objectType": "Activity",
                "id": "https://kaibo.example/courses/rust-101/ownership/quiz",
                "definition": { "name": { "zh-CN": "所有权测验" }, "type": ACTIVITY_ASSESSMENT },
            })
        );
        assert_eq!(
            s["result"],
            json!({
                "score": { "scaled": 0.9, "raw": 4.5, "min": 0.0, "max": 5.0 },
                "success": true,
                "completion": true,
            })
        );
        assert_eq!(
            s["context"]["extensions"]["https://kaibo.example/xapi/extensions/attempt"],
            2
        );
        assert_eq!(
            s["context"]["contextActivities"]["grouping"][0]["id"],
            "https://kaibo.example/courses/rust-101"
        );

        let s = attempt_finished(&actor(), &outcome(false, 1000, 5000));
        assert_valid(&s);
        assert_eq!(s["verb"]["id"], VERB_FAILED);
        assert_eq!(s["verb"]["display"]["en-US"], "failed");
        assert_eq!(s["result"]["success"], false);
        assert_eq!(s["result"]["completion"], true);
    }

    #[test]
    fn zero_max_and_out_of_range_scores_stay_valid() {
        let s = attempt_finished(&actor(), &outcome(true, 0, 0));
        assert_valid(&s);
        assert_eq!(
            s["result"]["score"],
            json!({ "scaled": 0.0, "raw": 0.0, "min": 0.0, "max": 0.0 })
        );

        let s = attempt_finished(&actor(), &outcome(true, 7000, 5000));
        assert_valid(&s);
        assert_eq!(s["result"]["score"]["scaled"], 1.0);
        assert_eq!(s["result"]["score"]["raw"], 5.0);

        let s = attempt_finished(&actor(), &outcome(false, -12000, 5000));
        assert_valid(&s);
        assert_eq!(s["result"]["score"]["scaled"], -1.0);
        assert_eq!(s["result"]["score"]["min"], -12.0);
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let l1 = lesson_completed(&actor(), &lesson());
        let l2 = lesson_completed(&actor(), &lesson());
        assert_eq!(l1["id"], l2["id"]);

        let mut other_lesson = lesson();
        other_lesson.lesson_slug = "slices";
        let l3 = lesson_completed(&actor(), &other_lesson);
        let other_user = Actor {
            account_name: "43".to_owned(),
            ..actor()
        };
        let l4 = lesson_completed(&other_user, &lesson());

        let q1 = question_answered(
            &actor(),
            &answer("q1", Interaction::Unknown, Response::Text(""), 0, 0),
        );
        let q1_again = question_answered(
            &actor(),
            &answer("q1", Interaction::Unknown, Response::Text(""), 0, 0),
        );
        assert_eq!(q1["id"], q1_again["id"]);
        let q2 = question_answered(
            &actor(),
            &answer("q2", Interaction::Unknown, Response::Text(""), 0, 0),
        );
        let mut other_attempt = answer("q1", Interaction::Unknown, Response::Text(""), 0, 0);
        other_attempt.attempt_id = 8;
        let q3 = question_answered(&actor(), &other_attempt);

        let a1 = attempt_finished(&actor(), &outcome(true, 1, 1));
        let a1_again = attempt_finished(&actor(), &outcome(true, 1, 1));
        assert_eq!(a1["id"], a1_again["id"]);
        let mut next = outcome(true, 1, 1);
        next.attempt_id = 8;
        let a2 = attempt_finished(&actor(), &next);

        // Trailing slash on the home page does not change anything.
        let slashless = Actor {
            home_page: "https://kaibo.example",
            ..actor()
        };
        assert_eq!(lesson_completed(&slashless, &lesson()), l1);

        let ids: Vec<&Value> = [&l1, &l3, &l4, &q1, &q2, &q3, &a1, &a2]
            .iter()
            .map(|s| &s["id"])
            .collect();
        let unique: std::collections::HashSet<String> =
            ids.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");

        // Answers and their attempt share one registration.
        assert_eq!(q1["context"]["registration"], a1["context"]["registration"]);
        assert_ne!(q3["context"]["registration"], a1["context"]["registration"]);
    }

    #[test]
    fn chinese_and_quotes_survive_serialisation() {
        let s = lesson_completed(&actor(), &lesson());
        let text = serde_json::to_string(&s).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        assert_eq!(back["actor"]["name"], "王小明 \"Ming\"");
        assert_eq!(
            back["object"]["definition"]["name"]["zh-CN"],
            "借用与\"引用\""
        );
        assert!(text.contains("王小明 \\\"Ming\\\""));
    }

    #[test]
    fn unsafe_slugs_and_question_ids_are_encoded() {
        let mut l = lesson();
        l.course.slug = "a b/c";
        l.module.slug = "..";
        l.lesson_slug = "课程?x#y";
        l.course.language = "en_US";
        let s = lesson_completed(&actor(), &l);
        assert_valid(&s);
        assert_eq!(
            s["object"]["id"],
            "https://kaibo.example/courses/a%20b%2Fc/%2E%2E/%E8%AF%BE%E7%A8%8B%3Fx%23y"
        );
        assert_eq!(s["context"]["language"], "en-US");
        assert_eq!(s["object"]["definition"]["name"]["en-US"], "借用与\"引用\"");

        let mut a = answer("q 1#x", Interaction::Unknown, Response::Text(""), 0, 1);
        a.course.language = "";
        let s = question_answered(&actor(), &a);
        assert_valid(&s);
        assert_eq!(
            s["object"]["id"],
            "https://kaibo.example/courses/rust-101/ownership/quiz#q%201%23x"
        );
        assert_eq!(s["context"]["language"], "und");
    }

    #[test]
    fn broken_statements_are_reported() {
        let good = attempt_finished(&actor(), &outcome(true, 4500, 5000));

        let mut s = good.clone();
        s.as_object_mut().unwrap().remove("actor");
        let problems = shape_problems(&s);
        assert!(problems.iter().any(|p| p.contains("actor")), "{problems:?}");

        let mut s = good.clone();
        s["result"]["score"]["scaled"] = json!(1.5);
        let problems = shape_problems(&s);
        assert!(
            problems.iter().any(|p| p.contains("scaled")),
            "{problems:?}"
        );

        let mut s = good.clone();
        s["id"] = json!("not-a-uuid");
        let problems = shape_problems(&s);
        assert!(problems.iter().any(|p| p.starts_with("id")), "{problems:?}");

        let mut s = good.clone();
        s["result"]["score"]["raw"] = json!(6.0);
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["actor"]["mbox"] = json!("mailto:a@example.com");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["verb"]["id"] = json!("completed");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["verb"]["display"] = json!({});
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["object"]["objectType"] = json!("StatementRef");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["object"]["definition"]
            .as_object_mut()
            .unwrap()
            .remove("type");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["result"]["success"] = json!("yes");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["timestamp"] = json!("14/03/2025");
        assert!(!shape_problems(&s).is_empty());

        let mut s = good.clone();
        s["context"]["language"] = Value::Null;
        assert!(!shape_problems(&s).is_empty());

        let mut s = good;
        s["extra"] = json!(1);
        assert!(!shape_problems(&s).is_empty());

        assert!(!shape_problems(&json!("statement")).is_empty());
    }
}
