//! Quiz item analysis, following Moodle's "Quiz statistics" report.
//!
//! Pure functions over already-loaded attempts; no database access here.
//!
//! Definitions (x = one item's score in one attempt, X = the attempt's total):
//!
//! * **Facility index**: `mean(x) / x_max`. Every response is first turned into a
//!   fraction `score / max` of its *own* maximum, so an item whose point value changed
//!   between quiz versions still averages correctly. A maximum of 0 counts as 0.
//! * **Standard deviation**: the sample (n − 1) standard deviation of those fractions.
//! * **Discrimination index**: Pearson's r between the item fraction and the
//!   rest of the test `X′ = X − x`, expressed as a fraction of the rest's own maximum
//!   (`(total − score) / (total_max − max)`). Both variables are "fractions of their own
//!   maximum", so the scaling is consistent; when every attempt has the same maxima this is
//!   exactly Moodle's `r(x, X′)` on raw marks, because Pearson's r is scale-invariant.
//!
//! Fractions are clamped to `0..=1` (negative marking or bad data cannot push the
//! facility outside its documented range). Means, variances and covariances are
//! accumulated with Welford's online algorithm: it is single pass, numerically stable,
//! and yields an *exact* zero variance for constant data, so "all correct" reliably gives
//! `None` rather than a correlation computed from rounding noise. No NaN or infinity is
//! ever returned: too little data or a zero variance gives `None`.

use std::collections::HashMap;

/// Facility above which an item is flagged as too easy.
pub const TOO_EASY_ABOVE: f64 = 0.95;
/// Facility below which an item is flagged as too hard.
pub const TOO_HARD_BELOW: f64 = 0.2;
/// Discrimination below which an item is flagged as not discriminating.
pub const LOW_DISCRIMINATION_BELOW: f64 = 0.2;
/// How many distinct typed answers are reported per text question.
pub const TOP_ANSWERS: usize = 5;

/// One answered question inside one attempt.
#[derive(Debug, Clone)]
pub struct ItemResponse {
    pub question_id: String,
    /// Points * 1000 earned.
    pub score_milli: i64,
    /// Points * 1000 possible.
    pub max_milli: i64,
    /// Option ids picked (`a`, `b`, ...) for choice questions; empty for text answers.
    pub picked: Vec<String>,
    /// The typed answer for short/numeric questions.
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt_id: i64,
    pub responses: Vec<ItemResponse>,
}

/// What the current quiz file says about a question (order = file order).
#[derive(Debug, Clone)]
pub struct QuestionSpec {
    pub id: String,
    /// Option ids in file order (`a`, `b`, ...); empty for short/numeric questions.
    pub options: Vec<String>,
    /// The option ids that are correct.
    pub correct: Vec<String>,
}

/// The whole report: quiz-level summary plus one [`ItemStats`] per question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuizAnalysis {
    pub attempts: usize,
    /// Mean total score as a fraction 0..=1 of the attempt's max; None without attempts.
    pub mean: Option<f64>,
    /// Sample standard deviation (n-1) of the total score fraction; None with fewer than 2 attempts.
    pub sd: Option<f64>,
    pub items: Vec<ItemStats>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    pub question_id: String,
    /// False when the question is not in `questions` (it was removed or renamed in a later
    /// version of the quiz).
    pub known: bool,
    pub responses: usize,
    /// Facility index: mean item score / item max, 0..=1. None with no responses.
    pub facility: Option<f64>,
    /// Standard deviation of the item score fraction (score/max), sample (n-1). None with
    /// fewer than 2 responses.
    pub sd: Option<f64>,
    /// Discrimination index: Pearson correlation between the item score and the rest of
    /// the test (the attempt's total minus this item), -1..=1. None when fewer than 2
    /// responses or either variance is zero ("not enough data").
    pub discrimination: Option<f64>,
    /// Spec options in file order, then picked ids the spec does not know (sorted).
    pub options: Vec<OptionCount>,
    /// For text questions: the most frequent answers (trimmed, case-folded), most common
    /// first (ties alphabetical), at most 5.
    pub top_answers: Vec<(String, usize)>,
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionCount {
    pub id: String,
    pub correct: bool,
    pub count: usize,
    /// Share of the item's responses that picked this option, 0..=1; None if no responses.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    TooEasy,
    TooHard,
    LowDiscrimination,
}

impl Flag {
    /// The i18n key describing the flag.
    pub fn key(self) -> &'static str {
        match self {
            Flag::TooEasy => "stats.flag_too_easy",
            Flag::TooHard => "stats.flag_too_hard",
            Flag::LowDiscrimination => "stats.flag_low_discrimination",
        }
    }
}

/// Welford accumulator for the mean/variance of one variable.
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    n: usize,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean).filter(|m| m.is_finite())
    }

    /// Sample variance (n − 1), `None` with fewer than two values.
    fn variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let v = (self.m2 / (self.n - 1) as f64).max(0.0);
        v.is_finite().then_some(v)
    }

    fn sd(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }
}

/// Welford accumulator for two variables and their co-moment.
#[derive(Debug, Default, Clone, Copy)]
struct CoMoments {
    x: Moments,
    y: Moments,
    cxy: f64,
}

impl CoMoments {
    fn push(&mut self, x: f64, y: f64) {
        // Covariance update uses the *old* x mean and the *new* y mean.
        let dx = x - self.x.mean;
        self.x.push(x);
        self.y.push(y);
        self.cxy += dx * (y - self.y.mean);
    }

    /// Pearson's r; `None` with fewer than two pairs or a zero variance.
    fn correlation(&self) -> Option<f64> {
        if self.x.n < 2 || self.x.m2 <= 0.0 || self.y.m2 <= 0.0 {
            return None;
        }
        let r = self.cxy / (self.x.m2 * self.y.m2).sqrt();
        r.is_finite().then(|| r.clamp(-1.0, 1.0))
    }
}

/// `score / max` clamped to `0..=1`; a non-positive max counts as 0.
fn fraction(score: i64, max: i64) -> f64 {
    if max <= 0 {
        0.0
    } else {
        (score as f64 / max as f64).clamp(0.0, 1.0)
    }
}

/// Per-question accumulator.
struct ItemAcc<'q> {
    question_id: String,
    spec: Option<&'q QuestionSpec>,
    stats: CoMoments,
    /// Counts for `spec.options`, same order.
    option_counts: Vec<usize>,
    /// Picked ids not in the spec (all picks for unknown questions).
    extra_options: HashMap<String, usize>,
    answers: HashMap<String, usize>,
}

impl<'q> ItemAcc<'q> {
    fn new(question_id: String, spec: Option<&'q QuestionSpec>) -> Self {
        ItemAcc {
            question_id,
            spec,
            stats: CoMoments::default(),
            option_counts: vec![0; spec.map_or(0, |s| s.options.len())],
            extra_options: HashMap::new(),
            answers: HashMap::new(),
        }
    }

    fn record_choices(&mut self, picked: &[String]) {
        for pick in picked {
            let known = self
                .spec
                .and_then(|s| s.options.iter().position(|o| o == pick));
            match known {
                Some(i) => self.option_counts[i] += 1,
                None => bump(&mut self.extra_options, pick),
            }
        }
    }

    fn record_text(&mut self, text: &str) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return;
        }
        // Only allocate a folded copy when folding would change something.
        if trimmed.chars().any(char::is_uppercase) {
            bump(&mut self.answers, &trimmed.to_lowercase());
        } else {
            bump(&mut self.answers, trimmed);
        }
    }

    fn finish(self) -> ItemStats {
        let responses = self.stats.x.n;
        let share = |count: usize| (responses > 0).then(|| count as f64 / responses as f64);

        let mut options: Vec<OptionCount> = match self.spec {
            Some(spec) => spec
                .options
                .iter()
                .zip(&self.option_counts)
                .map(|(id, &count)| OptionCount {
                    id: id.clone(),
                    correct: spec.correct.contains(id),
                    count,
                    share: share(count),
                })
                .collect(),
            None => Vec::new(),
        };
        let mut extras: Vec<(String, usize)> = self.extra_options.into_iter().collect();
        extras.sort_unstable();
        options.extend(extras.into_iter().map(|(id, count)| OptionCount {
            correct: self.spec.is_some_and(|s| s.correct.contains(&id)),
            id,
            count,
            share: share(count),
        }));

        let mut top_answers: Vec<(String, usize)> = self.answers.into_iter().collect();
        top_answers.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top_answers.truncate(TOP_ANSWERS);

        let facility = self.stats.x.mean();
        let sd = self.stats.x.sd();
        let discrimination = self.stats.correlation();

        let mut flags = Vec::new();
        if let Some(f) = facility {
            if f > TOO_EASY_ABOVE {
                flags.push(Flag::TooEasy);
            }
            if f < TOO_HARD_BELOW {
                flags.push(Flag::TooHard);
            }
        }
        if discrimination.is_some_and(|d| d < LOW_DISCRIMINATION_BELOW) {
            flags.push(Flag::LowDiscrimination);
        }

        ItemStats {
            question_id: self.question_id,
            known: self.spec.is_some(),
            responses,
            facility,
            sd,
            discrimination,
            options,
            top_answers,
            flags,
        }
    }
}

/// Increments `map[key]`, allocating the key only the first time it is seen.
fn bump(map: &mut HashMap<String, usize>, key: &str) {
    match map.get_mut(key) {
        Some(c) => *c += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// Computes the item analysis for `attempts` against the current `questions`.
///
/// Items come out in `questions` order, followed by question ids that only occur in the
/// responses (sorted, `known = false`). Runs in O(attempts × questions).
pub fn analyse(questions: &[QuestionSpec], attempts: &[AttemptRecord]) -> QuizAnalysis {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(questions.len());
    let mut items: Vec<ItemAcc<'_>> = Vec::with_capacity(questions.len());
    for q in questions {
        // A duplicated id in the quiz file keeps its first position.
        if !index.contains_key(q.id.as_str()) {
            index.insert(q.id.as_str(), items.len());
            items.push(ItemAcc::new(q.id.clone(), Some(q)));
        }
    }
    // Question ids seen only in responses; borrowed from `attempts`, no allocation.
    let mut unknown: HashMap<&str, usize> = HashMap::new();

    let mut totals = Moments::default();
    for attempt in attempts {
        let (total, total_max) = attempt.responses.iter().fold((0i64, 0i64), |(s, m), r| {
            (
                s.saturating_add(r.score_milli),
                m.saturating_add(r.max_milli),
            )
        });
        totals.push(fraction(total, total_max));

        for r in &attempt.responses {
            let qid = r.question_id.as_str();
            let slot = match index.get(qid).or_else(|| unknown.get(qid)) {
                Some(&i) => i,
                None => {
                    let i = items.len();
                    items.push(ItemAcc::new(r.question_id.clone(), None));
                    unknown.insert(qid, i);
                    i
                }
            };
            let item = &mut items[slot];
            let x = fraction(r.score_milli, r.max_milli);
            let rest = fraction(
                total.saturating_sub(r.score_milli),
                total_max.saturating_sub(r.max_milli),
            );
            item.stats.push(x, rest);
            item.record_choices(&r.picked);
            if let Some(text) = &r.text {
                item.record_text(text);
            }
        }
    }

    let known_len = index.len();
    let mut extra = items.split_off(known_len);
    extra.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    items.extend(extra);

    QuizAnalysis {
        attempts: attempts.len(),
        mean: totals.mean(),
        sd: totals.sd(),
        items: items.into_iter().map(ItemAcc::finish).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn resp(q: &str, score: i64, max: i64) -> ItemResponse {
        ItemResponse {
            question_id: q.to_owned(),
            score_milli: score,
            max_milli: max,
            picked: Vec::new(),
            text: None,
        }
    }

    fn pick(q: &str, score: i64, max: i64, picked: &[&str]) -> ItemResponse {
        ItemResponse {
            picked: picked.iter().map(|p| (*p).to_owned()).collect(),
            ..resp(q, score, max)
        }
    }

    fn typed(q: &str, score: i64, text: &str) -> ItemResponse {
        ItemResponse {
            text: Some(text.to_owned()),
            ..resp(q, score, 1000)
        }
    }

    fn spec(id: &str, options: &[&str], correct: &[&str]) -> QuestionSpec {
        QuestionSpec {
            id: id.to_owned(),
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            correct: correct.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn attempt(id: i64, responses: Vec<ItemResponse>) -> AttemptRecord {
        AttemptRecord {
            attempt_id: id,
            responses,
        }
    }

    fn close(actual: Option<f64>, expected: f64) {
        let a = actual.expect("value present");
        assert!((a - expected).abs() < EPS, "{a} != {expected}");
    }

    fn assert_all_finite(a: &QuizAnalysis) {
        let all = [a.mean, a.sd].into_iter().chain(
            a.items
                .iter()
                .flat_map(|i| [i.facility, i.sd, i.discrimination])
                .chain(
                    a.items
                        .iter()
                        .flat_map(|i| i.options.iter().map(|o| o.share)),
                ),
        );
        for v in all.flatten() {
            assert!(v.is_finite(), "non-finite value in {a:?}");
        }
    }

    /// Hand-computed example: 5 attempts × 3 questions.
    ///
    /// Points (q1 max 1, q2 max 1, q3 max 2; the quiz max is 4):
    ///
    /// | attempt | q1 | q2 | q3 | total |
    /// |---------|----|----|----|-------|
    /// | 1       | 1  | 1  | 2  | 4     |
    /// | 2       | 1  | 0  | 2  | 3     |
    /// | 3       | 1  | 1  | 1  | 3     |
    /// | 4       | 0  | 0  | 1  | 1     |
    /// | 5       | 0  | 1  | 0  | 1     |
    ///
    /// Quiz: total fractions 1, .75, .75, .25, .25 → mean 3/5 = 0.6.
    ///   deviations .4, .15, .15, −.35, −.35; squares .16 + .0225 + .0225 + .1225 + .1225
    ///   = .45; / (5−1) = .1125 → sd = √.1125.
    ///
    /// q1: x = 1,1,1,0,0 → facility 3/5 = 0.6.
    ///   dx = .4,.4,.4,−.6,−.6; Σdx² = 3·.16 + 2·.36 = 1.2; var 1.2/4 = .3 → sd √.3.
    ///   Rest X′ = total − q1 = 3,2,2,1,1 (rest max 3; dividing by a constant 3 does not
    ///   change r, so work in points): mean 1.8; dy = 1.2,.2,.2,−.8,−.8.
    ///   Σdxdy = .48 + .08 + .08 + .48 + .48 = 1.6;
    ///   Σdy² = 1.44 + .04 + .04 + .64 + .64 = 2.8.
    ///   r = 1.6 / √(1.2 · 2.8) = 1.6 / √3.36 ≈ 0.8729. No flags.
    ///
    /// q2: x = 1,0,1,0,1 → facility 0.6, sd √.3 (same multiset as q1).
    ///   X′ = 3,3,2,1,0: mean 1.8; dy = 1.2,1.2,.2,−.8,−1.8; dx = .4,−.6,.4,−.6,.4.
    ///   Σdxdy = .48 − .72 + .08 + .48 − .72 = −.4;
    ///   Σdy² = 1.44 + 1.44 + .04 + .64 + 3.24 = 6.8.
    ///   r = −.4 / √(1.2 · 6.8) = −.4 / √8.16 ≈ −0.1400 → LowDiscrimination.
    ///
    /// q3: fractions 1, 1, .5, .5, 0 → facility 3/5 = 0.6.
    ///   dx = .4,.4,−.1,−.1,−.6; Σdx² = .16 + .16 + .01 + .01 + .36 = .7; var .175 → sd √.175.
    ///   X′ = 2,1,2,0,1 (rest max 2): mean 1.2; dy = .8,−.2,.8,−1.2,−.2.
    ///   Σdxdy = .32 − .08 − .08 + .12 + .12 = .4 (in q3 fractions × rest points);
    ///   Σdy² = .64 + .04 + .64 + 1.44 + .04 = 2.8.
    ///   r = .4 / √(.7 · 2.8) = .4 / √1.96 = .4 / 1.4 = 2/7. No flags (2/7 > 0.2).
    #[test]
    fn hand_computed_five_attempts_three_questions() {
        let questions = [
            spec("q1", &[], &[]),
            spec("q2", &[], &[]),
            spec("q3", &[], &[]),
        ];
        let rows = [(1, 1, 2), (1, 0, 2), (1, 1, 1), (0, 0, 1), (0, 1, 0)];
        let attempts: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, &(a, b, c))| {
                attempt(
                    i as i64,
                    vec![
                        resp("q1", a * 1000, 1000),
                        resp("q2", b * 1000, 1000),
                        resp("q3", c * 1000, 2000),
                    ],
                )
            })
            .collect();

        let a = analyse(&questions, &attempts);
        assert_eq!(a.attempts, 5);
        close(a.mean, 0.6);
        close(a.sd, 0.1125f64.sqrt());

        let ids: Vec<_> = a.items.iter().map(|i| i.question_id.as_str()).collect();
        assert_eq!(ids, ["q1", "q2", "q3"]);
        assert!(a.items.iter().all(|i| i.known && i.responses == 5));

        let [q1, q2, q3] = &a.items[..] else {
            panic!("three items")
        };
        close(q1.facility, 0.6);
        close(q1.sd, 0.3f64.sqrt());
        close(q1.discrimination, 1.6 / 3.36f64.sqrt());
        assert!(q1.flags.is_empty());

        close(q2.facility, 0.6);
        close(q2.sd, 0.3f64.sqrt());
        close(q2.discrimination, -0.4 / 8.16f64.sqrt());
        assert_eq!(q2.flags, [Flag::LowDiscrimination]);

        close(q3.facility, 0.6);
        close(q3.sd, 0.175f64.sqrt());
        close(q3.discrimination, 2.0 / 7.0);
        assert!(q3.flags.is_empty());
        assert_all_finite(&a);
    }

    #[test]
    fn no_attempts_gives_all_none() {
        let questions = [spec("q1", &["a", "b"], &["a"]), spec("q2", &[], &[])];
        let a = analyse(&questions, &[]);
        assert_eq!(a.attempts, 0);
        assert_eq!(a.mean, None);
        assert_eq!(a.sd, None);
        assert_eq!(a.items.len(), 2);
        for item in &a.items {
            assert!(item.known);
            assert_eq!(item.responses, 0);
            assert_eq!(item.facility, None);
            assert_eq!(item.sd, None);
            assert_eq!(item.discrimination, None);
            assert!(item.flags.is_empty());
            assert!(item.top_answers.is_empty());
        }
        assert_eq!(a.items[0].options.len(), 2);
        assert!(
            a.items[0]
                .options
                .iter()
                .all(|o| o.count == 0 && o.share.is_none())
        );
        assert!(a.items[0].options[0].correct);
        assert!(!a.items[0].options[1].correct);

        let empty = analyse(&[], &[]);
        assert!(empty.items.is_empty());
        assert_eq!(empty.mean, None);
    }

    #[test]
    fn one_attempt_has_facility_only() {
        let questions = [spec("q1", &[], &[]), spec("q2", &[], &[])];
        let attempts = [attempt(1, vec![resp("q1", 500, 1000), resp("q2", 0, 1000)])];
        let a = analyse(&questions, &attempts);
        close(a.mean, 0.25);
        assert_eq!(a.sd, None);
        close(a.items[0].facility, 0.5);
        close(a.items[1].facility, 0.0);
        assert_eq!(a.items[1].flags, [Flag::TooHard]);
        for item in &a.items {
            assert_eq!(item.responses, 1);
            assert_eq!(item.sd, None);
            assert_eq!(item.discrimination, None);
        }
        assert_all_finite(&a);
    }

    #[test]
    fn all_correct_item_is_too_easy_without_discrimination() {
        let questions = [spec("easy", &[], &[]), spec("other", &[], &[])];
        let attempts: Vec<_> = (0..4)
            .map(|i| {
                attempt(
                    i,
                    vec![resp("easy", 1000, 1000), resp("other", i * 250, 1000)],
                )
            })
            .collect();
        let a = analyse(&questions, &attempts);
        let easy = &a.items[0];
        close(easy.facility, 1.0);
        close(easy.sd, 0.0);
        assert_eq!(easy.discrimination, None);
        assert_eq!(easy.flags, [Flag::TooEasy]);
        // The rest of the test for "other" is the constant "easy" item (always 1 point),
        // so its rest variance is zero and it has no discrimination either.
        assert_eq!(a.items[1].discrimination, None);
        assert_all_finite(&a);
    }

    #[test]
    fn option_counts_for_multiple_choice() {
        let questions = [spec("mc", &["a", "b", "c"], &["a", "c"])];
        let attempts = [
            attempt(1, vec![pick("mc", 1000, 1000, &["a", "c"])]),
            attempt(2, vec![pick("mc", 500, 1000, &["a"])]),
            attempt(3, vec![pick("mc", 0, 1000, &["b"])]),
            // "z" was an option in an older version of the quiz.
            attempt(4, vec![pick("mc", 0, 1000, &["z", "b"])]),
        ];
        let a = analyse(&questions, &attempts);
        let mc = &a.items[0];
        assert_eq!(mc.responses, 4);
        let got: Vec<_> = mc
            .options
            .iter()
            .map(|o| (o.id.as_str(), o.correct, o.count))
            .collect();
        assert_eq!(
            got,
            [
                ("a", true, 2),
                ("b", false, 2),
                ("c", true, 1),
                ("z", false, 1)
            ]
        );
        close(mc.options[0].share, 0.5);
        close(mc.options[2].share, 0.25);
        close(mc.facility, 1.5 / 4.0);
        assert!(mc.top_answers.is_empty());
    }

    #[test]
    fn unknown_question_ids_come_last_sorted() {
        let questions = [spec("q1", &["a", "b"], &["a"])];
        let attempts = [
            attempt(
                1,
                vec![
                    pick("q1", 1000, 1000, &["a"]),
                    pick("zz-old", 0, 1000, &["d"]),
                    pick("mm-old", 1000, 2000, &["b"]),
                ],
            ),
            attempt(
                2,
                vec![
                    pick("q1", 0, 1000, &["b"]),
                    pick("mm-old", 2000, 2000, &["a", "b"]),
                ],
            ),
        ];
        let a = analyse(&questions, &attempts);
        let ids: Vec<_> = a
            .items
            .iter()
            .map(|i| (i.question_id.as_str(), i.known))
            .collect();
        assert_eq!(ids, [("q1", true), ("mm-old", false), ("zz-old", false)]);
        let mm = &a.items[1];
        assert_eq!(mm.responses, 2);
        close(mm.facility, 0.75);
        let opts: Vec<_> = mm
            .options
            .iter()
            .map(|o| (o.id.as_str(), o.correct, o.count))
            .collect();
        assert_eq!(opts, [("a", false, 1), ("b", false, 2)]);
        let zz = &a.items[2];
        assert_eq!(zz.responses, 1);
        assert_eq!(zz.flags, [Flag::TooHard]);
        assert_all_finite(&a);
    }

    #[test]
    fn text_top_answers_are_trimmed_folded_and_ranked() {
        let questions = [spec("capital", &[], &[])];
        let answers = [
            ("Paris", 1000),
            ("  paris ", 1000),
            ("PARIS", 1000),
            ("Lyon", 0),
            ("lyon", 0),
            ("Berlin", 0),
            ("Rome", 0),
            ("Madrid", 0),
            ("Bern", 0),
            ("   ", 0),
        ];
        let attempts: Vec<_> = answers
            .iter()
            .enumerate()
            .map(|(i, (t, s))| attempt(i as i64, vec![typed("capital", *s, t)]))
            .collect();
        let a = analyse(&questions, &attempts);
        let item = &a.items[0];
        assert_eq!(item.responses, 10);
        close(item.facility, 0.3);
        assert!(item.options.is_empty());
        let top: Vec<_> = item
            .top_answers
            .iter()
            .map(|(s, c)| (s.as_str(), *c))
            .collect();
        assert_eq!(
            top,
            [
                ("paris", 3),
                ("lyon", 2),
                ("berlin", 1),
                ("bern", 1),
                ("madrid", 1)
            ]
        );
    }

    #[test]
    fn zero_max_and_out_of_range_scores_stay_finite() {
        let questions = [spec("q", &[], &[])];
        let attempts = [
            attempt(1, vec![resp("q", 0, 0)]),
            attempt(2, vec![resp("q", 5000, 1000)]),
            attempt(3, vec![resp("q", -1000, 1000)]),
            attempt(4, vec![]),
        ];
        let a = analyse(&questions, &attempts);
        close(a.items[0].facility, 1.0 / 3.0);
        // The rest of the test is always empty (0), so no discrimination.
        assert_eq!(a.items[0].discrimination, None);
        close(a.mean, 0.25);
        assert_all_finite(&a);
    }

    #[test]
    fn flag_keys() {
        assert_eq!(Flag::TooEasy.key(), "stats.flag_too_easy");
        assert_eq!(Flag::TooHard.key(), "stats.flag_too_hard");
        assert_eq!(
            Flag::LowDiscrimination.key(),
            "stats.flag_low_discrimination"
        );
    }

    #[test]
    fn large_input_stays_consistent() {
        let questions: Vec<_> = (0..10)
            .map(|q| spec(&format!("q{q}"), &["a", "b", "c", "d"], &["a"]))
            .collect();
        let letters = ["a", "b", "c", "d"];
        let attempts: Vec<_> = (0..30_000i64)
            .map(|i| {
                let responses = (0..10i64)
                    .map(|q| {
                        let k = ((i * 7 + q * 13) ^ (i / 3)).rem_euclid(4) as usize;
                        pick(
                            &format!("q{q}"),
                            if k == 0 { 1000 } else { 0 },
                            1000,
                            &[letters[k]],
                        )
                    })
                    .collect();
                attempt(i, responses)
            })
            .collect();
        // Speed is measured by the cohort benchmark, not here.
        let a = analyse(&questions, &attempts);
        assert_eq!(a.items.len(), 10);
        for item in &a.items {
            assert_eq!(item.responses, 30_000);
            let picks: usize = item.options.iter().map(|o| o.count).sum();
            assert_eq!(picks, 30_000);
            close(item.facility, item.options[0].count as f64 / 30_000.0);
        }
        assert_all_finite(&a);
    }
}
