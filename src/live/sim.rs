//! Deterministic audience simulator for rehearsing a live sale.
//!
//! A [`SimConfig`] (seed, show length, creator and audience description, products) plus the
//! seller's timestamped [`Action`] log replays the identical show: every random draw comes
//! from one ChaCha8 stream seeded with `seed`, and draws happen in a fixed order. The
//! [`Engine`] is stepped one simulated second per tick; each [`Tick`] reports viewer count,
//! arrivals, departures, questions asked in chat, product clicks and purchase intents. The
//! caller turns purchase intents into real orders and comments into text. No I/O happens
//! here, and money is always integer fen (`i64`); floats only describe behaviour.
//!
//! # Audience model
//!
//! All tuning constants are named at the top of this file.
//!
//! * **Reach.** Total unique viewers `V` is the `viewers` override (clamped to
//!   `0..=MAX_TARGET_VIEWERS`) or `VIEWER_FLOOR + followers × REACH_PER_30_MIN ×
//!   (minutes / 30)^REACH_TIME_EXPONENT` (followers clamped to `0..=MAX_FOLLOWERS`, result
//!   capped at `MAX_DERIVED_VIEWERS`). So 10 000 followers give ≈ 540 viewers in 30
//!   minutes and ≈ 850 in an hour (5 % per half hour, diminishing for longer shows).
//! * **Arrivals.** The per-second shape is `ramp(t) × decay(t)` with
//!   `ramp = min(1, (t+1)/R)`, `R = min(RAMP_S, L/5)` and
//!   `decay = DECAY_FLOOR + (1 − DECAY_FLOOR) × exp(−t / (DECAY_TIME_FRACTION × L))`, where
//!   `L` is the show length in seconds. The shape is normalised so it sums to
//!   `V / ACTIVITY_NORMALIZER`, then multiplied by the activity boost
//!   `1 + pin + deal + answers`: a newly pinned product adds `PIN_ARRIVAL_BOOST`, fading
//!   linearly over `PIN_BOOST_MS`; any running flash deal adds `DEAL_ARRIVAL_BOOST`; each
//!   question answered (without an overclaim) in the last `ANSWER_BOOST_MS` adds
//!   `ANSWER_ARRIVAL_BOOST` (capped at `ANSWER_BOOST_CAP`). The arrivals in a tick are a
//!   Poisson draw with that mean. A show with an average amount of activity lands near `V`.
//! * **Viewers.** On arrival a viewer gets a segment (gender from `female_percent`; age band
//!   from `AGE_WEIGHT_BY_DISTANCE` around `age_band`, so the main band has about half),
//!   a price sensitivity `s ~ LogNormal(0, PRICE_SENS_SIGMA)` clamped to
//!   `PRICE_SENS_MIN..=PRICE_SENS_MAX`, and a watch time `~ Exp(mean)` with
//!   `mean = MEAN_WATCH_S × trust × (DEAL_PATIENCE_MULT while a deal runs)`. A buyer's
//!   remaining watch time is halved.
//! * **Clicks.** Only the pinned product can be clicked or bought. With
//!   `fit = segment_fit[seg] × (0.4 + 0.6 × niche_fit)`, a present viewer clicks with
//!   probability `CLICK_RATE_PER_S × (CLICK_FIT_FLOOR + (1 − CLICK_FIT_FLOOR) × min(fit,
//!   CLICK_FIT_CAP))` per second, `× DEAL_CLICK_MULT` while the product has a running deal.
//! * **Purchases.** A clicker who has not bought the product yet buys with probability
//!   `min(BUY_MAX, BUY_PER_CLICK × fit × price × urgency × trust)`, where
//!   `price = (paid / reference)^(−PRICE_ELASTICITY × s)` clamped to
//!   `PRICE_FACTOR_MIN..=PRICE_FACTOR_MAX` (1 when the reference is unknown), and
//!   `urgency = 1` without a deal, else `1 + DEAL_URGENCY_BASE + DEAL_URGENCY_COUNTDOWN ×
//!   closeness + DEAL_URGENCY_SCARCITY × sold_share`, `closeness` rising from 0 to 1 over the
//!   last `DEAL_COUNTDOWN_WINDOW_MS` of the deal. A decent show converts roughly 1–6 % of its
//!   unique viewers; a show where nothing is pinned sells nothing.
//! * **Ledger.** Every purchase intent reserves stock in the engine's ledger (also the ≈4 %
//!   that carry a failing test card). A running deal sells its own SKU at its price, capped
//!   by the deal quantity and per-buyer limit; otherwise a SKU with stock is drawn uniformly.
//!   Quantity is 1, sometimes 2 or 3, never above the limit or the stock left.
//! * **Questions and trust.** Present viewers ask `COMMENT_RATE_PER_VIEWER_S` questions per
//!   second each, at most `MAX_COMMENTS_PER_MIN` per simulated minute. Trust starts at
//!   `TRUST_START` within `TRUST_MIN..=TRUST_MAX`. A question open longer than
//!   `QUESTION_GRACE_MS` costs `TRUST_DECAY_PER_S` per second, at most
//!   `TRUST_DECAY_CAP_PER_QUESTION` per question; after `QUESTION_EXPIRY_MS` it expires.
//!   An answer restores `TRUST_ANSWER_RESTORE`; an answer with an overclaim costs
//!   `TRUST_OVERCLAIM_PENALTY` instead. Questions still open when the show ends are not
//!   counted as expired. A seller who ignores the chat ends near `TRUST_MIN` and sells
//!   several times less than one who answers.
//! * **Time.** A tick covers `[at_ms, at_ms + 1000)`; comments and purchases get a
//!   millisecond inside it. `End` closes the show in the tick it is applied in: that last
//!   tick has no arrivals and everybody departs.
//!
//! Floating-point maths (`exp`, `ln`, `powf`) follows the platform's libm, so digests are
//! stable for one build target; they are not promised across CPU architectures.

use std::collections::{HashSet, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Model constants (all tuning lives here).
// ---------------------------------------------------------------------------------------------

/// Number of audience segments: `gender * 5 + age_band`.
pub const SEGMENTS: usize = 10;
/// Age bands per gender.
const AGE_BANDS: usize = 5;
/// Labels of the age bands, in index order.
const AGE_LABELS: [&str; AGE_BANDS] = ["18-24", "25-34", "35-44", "45-54", "55+"];

/// Shortest show, in simulated minutes.
const MIN_MINUTES: u32 = 1;
/// Longest show, in simulated minutes.
const MAX_MINUTES: u32 = 240;

/// Viewers every show gets regardless of followers.
const VIEWER_FLOOR: f64 = 40.0;
/// Share of followers who drop in per 30 simulated minutes.
const REACH_PER_30_MIN: f64 = 0.05;
/// Diminishing returns of longer shows on reach.
const REACH_TIME_EXPONENT: f64 = 0.7;
/// Followers are clamped to this.
const MAX_FOLLOWERS: i64 = 1_000_000_000;
/// Cap on the viewers derived from followers.
const MAX_DERIVED_VIEWERS: f64 = 1_000_000.0;
/// Cap on the `viewers` override.
const MAX_TARGET_VIEWERS: u32 = 2_000_000;

/// Length of the opening ramp of arrivals, in seconds (at most a fifth of the show).
const RAMP_S: f64 = 180.0;
/// Arrival rate late in the show, relative to right after the ramp.
const DECAY_FLOOR: f64 = 0.35;
/// Time constant of the arrival decay, as a fraction of the show length.
const DECAY_TIME_FRACTION: f64 = 0.5;
/// Extra arrival rate right after a new product is pinned.
const PIN_ARRIVAL_BOOST: f64 = 0.5;
/// How long the pin boost takes to fade out.
const PIN_BOOST_MS: u64 = 60_000;
/// Extra arrival rate while any flash deal is running.
const DEAL_ARRIVAL_BOOST: f64 = 0.3;
/// Extra arrival rate per recently answered question.
const ANSWER_ARRIVAL_BOOST: f64 = 0.04;
/// Window in which answers count as recent.
const ANSWER_BOOST_MS: u64 = 120_000;
/// Cap on the answer boost.
const ANSWER_BOOST_CAP: f64 = 0.2;
/// The expected average activity boost; the base curve is divided by it.
const ACTIVITY_NORMALIZER: f64 = 1.05;
/// Upper bound of the mean arrivals in one tick (sanity clamp).
const MAX_ARRIVALS_PER_TICK: f64 = 100_000.0;

/// Share of an age band by its distance from the main band (renormalised over real bands).
const AGE_WEIGHT_BY_DISTANCE: [f64; AGE_BANDS] = [0.50, 0.18, 0.05, 0.02, 0.01];

/// Sigma of the log-normal price sensitivity (median 1).
const PRICE_SENS_SIGMA: f64 = 0.35;
/// Lowest price sensitivity.
const PRICE_SENS_MIN: f64 = 0.2;
/// Highest price sensitivity.
const PRICE_SENS_MAX: f64 = 5.0;

/// Mean watch time of a viewer, in seconds, at trust 1.
const MEAN_WATCH_S: f64 = 150.0;
/// Longest watch time, in seconds.
const MAX_WATCH_S: f64 = 4.0 * 3600.0;
/// Watch-time multiplier for viewers arriving while a deal runs.
const DEAL_PATIENCE_MULT: f64 = 1.4;

/// Per-second click probability of an average-fit viewer on the pinned product.
const CLICK_RATE_PER_S: f64 = 0.0009;
/// Share of the click rate that does not depend on fit.
const CLICK_FIT_FLOOR: f64 = 0.3;
/// Fit above this does not raise clicks further.
const CLICK_FIT_CAP: f64 = 3.0;
/// Click multiplier while the pinned product has a running deal.
const DEAL_CLICK_MULT: f64 = 1.3;
/// Purchase probability of an average click (fit 1, fair price, no deal, trust 1).
const BUY_PER_CLICK: f64 = 0.16;
/// Cap on the purchase probability of one click.
const BUY_MAX: f64 = 0.9;
/// Price elasticity: price factor = (paid/reference)^(−elasticity × sensitivity).
const PRICE_ELASTICITY: f64 = 2.0;
/// Lowest price factor.
const PRICE_FACTOR_MIN: f64 = 0.02;
/// Highest price factor.
const PRICE_FACTOR_MAX: f64 = 4.0;
/// Urgency added by any running deal on the product.
const DEAL_URGENCY_BASE: f64 = 0.5;
/// Urgency added as the deal's countdown reaches its end.
const DEAL_URGENCY_COUNTDOWN: f64 = 0.8;
/// The countdown urgency ramps up over this last stretch of a deal.
const DEAL_COUNTDOWN_WINDOW_MS: u64 = 120_000;
/// Urgency added as the deal's quantity runs out.
const DEAL_URGENCY_SCARCITY: f64 = 0.5;
/// Probability that a purchase is for 2 units (before limits).
const QTY_TWO_SHARE: f64 = 0.14;
/// Probability that a purchase is for 3 units (before limits).
const QTY_THREE_SHARE: f64 = 0.06;
/// Share of purchases paying with one of the four failing test cards.
const FAILING_CARD_SHARE: f64 = 0.04;

/// Questions per present viewer per second.
const COMMENT_RATE_PER_VIEWER_S: f64 = 0.00025;
/// Hard cap on questions per simulated minute.
const MAX_COMMENTS_PER_MIN: u32 = 6;
/// Relative weights of the topics, in [`Topic::ALL`] order.
const TOPIC_WEIGHTS: [f64; 5] = [0.28, 0.20, 0.20, 0.16, 0.16];

/// Trust at the start of a show.
const TRUST_START: f32 = 1.0;
/// Lowest trust.
const TRUST_MIN: f32 = 0.2;
/// Highest trust.
const TRUST_MAX: f32 = 1.2;
/// A question may stay open this long before it costs trust.
const QUESTION_GRACE_MS: u64 = 60_000;
/// A question open this long expires.
const QUESTION_EXPIRY_MS: u64 = 300_000;
/// Trust lost per second per overdue question.
const TRUST_DECAY_PER_S: f32 = 0.0002;
/// Most trust one question can cost.
const TRUST_DECAY_CAP_PER_QUESTION: f32 = 0.02;
/// Trust restored by an answer.
const TRUST_ANSWER_RESTORE: f32 = 0.02;
/// Trust lost by an answer with a banned claim.
const TRUST_OVERCLAIM_PENALTY: f32 = 0.25;
/// [`Engine::open_questions`] returns at most this many.
const OPEN_QUESTIONS_LIMIT: usize = 50;

/// Highest accepted `segment_fit` value.
const MAX_SEGMENT_FIT: f64 = 10.0;
/// Milliseconds per tick.
const TICK_MS: u64 = 1000;

// ---------------------------------------------------------------------------------------------
// Public types.
// ---------------------------------------------------------------------------------------------

/// Code of a segment: `f` or `m`, then the age band, e.g. `"f18-24"`, `"m55+"`.
/// Out-of-range indices are clamped to the last segment.
pub fn segment_code(seg: usize) -> String {
    let seg = seg.min(SEGMENTS - 1);
    let gender = if seg < AGE_BANDS { 'f' } else { 'm' };
    format!("{gender}{}", AGE_LABELS[seg % AGE_BANDS])
}

/// One SKU of a product and its stock at the start of the show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimSku {
    /// SKU id.
    pub sku_id: i64,
    /// Units in stock (negative is treated as 0).
    pub stock: i64,
}

/// A product in the seller's showcase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimProduct {
    /// Product id.
    pub product_id: i64,
    /// SKUs; a product without SKUs or stock cannot be bought.
    pub skus: Vec<SimSku>,
    /// The seller's showcase price.
    pub price_fen: i64,
    /// The suggested retail price (the "fair" price).
    pub reference_fen: i64,
    /// 0..=1, how well the product's category fits the creator's niches.
    pub niche_fit: f32,
    /// Relative propensity of each segment to buy it, ~1.0 = average; 0 = never.
    pub segment_fit: [f32; SEGMENTS],
    /// 0..=1 (carried for the caller; not used by the audience model).
    pub return_rate: f32,
}

/// Configuration of one simulated show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimConfig {
    /// Seed of the show's random stream.
    pub seed: u64,
    /// Show length in simulated minutes, clamped to 1..=240.
    pub minutes: u32,
    /// Creator's follower count (clamped to 0..=1e9).
    pub followers: i64,
    /// Override of the total unique viewers; `None` = derived from followers.
    pub viewers: Option<u32>,
    /// Share of women in the audience, clamped to 0..=100.
    pub female_percent: u8,
    /// The audience's main age band index 0..5 (clamped).
    pub age_band: usize,
    /// The showcase.
    pub products: Vec<SimProduct>,
}

/// What the seller did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ActionKind {
    /// Pin a product (unknown ids are ignored).
    Pin {
        /// Product to pin.
        product_id: i64,
    },
    /// Unpin the pinned product.
    Unpin,
    /// Start a flash deal on one SKU of a product. Ignored when the product or SKU is
    /// unknown or the deal id was already used.
    Deal {
        /// Deal id.
        deal_id: i64,
        /// Product on deal.
        product_id: i64,
        /// SKU sold by the deal.
        sku_id: i64,
        /// Deal price (negative is treated as 0).
        price_fen: i64,
        /// Units available at the deal price (negative is treated as 0).
        quantity: i64,
        /// Most units one buyer may take (below 1 is treated as 1).
        per_buyer_limit: i64,
        /// Simulated time at which the deal ends.
        ends_at_ms: u64,
    },
    /// Answer an open question (unknown, answered or expired ids are ignored).
    Answer {
        /// The question answered.
        comment_id: u64,
        /// The typed reply contained a banned claim.
        overclaim: bool,
    },
    /// The seller ends the show early.
    End,
}

/// A timestamped seller action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    /// Simulated ms since the show started.
    pub at_ms: u64,
    /// What was done.
    pub kind: ActionKind,
}

/// Topic of a viewer's question.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Topic {
    /// How much / any discount.
    Price,
    /// Size or fit.
    Size,
    /// Delivery.
    Shipping,
    /// Is it genuine.
    Authenticity,
    /// How to use it.
    Use,
}

impl Topic {
    /// All topics, in a fixed order.
    pub const ALL: [Topic; 5] = [
        Topic::Price,
        Topic::Size,
        Topic::Shipping,
        Topic::Authenticity,
        Topic::Use,
    ];

    /// Lower-case name: `"price"`, `"size"`, `"shipping"`, `"authenticity"`, `"use"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Price => "price",
            Topic::Size => "size",
            Topic::Shipping => "shipping",
            Topic::Authenticity => "authenticity",
            Topic::Use => "use",
        }
    }

    fn index(self) -> u8 {
        match self {
            Topic::Price => 0,
            Topic::Size => 1,
            Topic::Shipping => 2,
            Topic::Authenticity => 3,
            Topic::Use => 4,
        }
    }
}

/// A question asked in chat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comment {
    /// Sequential from 1 within a show.
    pub id: u64,
    /// Simulated ms at which it was asked.
    pub at_ms: u64,
    /// Viewer id (sequential from 1 in arrival order).
    pub viewer: u32,
    /// What it is about.
    pub topic: Topic,
    /// 0..3, picks one of 3 phrasings.
    pub variant: u8,
    /// The pinned product when asked, if any.
    pub product_id: Option<i64>,
}

/// A purchase intent; the caller turns it into an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Purchase {
    /// Simulated ms of the intent.
    pub at_ms: u64,
    /// Viewer id.
    pub viewer: u32,
    /// Viewer's segment.
    pub segment: usize,
    /// Product bought.
    pub product_id: i64,
    /// SKU bought.
    pub sku_id: i64,
    /// Units.
    pub quantity: i64,
    /// The deal it was bought under, if any.
    pub deal_id: Option<i64>,
    /// 0 = a card that pays; 1..=4 = decline, insufficient funds, capture fails,
    /// processing error.
    pub card: u8,
    /// Idempotency key `sim-{seed}-{viewer}-{at_ms}`, unique per show.
    pub key: String,
}

/// What happened during one simulated second.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    /// Simulated ms at the start of this second.
    pub at_ms: u64,
    /// Viewers present at the end of the second.
    pub viewers: u32,
    /// Viewers who arrived.
    pub arrivals: u32,
    /// Viewers who left.
    pub departures: u32,
    /// Questions asked, ordered by time and id.
    pub comments: Vec<Comment>,
    /// `(product_id, clicks)` for the pinned product, when it was clicked.
    pub clicks: Vec<(i64, u32)>,
    /// Purchase intents, ordered by time.
    pub purchases: Vec<Purchase>,
}

/// Statistics of one simulated minute (the last one may be partial).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MinuteStat {
    /// Minute index from 0.
    pub minute: u32,
    /// Mean of the ticks' viewer counts.
    pub viewers_avg: f64,
    /// Highest tick viewer count.
    pub viewers_peak: u32,
    /// Arrivals.
    pub arrivals: u32,
    /// Questions asked.
    pub comments: u32,
    /// Purchase intents.
    pub purchases: u32,
    /// Units in those intents.
    pub units: i64,
    /// Intended GMV at the price paid.
    pub gmv_fen: i64,
}

/// Statistics of one product.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProductStat {
    /// Product id.
    pub product_id: i64,
    /// Simulated ms during which it was pinned.
    pub pinned_ms: u64,
    /// Clicks.
    pub clicks: u32,
    /// Purchase intents.
    pub purchases: u32,
    /// Units in those intents.
    pub units: i64,
    /// Sum of present viewers over the ticks it was pinned.
    pub viewers_while_pinned: u64,
    /// The segment with the most viewer-seconds while it was pinned (0 if never pinned).
    pub top_segment_while_pinned: usize,
    /// When its first deal sold out, if one did.
    pub deal_sold_out_at_ms: Option<u64>,
}

/// Statistics of the show so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Viewers who arrived (each arrival is a new viewer).
    pub unique_viewers: u32,
    /// Highest tick viewer count.
    pub peak_viewers: u32,
    /// Mean tick viewer count.
    pub avg_viewers: f64,
    /// Mean watch time of a unique viewer, in seconds.
    pub avg_watch_s: f64,
    /// One per simulated minute elapsed (the last may be partial).
    pub minutes: Vec<MinuteStat>,
    /// Per product, in config order.
    pub products: Vec<ProductStat>,
    /// Unique viewers per segment.
    pub segments: [u32; SEGMENTS],
    /// Questions asked.
    pub questions: u32,
    /// Questions answered.
    pub answered: u32,
    /// Mean answer delay over answered questions.
    pub avg_response_ms: f64,
    /// Questions that expired unanswered.
    pub unanswered_expired: u32,
    /// Answers with a banned claim.
    pub overclaims: u32,
    /// Lowest trust reached.
    pub trust_min: f32,
    /// Trust now.
    pub trust_end: f32,
    /// FNV-1a 64 over every tick's content in order; equal digests = identical show.
    pub digest: u64,
}

// ---------------------------------------------------------------------------------------------
// Internal state.
// ---------------------------------------------------------------------------------------------

/// A viewer in the room (kept compact: 16 bytes).
#[derive(Debug, Clone, Copy)]
struct Viewer {
    id: u32,
    /// Tick index at which the viewer is gone.
    leave_tick: u32,
    price_sens: f32,
    segment: u8,
}

#[derive(Debug, Clone)]
struct ProductState {
    product_id: i64,
    skus: Vec<SimSku>,
    price_fen: i64,
    reference_fen: i64,
    /// `segment_fit[s] × (0.4 + 0.6 × niche_fit)`, sanitised.
    fit: [f64; SEGMENTS],
}

#[derive(Debug, Clone)]
struct DealState {
    deal_id: i64,
    product: usize,
    sku: usize,
    price_fen: i64,
    quantity: i64,
    left: i64,
    per_buyer_limit: i64,
    start_ms: u64,
    ends_at_ms: u64,
}

#[derive(Debug, Clone)]
struct OpenQuestion {
    comment: Comment,
    trust_cost: f32,
}

#[derive(Debug, Clone, Default)]
struct MinuteAcc {
    viewers_sum: u64,
    ticks: u32,
    peak: u32,
    arrivals: u32,
    comments: u32,
    purchases: u32,
    units: i64,
    gmv_fen: i64,
}

#[derive(Debug, Clone, Default)]
struct ProductAcc {
    pinned_ms: u64,
    clicks: u32,
    purchases: u32,
    units: i64,
    viewers_while_pinned: u64,
    segment_seconds: [u64; SEGMENTS],
    deal_sold_out_at_ms: Option<u64>,
}

/// FNV-1a 64-bit hash, stable across builds and platforms.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn bytes(&mut self, data: &[u8]) {
        for b in data {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.i64(x);
            }
            None => self.u8(0),
        }
    }
}

/// Sanitises a behavioural float: NaN and negatives become 0, then clamps to `max`.
fn clean(v: f32, max: f64) -> f64 {
    let v = f64::from(v);
    if v.is_finite() && v > 0.0 {
        v.min(max)
    } else {
        0.0
    }
}

/// A Poisson draw that never panics (non-positive or non-finite means give 0).
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if !lambda.is_finite() || lambda <= 0.0 {
        return 0;
    }
    match Poisson::new(lambda.min(MAX_ARRIVALS_PER_TICK)) {
        Ok(d) => {
            let x: f64 = d.sample(rng);
            x as u32
        }
        Err(_) => 0,
    }
}

/// The deterministic audience engine of one show.
#[derive(Debug, Clone)]
pub struct Engine {
    seed: u64,
    length_ticks: u32,
    tick: u32,
    finished: bool,
    rng: ChaCha8Rng,
    products: Vec<ProductState>,
    segment_cdf: [f64; SEGMENTS],
    price_sens: Option<LogNormal<f64>>,
    target_viewers: f64,
    curve_norm: f64,
    ramp_s: f64,
    decay_tau_s: f64,
    present: Vec<Viewer>,
    segment_present: [u32; SEGMENTS],
    next_viewer: u32,
    next_comment: u64,
    bought: HashSet<u64>,
    pinned: Option<usize>,
    last_pin_ms: Option<u64>,
    deals: Vec<DealState>,
    open: Vec<OpenQuestion>,
    recent_answers: VecDeque<u64>,
    trust: f32,
    trust_min: f32,
    cursor: usize,
    // Statistics.
    unique: u32,
    peak: u32,
    viewer_seconds: u64,
    minutes: Vec<MinuteAcc>,
    product_stats: Vec<ProductAcc>,
    segment_unique: [u32; SEGMENTS],
    questions: u32,
    answered: u32,
    response_ms_sum: u64,
    expired: u32,
    overclaims: u32,
    digest: Fnv,
    /// Reused per-tick buffer of `(ms offset, present index)`.
    scratch: Vec<(u16, u32)>,
}

impl Engine {
    /// Builds an engine; every odd config value is clamped, nothing panics.
    pub fn new(cfg: SimConfig) -> Engine {
        let minutes = cfg.minutes.clamp(MIN_MINUTES, MAX_MINUTES);
        let length_ticks = minutes * 60;
        let target_viewers = match cfg.viewers {
            Some(v) => f64::from(v.min(MAX_TARGET_VIEWERS)),
            None => {
                let followers = cfg.followers.clamp(0, MAX_FOLLOWERS) as f64;
                let time = (f64::from(minutes) / 30.0).powf(REACH_TIME_EXPONENT);
                (VIEWER_FLOOR + followers * REACH_PER_30_MIN * time).min(MAX_DERIVED_VIEWERS)
            }
        };

        // Segment distribution.
        let female = f64::from(cfg.female_percent.min(100)) / 100.0;
        let main_band = cfg.age_band.min(AGE_BANDS - 1);
        let mut age_w = [0.0f64; AGE_BANDS];
        for (band, w) in age_w.iter_mut().enumerate() {
            *w = AGE_WEIGHT_BY_DISTANCE[band.abs_diff(main_band)];
        }
        let age_total: f64 = age_w.iter().sum();
        let mut segment_cdf = [0.0f64; SEGMENTS];
        let mut acc = 0.0;
        for (seg, c) in segment_cdf.iter_mut().enumerate() {
            let g = if seg < AGE_BANDS {
                female
            } else {
                1.0 - female
            };
            acc += g * age_w[seg % AGE_BANDS] / age_total;
            *c = acc;
        }
        // Rounding must never send a draw to a segment of zero weight: the last segment
        // with weight takes everything above the top of the distribution.
        let last = (0..SEGMENTS)
            .rev()
            .find(|&seg| seg == 0 || segment_cdf[seg] > segment_cdf[seg - 1])
            .unwrap_or(0);
        for c in segment_cdf.iter_mut().skip(last) {
            *c = f64::INFINITY;
        }

        let products: Vec<ProductState> = cfg
            .products
            .iter()
            .map(|p| {
                let niche = clean(p.niche_fit, 1.0);
                let mut fit = [0.0f64; SEGMENTS];
                for (f, s) in fit.iter_mut().zip(p.segment_fit.iter()) {
                    *f = clean(*s, MAX_SEGMENT_FIT) * (0.4 + 0.6 * niche);
                }
                ProductState {
                    product_id: p.product_id,
                    skus: p
                        .skus
                        .iter()
                        .map(|s| SimSku {
                            sku_id: s.sku_id,
                            stock: s.stock.max(0),
                        })
                        .collect(),
                    price_fen: p.price_fen.max(0),
                    reference_fen: p.reference_fen,
                    fit,
                }
            })
            .collect();

        let length_s = f64::from(length_ticks);
        let ramp_s = RAMP_S.min(length_s / 5.0).max(1.0);
        let decay_tau_s = (length_s * DECAY_TIME_FRACTION).max(1.0);
        let mut engine = Engine {
            seed: cfg.seed,
            length_ticks,
            tick: 0,
            finished: false,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            product_stats: vec![ProductAcc::default(); products.len()],
            products,
            segment_cdf,
            price_sens: LogNormal::new(0.0, PRICE_SENS_SIGMA).ok(),
            target_viewers,
            curve_norm: 1.0,
            ramp_s,
            decay_tau_s,
            present: Vec::new(),
            segment_present: [0; SEGMENTS],
            next_viewer: 1,
            next_comment: 1,
            bought: HashSet::new(),
            pinned: None,
            last_pin_ms: None,
            deals: Vec::new(),
            open: Vec::new(),
            recent_answers: VecDeque::new(),
            trust: TRUST_START,
            trust_min: TRUST_START,
            cursor: 0,
            unique: 0,
            peak: 0,
            viewer_seconds: 0,
            minutes: Vec::new(),
            segment_unique: [0; SEGMENTS],
            questions: 0,
            answered: 0,
            response_ms_sum: 0,
            expired: 0,
            overclaims: 0,
            digest: Fnv(Fnv::OFFSET),
            scratch: Vec::new(),
        };
        let norm: f64 = (0..length_ticks).map(|t| engine.curve_shape(t)).sum();
        engine.curve_norm = if norm > 0.0 { norm } else { 1.0 };
        engine
    }

    /// The seed the engine was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated ms elapsed (tick count × 1000).
    pub fn now_ms(&self) -> u64 {
        u64::from(self.tick) * TICK_MS
    }

    /// Show length in simulated ms (after clamping).
    pub fn length_ms(&self) -> u64 {
        u64::from(self.length_ticks) * TICK_MS
    }

    /// True once the length is reached or `End` was applied.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Expected unique viewers of a show with average activity.
    pub fn target_viewers(&self) -> u32 {
        self.target_viewers as u32
    }

    /// Viewers in the room now.
    pub fn viewers_now(&self) -> u32 {
        self.present.len() as u32
    }

    /// The pinned product, if any.
    pub fn pinned_product(&self) -> Option<i64> {
        self.pinned
            .and_then(|i| self.products.get(i))
            .map(|p| p.product_id)
    }

    /// Applies `actions` (the caller passes each action exactly once, in log order, when
    /// `at_ms < now_ms() + 1000`; actions from the past are applied now), then advances one
    /// simulated second. After [`Engine::finished`], returns an empty tick and changes
    /// nothing. The tick in which `End` is applied is the last one: everybody leaves.
    pub fn step(&mut self, actions: &[Action]) -> Tick {
        if self.finished {
            return Tick::default();
        }
        let start_ms = self.now_ms();
        let mut ended = false;
        for action in actions {
            if self.apply(action, start_ms) {
                ended = true;
                break;
            }
        }
        let mut tick = Tick {
            at_ms: start_ms,
            ..Tick::default()
        };
        if ended {
            tick.departures = self.present.len() as u32;
            self.present.clear();
            self.segment_present = [0; SEGMENTS];
            self.finish_tick(&tick);
            self.finished = true;
            return tick;
        }
        let t = self.tick;
        tick.departures = self.depart(t);
        tick.arrivals = self.arrive(t, start_ms);
        self.age_questions(start_ms + TICK_MS);
        self.shop(t, start_ms, &mut tick);
        self.chat(start_ms, &mut tick);
        tick.viewers = self.present.len() as u32;
        self.finish_tick(&tick);
        if self.tick >= self.length_ticks {
            self.finished = true;
        }
        tick
    }

    /// Runs ticks until `now_ms() >= until_ms` or the show is finished. `actions` is the
    /// whole log; the engine keeps a cursor and feeds each not-yet-fed action in the tick
    /// its `at_ms` falls in. (Actions passed to [`Engine::step`] directly do not move the
    /// cursor.)
    pub fn run_until(&mut self, actions: &[Action], until_ms: u64) -> Vec<Tick> {
        let mut ticks = Vec::new();
        while !self.finished && self.now_ms() < until_ms {
            let from = self.cursor.min(actions.len());
            let horizon = self.now_ms() + TICK_MS;
            let mut to = from;
            while to < actions.len() && actions[to].at_ms < horizon {
                to += 1;
            }
            self.cursor = to;
            ticks.push(self.step(&actions[from..to]));
        }
        ticks
    }

    /// Statistics of the show so far.
    pub fn summary(&self) -> Summary {
        let ticks = f64::from(self.tick);
        let minutes = self
            .minutes
            .iter()
            .enumerate()
            .map(|(i, m)| MinuteStat {
                minute: i as u32,
                viewers_avg: if m.ticks > 0 {
                    m.viewers_sum as f64 / f64::from(m.ticks)
                } else {
                    0.0
                },
                viewers_peak: m.peak,
                arrivals: m.arrivals,
                comments: m.comments,
                purchases: m.purchases,
                units: m.units,
                gmv_fen: m.gmv_fen,
            })
            .collect();
        let products = self
            .products
            .iter()
            .zip(self.product_stats.iter())
            .map(|(p, s)| {
                let mut top = 0;
                for seg in 1..SEGMENTS {
                    if s.segment_seconds[seg] > s.segment_seconds[top] {
                        top = seg;
                    }
                }
                ProductStat {
                    product_id: p.product_id,
                    pinned_ms: s.pinned_ms,
                    clicks: s.clicks,
                    purchases: s.purchases,
                    units: s.units,
                    viewers_while_pinned: s.viewers_while_pinned,
                    top_segment_while_pinned: top,
                    deal_sold_out_at_ms: s.deal_sold_out_at_ms,
                }
            })
            .collect();
        Summary {
            unique_viewers: self.unique,
            peak_viewers: self.peak,
            avg_viewers: if ticks > 0.0 {
                self.viewer_seconds as f64 / ticks
            } else {
                0.0
            },
            avg_watch_s: if self.unique > 0 {
                self.viewer_seconds as f64 / f64::from(self.unique)
            } else {
                0.0
            },
            minutes,
            products,
            segments: self.segment_unique,
            questions: self.questions,
            answered: self.answered,
            avg_response_ms: if self.answered > 0 {
                self.response_ms_sum as f64 / f64::from(self.answered)
            } else {
                0.0
            },
            unanswered_expired: self.expired,
            overclaims: self.overclaims,
            trust_min: self.trust_min,
            trust_end: self.trust,
            digest: self.digest.0,
        }
    }

    /// Stock left of a SKU in the engine's ledger (first product holding that SKU id).
    pub fn stock_left(&self, sku_id: i64) -> Option<i64> {
        self.products
            .iter()
            .flat_map(|p| p.skus.iter())
            .find(|s| s.sku_id == sku_id)
            .map(|s| s.stock)
    }

    /// Units left of a deal.
    pub fn deal_left(&self, deal_id: i64) -> Option<i64> {
        self.deals
            .iter()
            .find(|d| d.deal_id == deal_id)
            .map(|d| d.left)
    }

    /// Current trust, in 0.2..=1.2.
    pub fn trust(&self) -> f32 {
        self.trust
    }

    /// Unanswered, unexpired questions, newest first, at most 50.
    pub fn open_questions(&self) -> Vec<Comment> {
        self.open
            .iter()
            .rev()
            .take(OPEN_QUESTIONS_LIMIT)
            .map(|q| q.comment.clone())
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Internals.
    // -----------------------------------------------------------------------------------------

    fn set_trust(&mut self, trust: f32) {
        self.trust = if trust.is_finite() {
            trust.clamp(TRUST_MIN, TRUST_MAX)
        } else {
            TRUST_MIN
        };
        self.trust_min = self.trust_min.min(self.trust);
    }

    /// Applies one action; returns true for `End`.
    fn apply(&mut self, action: &Action, now_ms: u64) -> bool {
        match &action.kind {
            ActionKind::Pin { product_id } => {
                if let Some(i) = self
                    .products
                    .iter()
                    .position(|p| p.product_id == *product_id)
                    && self.pinned != Some(i)
                {
                    self.pinned = Some(i);
                    self.last_pin_ms = Some(now_ms);
                }
            }
            ActionKind::Unpin => self.pinned = None,
            ActionKind::Deal {
                deal_id,
                product_id,
                sku_id,
                price_fen,
                quantity,
                per_buyer_limit,
                ends_at_ms,
            } => {
                if self.deals.iter().any(|d| d.deal_id == *deal_id) {
                    return false;
                }
                let Some(product) = self
                    .products
                    .iter()
                    .position(|p| p.product_id == *product_id)
                else {
                    return false;
                };
                let Some(sku) = self.products[product]
                    .skus
                    .iter()
                    .position(|s| s.sku_id == *sku_id)
                else {
                    return false;
                };
                let quantity = (*quantity).max(0);
                self.deals.push(DealState {
                    deal_id: *deal_id,
                    product,
                    sku,
                    price_fen: (*price_fen).max(0),
                    quantity,
                    left: quantity,
                    per_buyer_limit: (*per_buyer_limit).max(1),
                    start_ms: action.at_ms,
                    ends_at_ms: *ends_at_ms,
                });
            }
            ActionKind::Answer {
                comment_id,
                overclaim,
            } => {
                if let Some(pos) = self.open.iter().position(|q| q.comment.id == *comment_id) {
                    let q = self.open.remove(pos);
                    self.answered += 1;
                    self.response_ms_sum = self
                        .response_ms_sum
                        .saturating_add(action.at_ms.saturating_sub(q.comment.at_ms));
                    if *overclaim {
                        self.overclaims += 1;
                        self.set_trust(self.trust - TRUST_OVERCLAIM_PENALTY);
                    } else {
                        self.set_trust(self.trust + TRUST_ANSWER_RESTORE);
                        self.recent_answers.push_back(now_ms);
                    }
                }
            }
            ActionKind::End => return true,
        }
        false
    }

    /// Unnormalised arrival shape at second `t`.
    fn curve_shape(&self, t: u32) -> f64 {
        let t = f64::from(t);
        let ramp = ((t + 1.0) / self.ramp_s).min(1.0);
        let decay = DECAY_FLOOR + (1.0 - DECAY_FLOOR) * (-t / self.decay_tau_s).exp();
        ramp * decay
    }

    /// The deal selling `product` at `at_ms`, if one is running and can deliver.
    fn active_deal(&self, product: usize, at_ms: u64) -> Option<usize> {
        self.deals.iter().rposition(|d| {
            d.product == product
                && d.start_ms <= at_ms
                && at_ms < d.ends_at_ms
                && d.left > 0
                && self.products[product]
                    .skus
                    .get(d.sku)
                    .is_some_and(|s| s.stock > 0)
        })
    }

    fn any_deal_running(&self, at_ms: u64) -> bool {
        self.deals
            .iter()
            .any(|d| d.start_ms <= at_ms && at_ms < d.ends_at_ms && d.left > 0)
    }

    fn depart(&mut self, t: u32) -> u32 {
        let before = self.present.len();
        let segment_present = &mut self.segment_present;
        self.present.retain(|v| {
            if v.leave_tick <= t {
                let s = &mut segment_present[usize::from(v.segment)];
                *s = s.saturating_sub(1);
                false
            } else {
                true
            }
        });
        (before - self.present.len()) as u32
    }

    fn arrive(&mut self, t: u32, start_ms: u64) -> u32 {
        let mut boost = 1.0;
        if let Some(pin_ms) = self.last_pin_ms {
            let since = start_ms.saturating_sub(pin_ms);
            if since < PIN_BOOST_MS {
                boost += PIN_ARRIVAL_BOOST * (1.0 - since as f64 / PIN_BOOST_MS as f64);
            }
        }
        let deal_running = self.any_deal_running(start_ms);
        if deal_running {
            boost += DEAL_ARRIVAL_BOOST;
        }
        while self
            .recent_answers
            .front()
            .is_some_and(|&a| a + ANSWER_BOOST_MS <= start_ms)
        {
            self.recent_answers.pop_front();
        }
        boost += (ANSWER_ARRIVAL_BOOST * self.recent_answers.len() as f64).min(ANSWER_BOOST_CAP);

        let lambda =
            self.target_viewers * self.curve_shape(t) / self.curve_norm / ACTIVITY_NORMALIZER
                * boost;
        let n = poisson(&mut self.rng, lambda).min(u32::MAX - self.next_viewer);
        let mean_watch = MEAN_WATCH_S
            * f64::from(self.trust)
            * if deal_running {
                DEAL_PATIENCE_MULT
            } else {
                1.0
            };
        self.present.reserve(n as usize);
        for _ in 0..n {
            let u: f64 = self.rng.random();
            let segment = self
                .segment_cdf
                .iter()
                .position(|&c| u < c)
                .unwrap_or(SEGMENTS - 1);
            let sens = match &self.price_sens {
                Some(d) => d.sample(&mut self.rng),
                None => 1.0,
            }
            .clamp(PRICE_SENS_MIN, PRICE_SENS_MAX);
            let e: f64 = self.rng.random();
            let watch = (-(1.0 - e).ln() * mean_watch)
                .clamp(1.0, MAX_WATCH_S)
                .ceil();
            let id = self.next_viewer;
            self.next_viewer += 1;
            self.present.push(Viewer {
                id,
                leave_tick: t.saturating_add(watch as u32),
                price_sens: sens as f32,
                segment: segment as u8,
            });
            self.segment_present[segment] += 1;
            self.segment_unique[segment] += 1;
        }
        self.unique += n;
        n
    }

    fn age_questions(&mut self, end_ms: u64) {
        let mut cost = 0.0f32;
        let mut expired = 0;
        self.open.retain_mut(|q| {
            let age = end_ms.saturating_sub(q.comment.at_ms);
            if age >= QUESTION_EXPIRY_MS {
                expired += 1;
                false
            } else {
                if age > QUESTION_GRACE_MS {
                    let c = TRUST_DECAY_PER_S.min(TRUST_DECAY_CAP_PER_QUESTION - q.trust_cost);
                    if c > 0.0 {
                        q.trust_cost += c;
                        cost += c;
                    }
                }
                true
            }
        });
        self.expired += expired;
        if cost > 0.0 {
            self.set_trust(self.trust - cost);
        }
    }

    /// Clicks and purchases on the pinned product.
    fn shop(&mut self, t: u32, start_ms: u64, tick: &mut Tick) {
        let Some(pi) = self.pinned else { return };
        let n = self.present.len();
        if n == 0 || pi >= self.products.len() {
            return;
        }
        let deal_now = self.active_deal(pi, start_ms).is_some();
        let mut p_click = [0.0f64; SEGMENTS];
        let mut p_max = 0.0f64;
        for (p, fit) in p_click.iter_mut().zip(self.products[pi].fit.iter()) {
            *p = CLICK_RATE_PER_S
                * (CLICK_FIT_FLOOR + (1.0 - CLICK_FIT_FLOOR) * fit.min(CLICK_FIT_CAP))
                * if deal_now { DEAL_CLICK_MULT } else { 1.0 };
            p_max = p_max.max(*p);
        }
        // Thinning: draw candidates at the highest rate, accept each with p(seg)/p_max.
        let k = poisson(&mut self.rng, n as f64 * p_max);
        if k == 0 {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for _ in 0..k {
            let idx = self.rng.random_range(0..n) as u32;
            let offset = self.rng.random_range(0..TICK_MS) as u16;
            scratch.push((offset, idx));
        }
        scratch.sort_unstable();
        let mut clicks = 0u32;
        for &(offset, idx) in &scratch {
            let viewer = self.present[idx as usize];
            let seg = usize::from(viewer.segment);
            let accept: f64 = self.rng.random();
            if accept * p_max >= p_click[seg] {
                continue;
            }
            clicks += 1;
            let key = (u64::from(viewer.id) << 32) | pi as u64;
            if self.bought.contains(&key) {
                continue;
            }
            let at_ms = start_ms + u64::from(offset);
            if let Some(purchase) = self.try_buy(pi, viewer, at_ms) {
                self.bought.insert(key);
                let v = &mut self.present[idx as usize];
                let remaining = v.leave_tick.saturating_sub(t);
                v.leave_tick = t + (remaining / 2).max(1);
                tick.purchases.push(purchase);
            }
        }
        self.scratch = scratch;
        if clicks > 0 {
            self.product_stats[pi].clicks += clicks;
            tick.clicks.push((self.products[pi].product_id, clicks));
        }
    }

    /// One clicker's purchase decision; updates the ledger when they buy.
    fn try_buy(&mut self, pi: usize, viewer: Viewer, at_ms: u64) -> Option<Purchase> {
        let seg = usize::from(viewer.segment);
        let deal = self.active_deal(pi, at_ms);
        let product = &self.products[pi];
        let fit = product.fit[seg];
        if fit <= 0.0 {
            return None;
        }
        let (price_fen, urgency) = match deal {
            Some(di) => {
                let d = &self.deals[di];
                let remaining = d.ends_at_ms.saturating_sub(at_ms);
                let closeness =
                    1.0 - (remaining as f64 / DEAL_COUNTDOWN_WINDOW_MS as f64).clamp(0.0, 1.0);
                let sold_share = if d.quantity > 0 {
                    1.0 - d.left as f64 / d.quantity as f64
                } else {
                    0.0
                };
                (
                    d.price_fen,
                    1.0 + DEAL_URGENCY_BASE
                        + DEAL_URGENCY_COUNTDOWN * closeness
                        + DEAL_URGENCY_SCARCITY * sold_share,
                )
            }
            None => (product.price_fen, 1.0),
        };
        let price_factor = if product.reference_fen <= 0 {
            1.0
        } else if price_fen <= 0 {
            PRICE_FACTOR_MAX
        } else {
            let ratio = price_fen as f64 / product.reference_fen as f64;
            ratio
                .powf(-PRICE_ELASTICITY * f64::from(viewer.price_sens))
                .clamp(PRICE_FACTOR_MIN, PRICE_FACTOR_MAX)
        };
        let p_buy = (BUY_PER_CLICK * fit * price_factor * urgency * f64::from(self.trust))
            .clamp(0.0, BUY_MAX);
        let roll: f64 = self.rng.random();
        if roll >= p_buy {
            return None;
        }

        // Pick the SKU and the quantity limit.
        let (sku, limit) = match deal {
            Some(di) => {
                let d = &self.deals[di];
                let stock = product.skus[d.sku].stock;
                (d.sku, d.per_buyer_limit.min(d.left).min(stock))
            }
            None => {
                let in_stock = product.skus.iter().filter(|s| s.stock > 0).count();
                if in_stock == 0 {
                    return None;
                }
                let pick = self.rng.random_range(0..in_stock);
                let sku = product
                    .skus
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.stock > 0)
                    .nth(pick)
                    .map(|(i, _)| i)?;
                (sku, product.skus[sku].stock)
            }
        };
        if limit <= 0 {
            return None;
        }
        let q: f64 = self.rng.random();
        let wanted = if q < QTY_THREE_SHARE {
            3
        } else if q < QTY_THREE_SHARE + QTY_TWO_SHARE {
            2
        } else {
            1
        };
        let quantity = wanted.min(limit);
        let card_roll: f64 = self.rng.random();
        let card = if card_roll < FAILING_CARD_SHARE {
            1 + self.rng.random_range(0..4u8)
        } else {
            0
        };

        // Ledger.
        let product = &mut self.products[pi];
        product.skus[sku].stock -= quantity;
        let sku_id = product.skus[sku].sku_id;
        let product_id = product.product_id;
        let stats = &mut self.product_stats[pi];
        let deal_id = match deal {
            Some(di) => {
                let d = &mut self.deals[di];
                d.left -= quantity;
                if d.left <= 0 && stats.deal_sold_out_at_ms.is_none() {
                    stats.deal_sold_out_at_ms = Some(at_ms);
                }
                Some(d.deal_id)
            }
            None => None,
        };
        stats.purchases += 1;
        stats.units += quantity;
        Some(Purchase {
            at_ms,
            viewer: viewer.id,
            segment: seg,
            product_id,
            sku_id,
            quantity,
            deal_id,
            card,
            key: format!("sim-{}-{}-{}", self.seed, viewer.id, at_ms),
        })
    }

    /// Questions from the room.
    fn chat(&mut self, start_ms: u64, tick: &mut Tick) {
        let n = self.present.len();
        if n == 0 {
            return;
        }
        let minute = (self.tick / 60) as usize;
        let asked = self.minutes.get(minute).map_or(0, |m| m.comments);
        let room = MAX_COMMENTS_PER_MIN.saturating_sub(asked);
        if room == 0 {
            return;
        }
        let lambda =
            (n as f64 * COMMENT_RATE_PER_VIEWER_S).min(f64::from(MAX_COMMENTS_PER_MIN) / 60.0);
        let k = poisson(&mut self.rng, lambda).min(room);
        if k == 0 {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for _ in 0..k {
            let idx = self.rng.random_range(0..n) as u32;
            let offset = self.rng.random_range(0..TICK_MS) as u16;
            scratch.push((offset, idx));
        }
        scratch.sort_unstable();
        let topic_total: f64 = TOPIC_WEIGHTS.iter().sum();
        let product_id = self.pinned_product();
        for &(offset, idx) in &scratch {
            let viewer = self.present[idx as usize];
            let mut u = self.rng.random::<f64>() * topic_total;
            let mut topic = Topic::Use;
            for (tp, w) in Topic::ALL.iter().zip(TOPIC_WEIGHTS.iter()) {
                if u < *w {
                    topic = *tp;
                    break;
                }
                u -= w;
            }
            let variant = self.rng.random_range(0..3u8);
            let comment = Comment {
                id: self.next_comment,
                at_ms: start_ms + u64::from(offset),
                viewer: viewer.id,
                topic,
                variant,
                product_id,
            };
            self.next_comment += 1;
            self.questions += 1;
            self.open.push(OpenQuestion {
                comment: comment.clone(),
                trust_cost: 0.0,
            });
            tick.comments.push(comment);
        }
        self.scratch = scratch;
    }

    /// Statistics, digest, and the clock.
    fn finish_tick(&mut self, tick: &Tick) {
        let minute = (self.tick / 60) as usize;
        if self.minutes.len() <= minute {
            self.minutes.resize(minute + 1, MinuteAcc::default());
        }
        let gmv = tick.purchases.iter().fold(0i64, |acc, p| {
            acc.saturating_add(self.paid_fen(p).saturating_mul(p.quantity))
        });
        let m = &mut self.minutes[minute];
        m.gmv_fen = m.gmv_fen.saturating_add(gmv);
        m.viewers_sum += u64::from(tick.viewers);
        m.ticks += 1;
        m.peak = m.peak.max(tick.viewers);
        m.arrivals += tick.arrivals;
        m.comments += tick.comments.len() as u32;
        for p in &tick.purchases {
            m.purchases += 1;
            m.units += p.quantity;
        }
        self.peak = self.peak.max(tick.viewers);
        self.viewer_seconds += u64::from(tick.viewers);
        if let Some(pi) = self.pinned
            && let Some(s) = self.product_stats.get_mut(pi)
        {
            s.pinned_ms += TICK_MS;
            s.viewers_while_pinned += u64::from(tick.viewers);
            for (acc, n) in s
                .segment_seconds
                .iter_mut()
                .zip(self.segment_present.iter())
            {
                *acc += u64::from(*n);
            }
        }

        let h = &mut self.digest;
        h.u64(tick.at_ms);
        h.u32(tick.viewers);
        h.u32(tick.arrivals);
        h.u32(tick.departures);
        h.u32(tick.comments.len() as u32);
        for c in &tick.comments {
            h.u64(c.id);
            h.u64(c.at_ms);
            h.u32(c.viewer);
            h.u8(c.topic.index());
            h.u8(c.variant);
            h.opt_i64(c.product_id);
        }
        h.u32(tick.clicks.len() as u32);
        for (pid, n) in &tick.clicks {
            h.i64(*pid);
            h.u32(*n);
        }
        h.u32(tick.purchases.len() as u32);
        for p in &tick.purchases {
            h.u64(p.at_ms);
            h.u32(p.viewer);
            h.u64(p.segment as u64);
            h.i64(p.product_id);
            h.i64(p.sku_id);
            h.i64(p.quantity);
            h.opt_i64(p.deal_id);
            h.u8(p.card);
            h.u32(p.key.len() as u32);
            h.bytes(p.key.as_bytes());
        }
        self.tick += 1;
    }

    /// Unit price paid in a purchase (deal price under a deal, else the showcase price).
    fn paid_fen(&self, p: &Purchase) -> i64 {
        if let Some(deal_id) = p.deal_id
            && let Some(d) = self.deals.iter().find(|d| d.deal_id == deal_id)
        {
            return d.price_fen;
        }
        self.products
            .iter()
            .find(|x| x.product_id == p.product_id)
            .map_or(0, |x| x.price_fen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: i64, fit: f32, price: i64, reference: i64, stock: i64) -> SimProduct {
        SimProduct {
            product_id: id,
            skus: vec![
                SimSku {
                    sku_id: id * 10 + 1,
                    stock,
                },
                SimSku {
                    sku_id: id * 10 + 2,
                    stock,
                },
            ],
            price_fen: price,
            reference_fen: reference,
            niche_fit: 0.8,
            segment_fit: [fit; SEGMENTS],
            return_rate: 0.05,
        }
    }

    fn config(
        seed: u64,
        minutes: u32,
        viewers: Option<u32>,
        products: Vec<SimProduct>,
    ) -> SimConfig {
        SimConfig {
            seed,
            minutes,
            followers: 20_000,
            viewers,
            female_percent: 70,
            age_band: 1,
            products,
        }
    }

    fn pin(at_ms: u64, product_id: i64) -> Action {
        Action {
            at_ms,
            kind: ActionKind::Pin { product_id },
        }
    }

    fn run(cfg: SimConfig, actions: &[Action]) -> (Vec<Tick>, Summary) {
        let mut e = Engine::new(cfg);
        let ticks = e.run_until(actions, u64::MAX);
        (ticks, e.summary())
    }

    /// Runs a show whose seller answers every question one second after it is asked.
    fn run_answering(cfg: SimConfig, actions: &[Action]) -> (Vec<Tick>, Summary) {
        let mut e = Engine::new(cfg);
        let mut cursor = 0;
        let mut answers: Vec<Action> = Vec::new();
        let mut ticks = Vec::new();
        while !e.finished() {
            let mut feed = std::mem::take(&mut answers);
            while cursor < actions.len() && actions[cursor].at_ms < e.now_ms() + 1000 {
                feed.push(actions[cursor].clone());
                cursor += 1;
            }
            let tick = e.step(&feed);
            answers = tick
                .comments
                .iter()
                .map(|c| answer(e.now_ms(), c.id, false))
                .collect();
            ticks.push(tick);
        }
        let summary = e.summary();
        (ticks, summary)
    }

    fn purchases(ticks: &[Tick]) -> Vec<Purchase> {
        ticks
            .iter()
            .flat_map(|t| t.purchases.iter().cloned())
            .collect()
    }

    fn show_actions() -> Vec<Action> {
        vec![
            pin(0, 1),
            Action {
                at_ms: 60_000,
                kind: ActionKind::Deal {
                    deal_id: 7,
                    product_id: 1,
                    sku_id: 11,
                    price_fen: 4_900,
                    quantity: 30,
                    per_buyer_limit: 2,
                    ends_at_ms: 240_000,
                },
            },
            pin(300_000, 2),
        ]
    }

    fn show_config(seed: u64) -> SimConfig {
        config(
            seed,
            10,
            None,
            vec![
                product(1, 1.2, 5_900, 6_900, 500),
                product(2, 0.8, 12_900, 9_900, 500),
            ],
        )
    }

    #[test]
    fn segment_codes() {
        assert_eq!(segment_code(0), "f18-24");
        assert_eq!(segment_code(4), "f55+");
        assert_eq!(segment_code(5), "m18-24");
        assert_eq!(segment_code(9), "m55+");
        assert_eq!(segment_code(99), "m55+");
        assert_eq!(
            Topic::ALL.map(Topic::as_str),
            ["price", "size", "shipping", "authenticity", "use"]
        );
    }

    #[test]
    fn same_seed_same_show_and_differences_change_digest() {
        let actions = show_actions();
        let (t1, s1) = run(show_config(42), &actions);
        let (t2, s2) = run(show_config(42), &actions);
        assert_eq!(t1, t2);
        assert_eq!(s1, s2);
        assert!(s1.unique_viewers > 0);
        assert!(!purchases(&t1).is_empty());

        let (_, other_seed) = run(show_config(43), &actions);
        assert_ne!(s1.digest, other_seed.digest);

        let mut more = actions.clone();
        more.push(Action {
            at_ms: 400_000,
            kind: ActionKind::Unpin,
        });
        let (_, extra) = run(show_config(42), &more);
        assert_ne!(s1.digest, extra.digest);
    }

    #[test]
    fn chunked_run_matches_single_run() {
        let actions = show_actions();
        let (whole, whole_summary) = run(show_config(5), &actions);
        let mut e = Engine::new(show_config(5));
        let mut chunks = e.run_until(&actions, 7_000);
        assert_eq!(chunks.len(), 7);
        chunks.extend(e.run_until(&actions, 20_000));
        assert_eq!(chunks.len(), 20);
        chunks.extend(e.run_until(&actions, e.length_ms()));
        assert_eq!(chunks, whole);
        assert_eq!(e.summary(), whole_summary);
        assert!(e.finished());
    }

    /// The tick worker runs an engine up to the time it claimed, and the service stamps
    /// an action recorded later at that time or after. An action exactly on the claimed
    /// boundary must land in the same tick for the kept engine as for a replay of the
    /// whole log, or the same seed and actions give two different shows.
    #[test]
    fn an_action_on_a_boundary_already_reached_lands_as_in_a_replay() {
        let boundary = 60_000;
        let full = vec![pin(0, 1), pin(boundary, 2)];
        let (whole, whole_summary) = run(show_config(5), &full);
        let mut kept = Engine::new(show_config(5));
        let mut ticks = kept.run_until(&full[..1], boundary);
        assert_eq!(kept.now_ms(), boundary);
        ticks.extend(kept.run_until(&full, u64::MAX));
        assert_eq!(kept.summary().digest, whole_summary.digest);
        assert!(
            ticks == whole,
            "the kept engine's ticks differ from the replay's"
        );
    }

    #[test]
    fn stepping_by_hand_matches_run_until() {
        let actions = show_actions();
        let (whole, _) = run(show_config(9), &actions);
        let mut e = Engine::new(show_config(9));
        let mut cursor = 0;
        let mut ticks = Vec::new();
        while !e.finished() {
            let start = cursor;
            while cursor < actions.len() && actions[cursor].at_ms < e.now_ms() + 1000 {
                cursor += 1;
            }
            ticks.push(e.step(&actions[start..cursor]));
        }
        assert_eq!(ticks, whole);
    }

    #[test]
    fn stock_ledger_never_oversells() {
        let mut hot = product(1, 5.0, 1_000, 10_000, 5);
        hot.skus.truncate(1);
        hot.niche_fit = 1.0;
        let (ticks, summary) = run(config(1, 20, Some(5_000), vec![hot]), &[pin(0, 1)]);
        let units: i64 = purchases(&ticks).iter().map(|p| p.quantity).sum();
        assert_eq!(units, 5, "the hot product should sell out, never more");
        assert_eq!(summary.products[0].units, 5);
        let mut e = Engine::new(config(
            1,
            20,
            Some(5_000),
            vec![product(1, 5.0, 1_000, 10_000, 5)],
        ));
        e.run_until(&[pin(0, 1)], u64::MAX);
        assert_eq!(e.stock_left(11), Some(0));
        assert_eq!(e.stock_left(12), Some(0));
        assert_eq!(e.stock_left(999), None);
    }

    #[test]
    fn deal_quantity_limit_and_end_respected() {
        let actions = vec![
            pin(0, 1),
            Action {
                at_ms: 0,
                kind: ActionKind::Deal {
                    deal_id: 3,
                    product_id: 1,
                    sku_id: 11,
                    price_fen: 6_000,
                    quantity: 1_000,
                    per_buyer_limit: 1,
                    ends_at_ms: 180_000,
                },
            },
        ];
        let cfg = config(
            2,
            30,
            Some(20_000),
            vec![product(1, 1.5, 8_000, 8_000, 10_000)],
        );
        let mut e = Engine::new(cfg);
        let ticks = e.run_until(&actions, u64::MAX);
        let all = purchases(&ticks);
        let deal: Vec<&Purchase> = all.iter().filter(|p| p.deal_id == Some(3)).collect();
        let deal_units: i64 = deal.iter().map(|p| p.quantity).sum();
        // The deal was still selling near its end and did not sell out: its end stopped it.
        assert!(deal.iter().any(|p| p.at_ms >= 150_000));
        assert!(deal_units < 1_000);
        assert_eq!(e.deal_left(3), Some(1_000 - deal_units));
        assert_eq!(e.summary().products[0].deal_sold_out_at_ms, None);
        assert!(deal.iter().all(|p| p.quantity == 1 && p.sku_id == 11));
        assert!(deal.iter().all(|p| p.at_ms < 180_000));
        assert!(
            all.iter()
                .any(|p| p.deal_id.is_none() && p.at_ms >= 180_000)
        );
        assert!(all.iter().any(|p| p.deal_id.is_none() && p.quantity > 1));
        assert_eq!(e.deal_left(99), None);
    }

    #[test]
    fn deal_sells_out_and_is_recorded() {
        let actions = vec![
            pin(0, 1),
            Action {
                at_ms: 0,
                kind: ActionKind::Deal {
                    deal_id: 4,
                    product_id: 1,
                    sku_id: 12,
                    price_fen: 1_000,
                    quantity: 6,
                    per_buyer_limit: 3,
                    ends_at_ms: 600_000,
                },
            },
        ];
        let cfg = config(
            3,
            20,
            Some(20_000),
            vec![product(1, 3.0, 8_000, 8_000, 10_000)],
        );
        let mut e = Engine::new(cfg);
        let ticks = e.run_until(&actions, u64::MAX);
        let all = purchases(&ticks);
        let deal_units: i64 = all
            .iter()
            .filter(|p| p.deal_id == Some(4))
            .map(|p| p.quantity)
            .sum();
        assert_eq!(deal_units, 6);
        assert_eq!(e.deal_left(4), Some(0));
        let sold_out = e.summary().products[0].deal_sold_out_at_ms;
        assert!(sold_out.is_some_and(|t| t < 600_000));
        assert!(all.iter().any(|p| p.deal_id.is_none()
            && sold_out.is_some_and(|t| p.at_ms > t)
            && p.at_ms < 600_000));
    }

    #[test]
    fn nothing_pinned_sells_nothing() {
        let (ticks, summary) = run(
            config(4, 30, Some(5_000), vec![product(1, 2.0, 5_000, 9_000, 100)]),
            &[],
        );
        assert!(summary.unique_viewers > 1_000);
        assert!(purchases(&ticks).is_empty());
        assert!(ticks.iter().all(|t| t.clicks.is_empty()));
    }

    fn total_purchases(p: SimProduct, seeds: std::ops::Range<u64>) -> usize {
        seeds
            .map(|seed| {
                let (ticks, _) = run(config(seed, 30, Some(3_000), vec![p.clone()]), &[pin(0, 1)]);
                purchases(&ticks).len()
            })
            .sum()
    }

    #[test]
    fn fit_and_price_drive_sales() {
        // Main segment of `config` is f25-34 (female 70 %, age band 1).
        let mut fit = product(1, 0.3, 10_000, 10_000, 100_000);
        fit.segment_fit[1] = 2.0;
        let misfit = product(1, 0.05, 10_000, 10_000, 100_000);
        let good = total_purchases(fit, 0..8);
        let bad = total_purchases(misfit, 0..8);
        assert!(good > 3 * bad.max(1), "fit {good} vs misfit {bad}");

        let cheap = total_purchases(product(1, 1.0, 7_000, 10_000, 100_000), 0..8);
        let dear = total_purchases(product(1, 1.0, 14_000, 10_000, 100_000), 0..8);
        assert!(cheap > 2 * dear, "cheap {cheap} vs dear {dear}");
    }

    #[test]
    fn conversion_is_plausible() {
        let (ticks, summary) = run_answering(
            config(8, 60, None, vec![product(1, 1.0, 10_000, 10_000, 100_000)]),
            &[pin(0, 1)],
        );
        let buyers = purchases(&ticks).len() as f64;
        let rate = buyers / f64::from(summary.unique_viewers);
        assert!((0.01..=0.06).contains(&rate), "conversion {rate}");
    }

    fn answer(at_ms: u64, comment_id: u64, overclaim: bool) -> Action {
        Action {
            at_ms,
            kind: ActionKind::Answer {
                comment_id,
                overclaim,
            },
        }
    }

    #[test]
    fn unanswered_questions_cost_trust_answered_do_not() {
        let cfg = config(
            11,
            20,
            Some(10_000),
            vec![product(1, 1.0, 5_000, 5_000, 100)],
        );
        let (_, ignored) = run(cfg.clone(), &[pin(0, 1)]);
        assert!(ignored.questions > 10);
        assert!(ignored.trust_end < 0.9, "trust {}", ignored.trust_end);
        assert!(ignored.unanswered_expired > 0);

        let mut e = Engine::new(cfg);
        let mut pending = vec![pin(0, 1)];
        while !e.finished() {
            let tick = e.step(&pending);
            pending = tick
                .comments
                .iter()
                .map(|c| answer(e.now_ms(), c.id, false))
                .collect();
        }
        let s = e.summary();
        assert!(s.answered > 10);
        assert_eq!(s.unanswered_expired, 0);
        assert!(s.trust_min >= TRUST_START);
        assert!(s.trust_end > 1.1);
        assert!(s.avg_response_ms > 0.0 && s.avg_response_ms <= 1_000.0);
        assert!(e.open_questions().len() <= 1);
    }

    #[test]
    fn overclaim_costs_trust_and_unknown_ids_are_ignored() {
        let cfg = config(
            12,
            10,
            Some(10_000),
            vec![product(1, 1.0, 5_000, 5_000, 100)],
        );
        let mut e = Engine::new(cfg);
        e.step(&[pin(0, 1)]);
        while e.open_questions().is_empty() {
            e.step(&[]);
        }
        let before = e.trust();
        let q = e.open_questions()[0].clone();
        e.step(&[
            answer(e.now_ms(), 999_999, true),
            answer(e.now_ms(), 0, false),
        ]);
        assert_eq!(e.summary().overclaims, 0);
        assert_eq!(e.summary().answered, 0);
        e.step(&[answer(e.now_ms(), q.id, true)]);
        assert!(e.trust() <= before - 0.2);
        let s = e.summary();
        assert_eq!(s.overclaims, 1);
        assert_eq!(s.answered, 1);
        assert!(e.open_questions().iter().all(|c| c.id != q.id));
        // Answering the same question again changes nothing.
        let t = e.trust();
        e.step(&[answer(e.now_ms(), q.id, false)]);
        assert_eq!(e.summary().answered, 1);
        assert!(e.trust() <= t);
    }

    #[test]
    fn open_questions_newest_first_and_bounded() {
        let cfg = config(13, 30, Some(50_000), vec![]);
        let mut e = Engine::new(cfg);
        e.run_until(&[], 20 * 60_000);
        let open = e.open_questions();
        assert!(!open.is_empty() && open.len() <= 50);
        assert!(open.windows(2).all(|w| w[0].id > w[1].id));
        let per_minute = e.summary().minutes.iter().map(|m| m.comments).max();
        assert!(per_minute.is_some_and(|m| m <= MAX_COMMENTS_PER_MIN));
    }

    #[test]
    fn end_stops_the_show() {
        let cfg = config(
            14,
            30,
            Some(5_000),
            vec![product(1, 1.0, 5_000, 5_000, 100)],
        );
        let actions = vec![
            pin(0, 1),
            Action {
                at_ms: 120_500,
                kind: ActionKind::End,
            },
        ];
        let mut e = Engine::new(cfg);
        let ticks = e.run_until(&actions, u64::MAX);
        assert!(e.finished());
        assert_eq!(ticks.len(), 121);
        let last = ticks.last().cloned().unwrap_or_default();
        assert_eq!(last.viewers, 0);
        assert!(last.departures > 0);
        let now = e.now_ms();
        let digest = e.summary().digest;
        assert_eq!(e.step(&[pin(0, 1)]), Tick::default());
        assert!(e.run_until(&actions, u64::MAX).is_empty());
        assert_eq!(e.now_ms(), now);
        assert_eq!(e.summary().digest, digest);
    }

    #[test]
    fn degenerate_configs_never_panic() {
        let mut weird = product(1, f32::NAN, -5, 0, -3);
        weird.niche_fit = f32::NAN;
        weird.segment_fit = [
            -1.0,
            f32::INFINITY,
            f32::NAN,
            0.0,
            1e30,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
        ];
        let mut no_skus = product(2, 1.0, 100, 100, 10);
        no_skus.skus.clear();
        let zero_stock = product(3, 1.0, 0, 100, 0);
        let products = vec![weird, no_skus, zero_stock];
        let actions = vec![
            pin(0, 1),
            pin(0, 404),
            Action {
                at_ms: 0,
                kind: ActionKind::Deal {
                    deal_id: 1,
                    product_id: 3,
                    sku_id: 31,
                    price_fen: -10,
                    quantity: -4,
                    per_buyer_limit: -1,
                    ends_at_ms: 0,
                },
            },
            Action {
                at_ms: 0,
                kind: ActionKind::Deal {
                    deal_id: 2,
                    product_id: 404,
                    sku_id: 1,
                    price_fen: 1,
                    quantity: 1,
                    per_buyer_limit: 1,
                    ends_at_ms: u64::MAX,
                },
            },
            pin(30_000, 2),
            pin(60_000, 3),
            answer(70_000, u64::MAX, true),
            Action {
                at_ms: 80_000,
                kind: ActionKind::Unpin,
            },
            Action {
                at_ms: u64::MAX,
                kind: ActionKind::Unpin,
            },
        ];
        for (minutes, followers, viewers) in [
            (0, 0, None),
            (10_000, -5, None),
            (1, i64::MAX, None),
            (2, i64::MIN, Some(0)),
            (3, 0, Some(u32::MAX)),
        ] {
            let cfg = SimConfig {
                seed: u64::MAX,
                minutes,
                followers,
                viewers,
                female_percent: 255,
                age_band: usize::MAX,
                products: products.clone(),
            };
            let mut e = Engine::new(cfg.clone());
            assert!(e.length_ms() >= 60_000 && e.length_ms() <= 240 * 60_000);
            let ticks = e.run_until(&actions, 3 * 60_000);
            assert!(!ticks.is_empty());
            let units: i64 = purchases(&ticks).iter().map(|p| p.quantity).sum();
            assert_eq!(units, 0);
            assert_eq!(e.stock_left(31), Some(0));
            assert_eq!(e.deal_left(1), Some(0));
            assert_eq!(e.deal_left(2), None);
            let s = e.summary();
            assert!(s.trust_end >= TRUST_MIN && s.trust_end <= TRUST_MAX);
            // female_percent 255 clamps to 100: every viewer is a woman.
            assert_eq!(s.segments[5..].iter().sum::<u32>(), 0);

            let mut empty = cfg;
            empty.products.clear();
            let mut e = Engine::new(empty);
            e.run_until(&actions, 60_000);
            assert!(purchases(&e.run_until(&actions, 120_000)).is_empty());
        }
        assert_eq!(Engine::new(config(0, 0, None, vec![])).length_ms(), 60_000);
        assert_eq!(
            Engine::new(config(0, 10_000, None, vec![])).length_ms(),
            240 * 60_000
        );
    }

    #[test]
    fn summary_agrees_with_ticks() {
        let actions = show_actions();
        let cfg = config(21, 7, Some(3_000), show_config(0).products);
        let mut e = Engine::new(cfg);
        let mut ticks = e.run_until(&actions, 200_500);
        ticks.extend(e.run_until(&actions, 7 * 60_000));
        let s = e.summary();
        let all = purchases(&ticks);
        assert_eq!(s.minutes.len(), 7);
        assert_eq!(ticks.len(), 7 * 60);
        let arrivals: u32 = ticks.iter().map(|t| t.arrivals).sum();
        let departures: u32 = ticks.iter().map(|t| t.departures).sum();
        assert_eq!(s.unique_viewers, arrivals);
        assert_eq!(s.segments.iter().sum::<u32>(), arrivals);
        assert_eq!(arrivals - departures, e.viewers_now());
        assert_eq!(s.minutes.iter().map(|m| m.arrivals).sum::<u32>(), arrivals);
        assert_eq!(
            s.minutes.iter().map(|m| m.purchases).sum::<u32>() as usize,
            all.len()
        );
        assert_eq!(
            s.products.iter().map(|p| p.purchases).sum::<u32>() as usize,
            all.len()
        );
        assert_eq!(
            s.minutes.iter().map(|m| m.units).sum::<i64>(),
            all.iter().map(|p| p.quantity).sum::<i64>()
        );
        assert_eq!(
            s.minutes.iter().map(|m| m.comments).sum::<u32>(),
            s.questions
        );
        assert_eq!(
            s.peak_viewers,
            ticks.iter().map(|t| t.viewers).max().unwrap_or(0)
        );
        let viewer_seconds: u64 = ticks.iter().map(|t| u64::from(t.viewers)).sum();
        assert!((s.avg_viewers - viewer_seconds as f64 / 420.0).abs() < 1e-9);
        let clicks: u32 = ticks
            .iter()
            .flat_map(|t| t.clicks.iter())
            .map(|c| c.1)
            .sum();
        assert_eq!(s.products.iter().map(|p| p.clicks).sum::<u32>(), clicks);
        // The pin at 300 000 ms lands in the tick starting at 300 000 ms: product 1 was
        // pinned for ticks 0..300, product 2 for the last two minutes.
        assert_eq!(s.products[0].pinned_ms, 300_000);
        assert_eq!(s.products[1].pinned_ms, 120_000);
        // Comment ids are sequential from 1, keys unique.
        let ids: Vec<u64> = ticks
            .iter()
            .flat_map(|t| t.comments.iter().map(|c| c.id))
            .collect();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
        let keys: HashSet<&str> = all.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys.len(), all.len());
        assert!(
            all.iter()
                .all(|p| p.key == format!("sim-21-{}-{}", p.viewer, p.at_ms))
        );
        // GMV at the price paid.
        let gmv: i64 = all
            .iter()
            .map(|p| {
                p.quantity
                    * if p.deal_id.is_some() {
                        4_900
                    } else if p.product_id == 1 {
                        5_900
                    } else {
                        12_900
                    }
            })
            .sum();
        assert_eq!(s.minutes.iter().map(|m| m.gmv_fen).sum::<i64>(), gmv);
        // Serde round trip.
        let json = serde_json::to_string(&s).unwrap_or_default();
        let back: Summary = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.digest, s.digest);
        assert_eq!(back.products, s.products);
        assert_eq!(back.minutes.len(), s.minutes.len());
        assert_eq!(back.segments, s.segments);
        let tick_json = serde_json::to_string(&ticks).unwrap_or_default();
        let ticks_back: Vec<Tick> = serde_json::from_str(&tick_json).unwrap_or_default();
        assert_eq!(ticks_back, ticks);
    }

    #[test]
    fn failing_cards_are_rare_but_present() {
        let (ticks, _) = run_answering(
            config(
                30,
                60,
                Some(60_000),
                vec![product(1, 1.5, 8_000, 10_000, 1_000_000)],
            ),
            &[pin(0, 1)],
        );
        let all = purchases(&ticks);
        let failing = all.iter().filter(|p| p.card != 0).count();
        assert!(all.len() > 500);
        assert!(failing > 0 && failing * 100 < all.len() * 8);
        assert!(all.iter().all(|p| p.card <= 4));
    }

    #[test]
    fn hundred_thousand_viewers_run() {
        let cfg = config(
            77,
            60,
            Some(100_000),
            vec![product(1, 1.0, 9_900, 12_900, 1_000_000)],
        );
        let mut e = Engine::new(cfg);
        let ticks = e.run_until(&[pin(0, 1)], u64::MAX);
        assert!(e.finished());
        assert_eq!(ticks.len(), 3_600);
        let s = e.summary();
        assert!(
            (90_000..=110_000).contains(&s.unique_viewers),
            "unique {}",
            s.unique_viewers
        );
        assert!(!purchases(&ticks).is_empty());
        assert!(s.peak_viewers > 1_000);
        assert!(s.minutes.iter().all(|m| m.comments <= MAX_COMMENTS_PER_MIN));
    }
}
