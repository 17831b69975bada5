//! The catalog in memory, laid out for matching: one compact column per feature, so
//! scoring 100,000 SKUs' products is a tight loop over plain numbers. Built from the
//! database at start and rebuilt when the catalog's version changes.

use std::collections::HashMap;

use super::model::{IndexRows, Supplier};
use super::regions;
use super::search::SearchIndex;
use super::taxonomy::{CATEGORIES, CategoryPath, SEGMENT_ALL, SEGMENT_COUNT, segment_index};

/// How many views of evidence the category's average is worth when a product's own
/// conversion is smoothed (a Beta prior), and how many orders for its return rate.
pub const PRIOR_VIEWS: f64 = 400.0;
pub const PRIOR_ORDERS: f64 = 30.0;

#[derive(Debug, Clone)]
pub struct SupplierFacts {
    pub id: i64,
    pub name: String,
    pub region: usize,
    pub rating: f32,
    pub handling_hours: u16,
    pub reliability: f32,
}

/// Raw history of one product and segment, kept to explain a match.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub views: u32,
    pub orders: u32,
    pub returns: u32,
}

#[derive(Debug, Default)]
pub struct CatalogIndex {
    pub version: i64,
    pub ids: Vec<i64>,
    pub titles: Vec<Box<str>>,
    pub category: Vec<CategoryPath>,
    pub supplier: Vec<u32>,
    pub cost: Vec<i64>,
    pub suggested: Vec<i64>,
    pub min_price: Vec<i64>,
    pub commission_bp: Vec<u16>,
    pub stock: Vec<u32>,
    /// ln(1 + stock), so scoring takes no logarithm per product.
    pub ln_stock: Vec<f32>,
    /// ln(suggested price in yuan).
    pub ln_price: Vec<f32>,
    /// (retail − cost + commission) ÷ retail at the suggested price, before the
    /// platform's fee.
    pub margin_base: Vec<f32>,
    /// Smoothed conversion ÷ the category's, halved and capped at 1: 0.5 is average.
    pub conversion_lift: Vec<[f32; SEGMENT_COUNT]>,
    /// 1 − smoothed return rate ÷ (2 × the category's), in 0..1: 0.5 is average.
    pub low_returns: Vec<[f32; SEGMENT_COUNT]>,
    pub counts: Vec<[Counts; SEGMENT_COUNT]>,
    /// Smoothed conversion and return rate per segment, for explanations.
    pub conversion: Vec<[f32; SEGMENT_COUNT]>,
    pub return_rate: Vec<[f32; SEGMENT_COUNT]>,
    pub suppliers: Vec<SupplierFacts>,
    pub position: HashMap<i64, u32>,
    pub search: SearchIndex,
}

impl CatalogIndex {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn position_of(&self, product_id: i64) -> Option<usize> {
        self.position.get(&product_id).map(|p| *p as usize)
    }

    pub fn supplier_of(&self, i: usize) -> &SupplierFacts {
        &self.suppliers[self.supplier[i] as usize]
    }

    pub fn build(rows: IndexRows) -> Self {
        let IndexRows {
            version,
            suppliers,
            products,
            stock,
            stats,
        } = rows;
        let supplier_pos: HashMap<i64, u32> = suppliers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i as u32))
            .collect();
        let n = products.len();
        let mut idx = CatalogIndex {
            version,
            suppliers: suppliers.iter().map(supplier_facts).collect(),
            ..Default::default()
        };
        let reserve = |v: &mut Vec<_>| v.reserve_exact(n);
        reserve(&mut idx.ids);
        let stock: HashMap<i64, i64> = stock.into_iter().collect();
        for p in products {
            let (Some(&sup), Some(cat)) = (
                supplier_pos.get(&p.supplier_id),
                CategoryPath::parse(&p.category),
            ) else {
                continue; // not reachable through the importer's checks; skip rather than fail
            };
            let i = idx.ids.len() as u32;
            idx.position.insert(p.id, i);
            idx.ids.push(p.id);
            idx.search.add(i, &p.title);
            idx.search.add(i, &p.tags.replace(',', " "));
            idx.titles.push(p.title.into_boxed_str());
            idx.category.push(cat);
            idx.supplier.push(sup);
            idx.cost.push(p.cost_fen);
            idx.suggested.push(p.suggested_fen);
            idx.min_price.push(p.min_price_fen);
            idx.commission_bp
                .push(p.commission_bp.clamp(0, 10_000) as u16);
            idx.stock.push(
                stock
                    .get(&p.id)
                    .copied()
                    .unwrap_or(0)
                    .clamp(0, u32::MAX as i64) as u32,
            );
            let retail = p.suggested_fen.max(1) as f64;
            idx.ln_price.push((retail / 100.0).ln() as f32);
            idx.margin_base.push(
                ((retail - p.cost_fen as f64) / retail + p.commission_bp as f64 / 10_000.0) as f32,
            );
        }
        idx.ln_stock = idx.stock.iter().map(|s| (*s as f32).ln_1p()).collect();
        idx.search.shrink();
        let len = idx.ids.len();
        idx.counts = vec![[Counts::default(); SEGMENT_COUNT]; len];
        for s in stats {
            let (Some(pos), Some(seg)) = (idx.position_of(s.product_id), segment_index(&s.segment))
            else {
                continue;
            };
            let clamp = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
            idx.counts[pos][seg] = Counts {
                views: clamp(s.views),
                orders: clamp(s.orders),
                returns: clamp(s.returns),
            };
        }
        idx.smooth();
        idx
    }

    /// Category priors from all history, then each product's smoothed rates.
    fn smooth(&mut self) {
        let mut views = vec![0f64; CATEGORIES.len()];
        let mut orders = vec![0f64; CATEGORIES.len()];
        let mut returns = vec![0f64; CATEGORIES.len()];
        for (i, c) in self.counts.iter().enumerate() {
            let cat = self.category[i].top;
            views[cat] += c[SEGMENT_ALL].views as f64;
            orders[cat] += c[SEGMENT_ALL].orders as f64;
            returns[cat] += c[SEGMENT_ALL].returns as f64;
        }
        let prior_conv: Vec<f64> = (0..CATEGORIES.len())
            .map(|c| {
                if views[c] > 0.0 {
                    orders[c] / views[c]
                } else {
                    CATEGORIES[c].conversion
                }
            })
            .map(|p| p.max(1e-4))
            .collect();
        let prior_ret: Vec<f64> = (0..CATEGORIES.len())
            .map(|c| {
                if orders[c] > 0.0 {
                    returns[c] / orders[c]
                } else {
                    CATEGORIES[c].return_rate
                }
            })
            .map(|p| p.max(1e-3))
            .collect();
        let n = self.len();
        self.conversion_lift = Vec::with_capacity(n);
        self.low_returns = Vec::with_capacity(n);
        self.conversion = Vec::with_capacity(n);
        self.return_rate = Vec::with_capacity(n);
        for i in 0..n {
            let cat = self.category[i].top;
            let (pc, pr) = (prior_conv[cat], prior_ret[cat]);
            let mut lift = [0f32; SEGMENT_COUNT];
            let mut low = [0f32; SEGMENT_COUNT];
            let mut conv = [0f32; SEGMENT_COUNT];
            let mut ret = [0f32; SEGMENT_COUNT];
            for s in 0..SEGMENT_COUNT {
                let c = self.counts[i][s];
                let cs = (c.orders as f64 + PRIOR_VIEWS * pc) / (c.views as f64 + PRIOR_VIEWS);
                let rs = (c.returns as f64 + PRIOR_ORDERS * pr) / (c.orders as f64 + PRIOR_ORDERS);
                conv[s] = cs as f32;
                ret[s] = rs as f32;
                lift[s] = (cs / pc / 2.0).min(1.0) as f32;
                low[s] = (1.0 - rs / (2.0 * pr)).clamp(0.0, 1.0) as f32;
            }
            self.conversion_lift.push(lift);
            self.low_returns.push(low);
            self.conversion.push(conv);
            self.return_rate.push(ret);
        }
    }
}

fn supplier_facts(s: &Supplier) -> SupplierFacts {
    SupplierFacts {
        id: s.id,
        name: s.name.clone(),
        region: regions::index_of(&s.region).unwrap_or(0),
        rating: s.rating_centi as f32 / 100.0,
        handling_hours: s.handling_hours.clamp(0, u16::MAX as i32) as u16,
        reliability: s.reliability_bp as f32 / 10_000.0,
    }
}

/// The shared, swappable index: readers take an `Arc` of the current one; a rebuild
/// replaces it whole.
#[derive(Default)]
pub struct SharedIndex(std::sync::RwLock<std::sync::Arc<CatalogIndex>>);

impl SharedIndex {
    pub fn new(index: CatalogIndex) -> Self {
        Self(std::sync::RwLock::new(std::sync::Arc::new(index)))
    }

    pub fn current(&self) -> std::sync::Arc<CatalogIndex> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, index: CatalogIndex) {
        let index = std::sync::Arc::new(index);
        match self.0.write() {
            Ok(mut guard) => *guard = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
    }
}
