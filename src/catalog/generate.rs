//! A realistic synthetic catalog, the same for the same seed: suppliers across regions
//! with a hidden quality that drives their rating, speed and reliability; products with
//! log-normal prices, margins and commissions typical of their category; SKUs by size,
//! colour or pack; and seeded sales history per audience segment, so matching has
//! something to learn from.

use chrono::NaiveDateTime;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use super::model::{CURRENCY, Product, ProductStat, Sku, Supplier};
use super::regions::REGIONS;
use super::taxonomy::{CATEGORIES, Category, SEGMENT_ALL, Variants, audience_share, segment_name};

/// How often each category appears, roughly as on livestream platforms.
const CATEGORY_WEIGHTS: &[(&str, u32)] = &[
    ("beauty", 12),
    ("personal-care", 6),
    ("apparel", 14),
    ("shoes", 5),
    ("bags", 4),
    ("jewelry", 4),
    ("food", 10),
    ("snacks", 6),
    ("tea", 3),
    ("home", 6),
    ("kitchen", 4),
    ("appliances", 4),
    ("phone-accessories", 4),
    ("digital", 3),
    ("baby", 4),
    ("toys", 3),
    ("health", 3),
    ("pets", 4),
    ("sports", 3),
    ("outdoor", 2),
    ("books", 2),
    ("automotive", 2),
];

/// Where manufacturing suppliers cluster; farm produce comes from anywhere.
const HUB_WEIGHTS: &[(&str, u32)] = &[
    ("guangdong", 22),
    ("zhejiang", 20),
    ("jiangsu", 10),
    ("fujian", 8),
    ("shandong", 7),
    ("shanghai", 5),
    ("hebei", 3),
    ("henan", 3),
    ("hubei", 3),
    ("sichuan", 3),
    ("anhui", 3),
    ("beijing", 2),
    ("tianjin", 2),
    ("hunan", 2),
    ("liaoning", 2),
    ("chongqing", 2),
];

const BRAND_SYLLABLES: &[&str] = &[
    "Lu", "Mi", "Ya", "Xin", "Bo", "Ka", "Ri", "Mei", "Tao", "An", "Le", "Zen", "Qi", "Fen", "Ju",
    "Na", "Ko", "Shu", "Yun", "Hua", "Ling", "Mo", "Pei", "Sa",
];
const SUPPLIER_WORDS: &[&str] = &[
    "Sunrise",
    "Greenleaf",
    "Golden Bridge",
    "Bluewave",
    "Harvest",
    "Silk Road",
    "Jade",
    "Orchid",
    "Pine",
    "Lotus",
    "Red Lantern",
    "Cloud",
    "Summit",
    "Riverside",
    "Bamboo",
];
const SUPPLIER_KINDS: &[&str] = &[
    "Trading Co.",
    "Manufacturing Co.",
    "Supply Chain Ltd.",
    "Industrial Co.",
    "Goods Co.",
    "Brand Store",
    "Factory",
];
const COLOURS: &[&str] = &[
    "Black", "White", "Beige", "Navy", "Pink", "Grey", "Green", "Red", "Brown", "Blue",
];
const APPAREL_SIZES: &[&str] = &["S", "M", "L", "XL", "XXL"];
const SHOE_SIZES: &[&str] = &["36", "37", "38", "39", "40", "41", "42", "43", "44"];
const PACKS: &[&str] = &["1 pack", "2 packs", "3 packs", "6 packs"];
const VOLUMES: &[&str] = &["30ml", "50ml", "100ml", "200ml", "500ml"];
const WEIGHTS: &[&str] = &["250g", "500g", "1kg", "2.5kg", "5kg"];

fn weighted<'a>(rng: &mut ChaCha8Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    items[items.len() - 1].0
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Prices end in .9 (¥89.9), as shops price them.
fn shop_price(yuan: f64) -> i64 {
    let yuan = yuan.clamp(3.0, 20_000.0);
    ((yuan.floor() as i64) * 100 + 90).max(390)
}

struct SupplierTraits {
    quality: f64,
    main: usize,
    second: usize,
    brand: String,
}

/// Produces products one at a time, so a million SKUs never sit in memory at once.
pub struct Generator {
    rng: ChaCha8Rng,
    pub suppliers: Vec<Supplier>,
    traits: Vec<SupplierTraits>,
    next_product_id: i64,
    next_sku_id: i64,
    skus_left: u64,
    now: NaiveDateTime,
}

impl Generator {
    /// A catalog of exactly `skus` SKUs. Ids start after `first_ids` (supplier,
    /// product, SKU), so a generated catalog can be added to an existing one.
    pub fn new(seed: u64, skus: u64, first_ids: (i64, i64, i64), now: NaiveDateTime) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let supplier_count = (skus / 200).clamp(CATEGORIES.len() as u64 + 2, 5_000) as i64;
        let mut suppliers = Vec::with_capacity(supplier_count as usize);
        let mut traits = Vec::with_capacity(supplier_count as usize);
        for n in 0..supplier_count {
            // The first suppliers cover every category once, so even a small catalog
            // has them all.
            let main = if (n as usize) < CATEGORIES.len() {
                n as usize
            } else {
                crate::catalog::taxonomy::category_index(weighted(&mut rng, CATEGORY_WEIGHTS))
                    .unwrap_or(0)
            };
            let second = if rng.random_bool(0.3) {
                crate::catalog::taxonomy::category_index(weighted(&mut rng, CATEGORY_WEIGHTS))
                    .unwrap_or(main)
            } else {
                main
            };
            let produce = matches!(CATEGORIES[main].slug, "food" | "tea");
            let region = if produce {
                REGIONS[rng.random_range(0..REGIONS.len())].slug
            } else {
                weighted(&mut rng, HUB_WEIGHTS)
            };
            // A hidden quality in 0..1 that ratings, speed, reliability and returns follow.
            let quality: f64 = (rng.random::<f64>() + rng.random::<f64>()) / 2.0;
            let rating = (3.5 + 1.4 * quality + rng.random_range(-0.2..0.2)).clamp(3.0, 5.0);
            let reliability =
                (0.84 + 0.15 * quality + rng.random_range(-0.03..0.03)).clamp(0.7, 0.999);
            let handling = match (quality + rng.random_range(-0.2..0.2)).clamp(0.0, 1.0) {
                q if q > 0.75 => 24,
                q if q > 0.45 => 48,
                q if q > 0.2 => 72,
                _ => 96,
            };
            let return_days = if quality > 0.7 && rng.random_bool(0.5) {
                15
            } else {
                7
            };
            let region_name = REGIONS
                .iter()
                .find(|r| r.slug == region)
                .map(|r| r.en)
                .unwrap_or(region);
            let name = format!(
                "{} {} {}",
                region_name,
                pick(&mut rng, SUPPLIER_WORDS),
                pick(&mut rng, SUPPLIER_KINDS)
            );
            let brand = format!(
                "{}{}",
                pick(&mut rng, BRAND_SYLLABLES),
                pick(&mut rng, BRAND_SYLLABLES).to_lowercase()
            );
            suppliers.push(Supplier {
                id: first_ids.0 + n,
                code: format!("sup-{:05}", first_ids.0 + n),
                name,
                user_id: None,
                region: region.to_string(),
                rating_centi: (rating * 100.0).round() as i32,
                handling_hours: handling,
                reliability_bp: (reliability * 10_000.0).round() as i32,
                return_days,
                return_policy: format!(
                    "{return_days}-day no-reason returns; return shipping paid by the buyer unless the item is faulty."
                ),
                created_at: now,
            });
            traits.push(SupplierTraits {
                quality,
                main,
                second,
                brand,
            });
        }
        Self {
            rng,
            suppliers,
            traits,
            next_product_id: first_ids.1,
            next_sku_id: first_ids.2,
            skus_left: skus,
            now,
        }
    }

    fn variants(&mut self, cat: &Category) -> Vec<(Option<String>, Option<String>)> {
        let rng = &mut self.rng;
        let colours = |rng: &mut ChaCha8Rng, n: usize| -> Vec<&'static str> {
            let start = rng.random_range(0..COLOURS.len());
            (0..n)
                .map(|i| COLOURS[(start + i) % COLOURS.len()])
                .collect()
        };
        match cat.variants {
            Variants::Apparel | Variants::Shoes => {
                let sizes = if cat.variants == Variants::Apparel {
                    APPAREL_SIZES
                } else {
                    SHOE_SIZES
                };
                let n = rng.random_range(2..=4.min(sizes.len()));
                let start = rng.random_range(0..=sizes.len() - n);
                let count = rng.random_range(1..=2);
                let cs = colours(rng, count);
                let mut out = Vec::new();
                for c in &cs {
                    for s in &sizes[start..start + n] {
                        out.push((Some(s.to_string()), Some(c.to_string())));
                    }
                }
                out
            }
            Variants::Colours => {
                let n = rng.random_range(1..=3);
                colours(rng, n)
                    .into_iter()
                    .map(|c| (None, Some(c.to_string())))
                    .collect()
            }
            Variants::Packs => {
                let n = rng.random_range(1..=3);
                PACKS[..n]
                    .iter()
                    .map(|p| (Some(p.to_string()), None))
                    .collect()
            }
            Variants::Contents => {
                let list = if matches!(cat.slug, "beauty" | "personal-care") {
                    VOLUMES
                } else {
                    WEIGHTS
                };
                let n = rng.random_range(1..=2);
                let start = rng.random_range(0..=list.len() - n);
                list[start..start + n]
                    .iter()
                    .map(|v| (Some(v.to_string()), None))
                    .collect()
            }
        }
    }

    /// Seeded history: a product is seen by viewers of a few segments, converts by how
    /// well it suits them, its quality and its price, and is returned by quality.
    fn stats(
        &mut self,
        product_id: i64,
        cat: &Category,
        quality: f64,
        price_yuan: f64,
    ) -> Vec<ProductStat> {
        let rng = &mut self.rng;
        if rng.random_bool(0.15) {
            return Vec::new(); // a new product: no history yet
        }
        let views_total = LogNormal::new(1500f64.ln(), 1.1)
            .map(|d| d.sample(rng))
            .unwrap_or(1500.0)
            .clamp(20.0, 2_000_000.0)
            .round() as i64;
        let price_factor = (cat.price_median / price_yuan.max(1.0)).powf(0.3);
        let base_conv =
            (cat.conversion * (0.5 + quality) * price_factor * rng.random_range(0.7..1.4))
                .clamp(0.001, 0.3);
        let return_rate =
            (cat.return_rate * (1.9 - 1.6 * quality) * rng.random_range(0.7..1.3)).clamp(0.0, 0.8);
        // Pick three segments, weighted by who buys the category.
        let mut shares: Vec<(usize, f64)> = (0..10).map(|s| (s, audience_share(cat, s))).collect();
        let max_share = shares.iter().map(|(_, w)| *w).fold(0.0, f64::max);
        let mut picked = Vec::new();
        for _ in 0..3 {
            let total: f64 = shares.iter().map(|(_, w)| w).sum();
            let mut x = rng.random::<f64>() * total;
            let mut at = shares.len() - 1;
            for (i, (_, w)) in shares.iter().enumerate() {
                if x < *w {
                    at = i;
                    break;
                }
                x -= w;
            }
            picked.push(shares.remove(at));
        }
        let picked_total: f64 = picked.iter().map(|(_, w)| w).sum();
        let mut out = Vec::with_capacity(4);
        let (mut seg_orders, mut seg_views) = (0i64, 0i64);
        for (segment, share) in picked {
            let views = (views_total as f64 * 0.8 * share / picked_total).round() as i64;
            let fit = 0.5 + share / max_share;
            let conv = (base_conv * fit * rng.random_range(0.8..1.2)).clamp(0.0, 0.5);
            let orders = (views as f64 * conv).round() as i64;
            let returns = (orders as f64 * return_rate * rng.random_range(0.6..1.4)).round() as i64;
            seg_orders += orders;
            seg_views += views;
            out.push(ProductStat {
                product_id,
                segment: segment_name(segment),
                views,
                orders,
                returns: returns.min(orders),
            });
        }
        let other_orders = ((views_total - seg_views) as f64 * base_conv * 0.7).round() as i64;
        let orders = seg_orders + other_orders;
        let returns: i64 = out.iter().map(|s| s.returns).sum::<i64>()
            + (other_orders as f64 * return_rate).round() as i64;
        out.push(ProductStat {
            product_id,
            segment: segment_name(SEGMENT_ALL),
            views: views_total,
            orders,
            returns: returns.min(orders),
        });
        out
    }
}

pub struct GeneratedProduct {
    pub product: Product,
    pub skus: Vec<Sku>,
    pub stats: Vec<ProductStat>,
}

impl Iterator for Generator {
    type Item = GeneratedProduct;

    fn next(&mut self) -> Option<GeneratedProduct> {
        if self.skus_left == 0 {
            return None;
        }
        let s_index = self.rng.random_range(0..self.suppliers.len());
        let (quality_s, main, second) = {
            let t = &self.traits[s_index];
            (t.quality, t.main, t.second)
        };
        let cat_index = if self.rng.random_bool(0.85) {
            main
        } else {
            second
        };
        let cat = &CATEGORIES[cat_index];
        let rng = &mut self.rng;
        let sub = pick(rng, cat.subs);
        let noun = *pick(rng, sub.nouns);
        let adjective = *pick(rng, cat.adjectives);
        let quality = (0.6 * quality_s + 0.4 * rng.random::<f64>()).clamp(0.0, 1.0);
        let price_yuan = LogNormal::new(cat.price_median.ln(), cat.price_sigma)
            .map(|d| d.sample(rng))
            .unwrap_or(cat.price_median);
        let suggested = shop_price(price_yuan);
        let cost = (suggested as f64 * rng.random_range(0.35..0.7)).round() as i64;
        let min_price = ((suggested as f64 * rng.random_range(0.7..0.95)).round() as i64)
            .max((cost as f64 * 1.08).round() as i64)
            .min(suggested);
        let (lo, hi) = cat.commission_bp;
        let commission = (rng.random_range(lo..=hi) / 50 * 50) as i32;
        let id = self.next_product_id;
        self.next_product_id += 1;
        let supplier = &self.suppliers[s_index];
        let brand = &self.traits[s_index].brand;
        let title = format!("{brand} {adjective} {noun}");
        let region = super::regions::REGIONS
            .iter()
            .find(|r| r.slug == supplier.region)
            .map(|r| r.en)
            .unwrap_or("");
        let description = format!(
            "{title}. {adjective} {} from {}, shipped from {region} within {} hours. {}",
            noun.to_lowercase(),
            supplier.name,
            supplier.handling_hours,
            supplier.return_policy
        );
        let mut tags = vec![cat.slug.to_string(), sub.slug.to_string()];
        tags.extend(adjective.split_whitespace().map(str::to_lowercase));
        tags.extend(noun.split_whitespace().map(str::to_lowercase));
        tags.dedup();
        let (supplier_id, supplier_code_n) = (supplier.id, supplier.id);
        let product = Product {
            id,
            supplier_id,
            product_ref: format!("P{id:07}"),
            title,
            description,
            category: format!("{}/{}", cat.slug, sub.slug),
            tags: tags.join(","),
            image_url: None,
            cost_fen: cost,
            suggested_fen: suggested,
            min_price_fen: min_price,
            commission_bp: commission,
            currency: CURRENCY.into(),
            updated_at: self.now,
        };
        let mut variants = self.variants(cat);
        variants.truncate(self.skus_left as usize);
        self.skus_left -= variants.len() as u64;
        let mut skus = Vec::with_capacity(variants.len());
        for (n, (size, colour)) in variants.into_iter().enumerate() {
            let rng = &mut self.rng;
            let stock = if rng.random_bool(0.03) {
                0
            } else {
                LogNormal::new(150f64.ln(), 1.0)
                    .map(|d| d.sample(rng))
                    .unwrap_or(150.0)
                    .clamp(1.0, 100_000.0)
                    .round() as i32
            };
            let weight = rng.random_range(cat.weight_g.0..=cat.weight_g.1) as i32;
            skus.push(Sku {
                id: self.next_sku_id,
                product_id: id,
                supplier_id,
                sku_code: format!("S{supplier_code_n:05}-{id:07}-{}", n + 1),
                size,
                colour,
                stock,
                weight_g: weight,
            });
            self.next_sku_id += 1;
        }
        let stats = self.stats(id, cat, quality, suggested as f64 / 100.0);
        Some(GeneratedProduct {
            product,
            skus,
            stats,
        })
    }
}

/// A generated catalog built straight into a matching index, without a database: for
/// tests and benchmarks.
pub fn in_memory_index(seed: u64, skus: u64) -> super::index::CatalogIndex {
    use super::model::{IndexRows, ProductCore};
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .unwrap_or_default()
        .naive_utc();
    let mut generator = Generator::new(seed, skus, (1, 1, 1), now);
    let mut rows = IndexRows {
        version: 1,
        ..Default::default()
    };
    for item in generator.by_ref() {
        let stock: i64 = item.skus.iter().map(|s| s.stock as i64).sum();
        rows.stock.push((item.product.id, stock));
        rows.products.push(ProductCore::from(&item.product));
        rows.stats.extend(item.stats);
    }
    rows.suppliers = generator.suppliers;
    super::index::CatalogIndex::build(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_same_seed_gives_the_same_catalog() {
        let a: Vec<_> = Generator::new(42, 2_000, (1, 1, 1), now())
            .map(|p| (p.product, p.skus, p.stats))
            .collect();
        let b: Vec<_> = Generator::new(42, 2_000, (1, 1, 1), now())
            .map(|p| (p.product, p.skus, p.stats))
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = Generator::new(43, 2_000, (1, 1, 1), now())
            .map(|p| p.product)
            .collect();
        assert_ne!(
            a.iter().map(|p| &p.0).collect::<Vec<_>>(),
            c.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn it_makes_exactly_the_skus_asked_for_with_sane_money() {
        let mut skus = 0;
        let mut categories = std::collections::HashSet::new();
        for p in Generator::new(7, 5_000, (1, 1, 1), now()) {
            skus += p.skus.len();
            let pr = &p.product;
            assert!(pr.cost_fen > 0 && pr.cost_fen < pr.min_price_fen, "{pr:?}");
            assert!(pr.min_price_fen <= pr.suggested_fen);
            assert!((0..=10_000).contains(&pr.commission_bp));
            assert!(crate::catalog::taxonomy::CategoryPath::parse(&pr.category).is_some());
            categories.insert(pr.category.split('/').next().unwrap().to_string());
            for s in &p.stats {
                assert!(s.orders <= s.views.max(1) && s.returns <= s.orders, "{s:?}");
            }
        }
        assert_eq!(skus, 5_000);
        assert!(categories.len() >= 20, "{categories:?}");
    }

    #[test]
    fn better_suppliers_are_rated_higher_and_returned_less() {
        let g = Generator::new(11, 40_000, (1, 1, 1), now());
        let mut by_quality: Vec<(f64, i32)> = g
            .traits
            .iter()
            .zip(&g.suppliers)
            .map(|(t, s)| (t.quality, s.rating_centi))
            .collect();
        by_quality.sort_by(|a, b| a.0.total_cmp(&b.0));
        let half = by_quality.len() / 2;
        let low: f64 = by_quality[..half].iter().map(|x| x.1 as f64).sum::<f64>() / half as f64;
        let high: f64 = by_quality[half..].iter().map(|x| x.1 as f64).sum::<f64>()
            / (by_quality.len() - half) as f64;
        assert!(high > low + 30.0, "ratings follow quality: {low} vs {high}");
    }

    #[test]
    fn better_suppliers_sell_products_that_come_back_less() {
        let g = Generator::new(5, 60_000, (1, 1, 1), now());
        let rating: std::collections::HashMap<i64, i32> =
            g.suppliers.iter().map(|s| (s.id, s.rating_centi)).collect();
        // Returns relative to the category's typical rate, so the category mix of good
        // and poor suppliers does not decide the comparison.
        let (mut good, mut poor) = ((0f64, 0f64), (0f64, 0f64));
        for p in g {
            let r = rating[&p.product.supplier_id];
            let cat =
                crate::catalog::taxonomy::category(p.product.category.split('/').next().unwrap())
                    .unwrap();
            if let Some(all) = p.stats.iter().find(|s| s.segment == "all" && s.orders > 0) {
                let slot = if r >= 440 { &mut good } else { &mut poor };
                slot.0 += all.returns as f64 / cat.return_rate;
                slot.1 += all.orders as f64;
            }
        }
        let (good, poor) = (good.0 / good.1, poor.0 / poor.1);
        assert!(
            good < poor * 0.85,
            "returns {good:.3} (rated 4.4+) vs {poor:.3}"
        );
    }
}
