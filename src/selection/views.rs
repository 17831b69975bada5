//! Words for matched products: category names, audience segments and the reasons a
//! product was matched, in the page's language.

use crate::catalog::index::CatalogIndex;
use crate::catalog::pricing::{percent_text, yuan_text};
use crate::catalog::regions;
use crate::catalog::taxonomy::{AGE_BANDS, CATEGORIES, CategoryPath, SEGMENT_ALL};
use crate::matching::MatchProfile;
use crate::matching::weights::Factor;
use crate::web::PageCtx;

pub fn category_label(ctx: &PageCtx, path: &CategoryPath) -> String {
    let top = ctx.t(&format!("niches.{}", path.top_slug()));
    match path.sub_slug() {
        Some(sub) => format!("{top} › {}", ctx.t(&format!("subcategories.{sub}"))),
        None => top,
    }
}

/// "women 25–34", "men 18–24" or "all viewers".
pub fn segment_label(ctx: &PageCtx, segment: usize) -> String {
    match segment {
        s if s < 5 => ctx.tf("segments.women", &[("band", AGE_BANDS[s])]),
        s if s < 10 => ctx.tf("segments.men", &[("band", AGE_BANDS[s - 5])]),
        _ => ctx.t("segments.everyone"),
    }
}

fn rate(value: f32) -> String {
    percent_text((value as f64 * 10_000.0).round() as i64)
}

/// Why a factor raised product `i`'s score, with the figure behind it.
pub fn reason_text(
    ctx: &PageCtx,
    index: &CatalogIndex,
    profile: &MatchProfile,
    i: usize,
    factor: Factor,
) -> String {
    let supplier = index.supplier_of(i);
    match factor {
        Factor::Category => ctx.tf(
            "reasons.niche",
            &[(
                "category",
                &ctx.t(&format!("niches.{}", index.category[i].top_slug())),
            )],
        ),
        Factor::Price => match profile.price_band_fen {
            Some((lo, hi)) if hi < i64::MAX / 8 => ctx.tf(
                "reasons.price_band",
                &[("min", &yuan_text(lo)), ("max", &yuan_text(hi))],
            ),
            Some((lo, _)) => ctx.tf("reasons.price_above", &[("min", &yuan_text(lo))]),
            None => ctx.t("reasons.price"),
        },
        Factor::Margin => {
            let commission = index.commission_bp[i] as i64;
            if commission >= 2_000 {
                ctx.tf("reasons.commission", &[("rate", &percent_text(commission))])
            } else {
                let m = crate::catalog::pricing::creator_margin(
                    index.suggested[i],
                    index.cost[i],
                    index.commission_bp[i] as u32,
                    profile.fee_bp,
                );
                ctx.tf(
                    "reasons.margin",
                    &[
                        ("amount", &yuan_text(m.margin_fen)),
                        ("rate", &percent_text(m.rate_bp)),
                    ],
                )
            }
        }
        Factor::Rating => ctx.tf(
            "reasons.rating",
            &[("rating", &format!("{:.1}", supplier.rating))],
        ),
        Factor::Handling => ctx.tf(
            "reasons.handling",
            &[("hours", &supplier.handling_hours.to_string())],
        ),
        Factor::Reliability => ctx.tf("reasons.on_time", &[("rate", &rate(supplier.reliability))]),
        Factor::Distance => {
            let from = regions::REGIONS[supplier.region].slug;
            let name = regions::name(from, ctx.locale);
            if profile.regions.contains(&supplier.region) {
                ctx.tf("reasons.same_region", &[("region", name)])
            } else {
                ctx.tf("reasons.near_region", &[("region", name)])
            }
        }
        Factor::Stock => ctx.tf("reasons.stock", &[("units", &index.stock[i].to_string())]),
        Factor::Conversion => {
            let segment = profile.main_segment;
            let conv = index.conversion[i][segment];
            if segment == SEGMENT_ALL {
                ctx.tf("reasons.sells_well_all", &[("rate", &rate(conv))])
            } else {
                ctx.tf(
                    "reasons.sells_well",
                    &[
                        ("segment", &segment_label(ctx, segment)),
                        ("rate", &rate(conv)),
                    ],
                )
            }
        }
        Factor::Returns => ctx.tf(
            "reasons.few_returns",
            &[("rate", &rate(index.return_rate[i][profile.main_segment]))],
        ),
    }
}

/// Top categories for filter menus: (value, label).
pub fn category_options(ctx: &PageCtx) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (top, c) in CATEGORIES.iter().enumerate() {
        let path = CategoryPath { top, sub: None };
        out.push((c.slug.to_string(), category_label(ctx, &path)));
        for (sub, s) in c.subs.iter().enumerate() {
            let path = CategoryPath {
                top,
                sub: Some(sub),
            };
            out.push((
                format!("{}/{}", c.slug, s.slug),
                format!("— {}", category_label(ctx, &path)),
            ));
        }
    }
    out
}
