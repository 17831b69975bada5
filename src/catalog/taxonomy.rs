//! The livestream category tree, with what the generator needs to make each category's
//! products realistic (price level, margins, commission, return and conversion rates,
//! who buys it) and the audience segments that statistics are kept for.

/// Which kind of variants a category's SKUs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variants {
    /// Clothing sizes and colours.
    Apparel,
    /// Shoe sizes and colours.
    Shoes,
    /// Colours only.
    Colours,
    /// Pack sizes (1, 2, 3 ...).
    Packs,
    /// Net contents (weights or volumes).
    Contents,
}

pub struct Subcategory {
    pub slug: &'static str,
    /// Nouns for generated titles.
    pub nouns: &'static [&'static str],
}

pub struct Category {
    pub slug: &'static str,
    pub subs: &'static [Subcategory],
    /// Median suggested retail price, in yuan, and the log-normal spread around it.
    pub price_median: f64,
    pub price_sigma: f64,
    /// Commission range the supplier pays, in basis points.
    pub commission_bp: (u32, u32),
    /// Typical share of orders returned, and of views that order.
    pub return_rate: f64,
    pub conversion: f64,
    pub weight_g: (u32, u32),
    pub variants: Variants,
    /// Share of buyers who are women, and the age band (index into `AGE_BANDS`) that
    /// buys most.
    pub female: f64,
    pub age_peak: usize,
    /// Words that go before the noun in a title.
    pub adjectives: &'static [&'static str],
}

const fn s(slug: &'static str, nouns: &'static [&'static str]) -> Subcategory {
    Subcategory { slug, nouns }
}

pub const CATEGORIES: &[Category] = &[
    Category {
        slug: "beauty",
        subs: &[
            s(
                "skincare",
                &[
                    "Serum",
                    "Face Cream",
                    "Toner",
                    "Essence",
                    "Eye Cream",
                    "Sheet Mask",
                ],
            ),
            s(
                "makeup",
                &[
                    "Lipstick",
                    "Cushion Foundation",
                    "Eyeshadow Palette",
                    "Mascara",
                    "Blush",
                ],
            ),
            s(
                "fragrance",
                &["Eau de Parfum", "Body Mist", "Solid Perfume"],
            ),
        ],
        price_median: 89.0,
        price_sigma: 0.55,
        commission_bp: (1500, 3500),
        return_rate: 0.06,
        conversion: 0.045,
        weight_g: (50, 400),
        variants: Variants::Contents,
        female: 0.88,
        age_peak: 1,
        adjectives: &[
            "Hydrating",
            "Brightening",
            "Hyaluronic",
            "Vitamin C",
            "Matte",
            "Velvet",
            "Rose",
            "Peptide",
            "Niacinamide",
            "Long-wear",
        ],
    },
    Category {
        slug: "personal-care",
        subs: &[
            s("hair", &["Shampoo", "Hair Mask", "Hair Oil", "Conditioner"]),
            s("body", &["Body Wash", "Body Lotion", "Hand Cream", "Scrub"]),
            s(
                "oral",
                &[
                    "Electric Toothbrush Heads",
                    "Whitening Toothpaste",
                    "Water Flosser Tips",
                ],
            ),
        ],
        price_median: 49.0,
        price_sigma: 0.5,
        commission_bp: (1000, 2500),
        return_rate: 0.04,
        conversion: 0.05,
        weight_g: (100, 900),
        variants: Variants::Contents,
        female: 0.7,
        age_peak: 1,
        adjectives: &[
            "Gentle",
            "Anti-dandruff",
            "Amino Acid",
            "Fragrance-free",
            "Herbal",
            "Moisturising",
            "Mint",
        ],
    },
    Category {
        slug: "apparel",
        subs: &[
            s(
                "womens",
                &[
                    "Knit Cardigan",
                    "Midi Dress",
                    "Wide-leg Trousers",
                    "Blouse",
                    "Puffer Jacket",
                ],
            ),
            s(
                "mens",
                &[
                    "Polo Shirt",
                    "Chinos",
                    "Hoodie",
                    "Down Jacket",
                    "Linen Shirt",
                ],
            ),
            s(
                "underwear",
                &[
                    "Seamless Bra",
                    "Thermal Set",
                    "Cotton Briefs",
                    "Sleepwear Set",
                ],
            ),
        ],
        price_median: 129.0,
        price_sigma: 0.6,
        commission_bp: (1500, 3000),
        return_rate: 0.22,
        conversion: 0.03,
        weight_g: (150, 1200),
        variants: Variants::Apparel,
        female: 0.65,
        age_peak: 1,
        adjectives: &[
            "Oversized",
            "Slim-fit",
            "Cotton",
            "Cashmere-blend",
            "Pleated",
            "Casual",
            "Warm",
            "Breathable",
            "Vintage",
        ],
    },
    Category {
        slug: "shoes",
        subs: &[
            s(
                "sneakers",
                &["Running Shoes", "Canvas Sneakers", "Chunky Sneakers"],
            ),
            s("boots", &["Chelsea Boots", "Snow Boots", "Ankle Boots"]),
            s("sandals", &["Slides", "Sandals", "Loafers"]),
        ],
        price_median: 189.0,
        price_sigma: 0.5,
        commission_bp: (1000, 2500),
        return_rate: 0.18,
        conversion: 0.025,
        weight_g: (400, 1500),
        variants: Variants::Shoes,
        female: 0.55,
        age_peak: 1,
        adjectives: &[
            "Lightweight",
            "Cushioned",
            "Leather",
            "Waterproof",
            "Breathable",
            "Platform",
            "Classic",
        ],
    },
    Category {
        slug: "bags",
        subs: &[
            s("handbags", &["Tote Bag", "Crossbody Bag", "Shoulder Bag"]),
            s("travel", &["Carry-on Suitcase", "Backpack", "Duffel Bag"]),
            s("wallets", &["Card Holder", "Zip Wallet"]),
        ],
        price_median: 159.0,
        price_sigma: 0.6,
        commission_bp: (1200, 2800),
        return_rate: 0.1,
        conversion: 0.025,
        weight_g: (200, 3500),
        variants: Variants::Colours,
        female: 0.7,
        age_peak: 1,
        adjectives: &[
            "Vegan Leather",
            "Canvas",
            "Minimalist",
            "Quilted",
            "Expandable",
            "Anti-theft",
        ],
    },
    Category {
        slug: "jewelry",
        subs: &[
            s(
                "necklaces",
                &["Pendant Necklace", "Pearl Necklace", "Chain Necklace"],
            ),
            s(
                "earrings",
                &["Stud Earrings", "Hoop Earrings", "Drop Earrings"],
            ),
            s("bracelets", &["Jade Bracelet", "Charm Bracelet", "Bangle"]),
        ],
        price_median: 99.0,
        price_sigma: 0.8,
        commission_bp: (2000, 4000),
        return_rate: 0.09,
        conversion: 0.03,
        weight_g: (20, 150),
        variants: Variants::Colours,
        female: 0.85,
        age_peak: 2,
        adjectives: &[
            "Sterling Silver",
            "Freshwater",
            "Gold-plated",
            "Hetian Jade",
            "Minimal",
            "Vintage",
        ],
    },
    Category {
        slug: "food",
        subs: &[
            s(
                "farm-produce",
                &[
                    "Navel Oranges",
                    "Kiwifruit",
                    "Sweet Potatoes",
                    "Mangoes",
                    "Walnuts",
                    "Rice",
                ],
            ),
            s(
                "grocery",
                &[
                    "Instant Noodles",
                    "Chilli Sauce",
                    "Hot Pot Base",
                    "Sesame Oil",
                ],
            ),
            s(
                "meat-seafood",
                &[
                    "Beef Jerky",
                    "Frozen Shrimp",
                    "Smoked Ham",
                    "Salted Duck Eggs",
                ],
            ),
        ],
        price_median: 39.0,
        price_sigma: 0.55,
        commission_bp: (800, 2000),
        return_rate: 0.03,
        conversion: 0.06,
        weight_g: (500, 5000),
        variants: Variants::Contents,
        female: 0.6,
        age_peak: 2,
        adjectives: &[
            "Fresh",
            "Organic",
            "Orchard-picked",
            "Mountain",
            "Spicy",
            "Family-size",
            "Handmade",
        ],
    },
    Category {
        slug: "snacks",
        subs: &[
            s("nuts", &["Mixed Nuts", "Roasted Cashews", "Macadamias"]),
            s(
                "sweets",
                &["Dark Chocolate", "Egg Rolls", "Mooncakes", "Dried Mango"],
            ),
            s(
                "savoury",
                &["Seaweed Snacks", "Spicy Strips", "Rice Crackers"],
            ),
        ],
        price_median: 29.0,
        price_sigma: 0.45,
        commission_bp: (1000, 2500),
        return_rate: 0.02,
        conversion: 0.07,
        weight_g: (150, 1500),
        variants: Variants::Packs,
        female: 0.6,
        age_peak: 0,
        adjectives: &[
            "Crunchy",
            "Low-sugar",
            "Daily",
            "Gift Box",
            "Salted",
            "Honey",
        ],
    },
    Category {
        slug: "tea",
        subs: &[
            s(
                "tea",
                &[
                    "Oolong Tea",
                    "Longjing Green Tea",
                    "Pu'er Tea Cake",
                    "Jasmine Tea",
                ],
            ),
            s(
                "coffee",
                &["Cold Brew Sachets", "Drip Coffee Bags", "Coffee Beans"],
            ),
            s("drinks", &["Sparkling Water", "Oat Milk", "Herbal Drink"]),
        ],
        price_median: 69.0,
        price_sigma: 0.6,
        commission_bp: (1200, 3000),
        return_rate: 0.03,
        conversion: 0.045,
        weight_g: (200, 2500),
        variants: Variants::Contents,
        female: 0.5,
        age_peak: 2,
        adjectives: &[
            "Spring Harvest",
            "Single-origin",
            "Hand-rolled",
            "Aged",
            "Sugar-free",
            "Premium",
        ],
    },
    Category {
        slug: "home",
        subs: &[
            s(
                "bedding",
                &[
                    "Duvet",
                    "Silk Pillowcase",
                    "Bed Sheet Set",
                    "Memory Foam Pillow",
                ],
            ),
            s("storage", &["Storage Boxes", "Vacuum Bags", "Shoe Rack"]),
            s(
                "decor",
                &[
                    "Aroma Diffuser",
                    "Wall Clock",
                    "LED Night Light",
                    "Throw Blanket",
                ],
            ),
        ],
        price_median: 79.0,
        price_sigma: 0.65,
        commission_bp: (1000, 2500),
        return_rate: 0.08,
        conversion: 0.035,
        weight_g: (300, 4000),
        variants: Variants::Colours,
        female: 0.68,
        age_peak: 2,
        adjectives: &[
            "Cosy",
            "Foldable",
            "Nordic",
            "Antibacterial",
            "Soft-touch",
            "Space-saving",
        ],
    },
    Category {
        slug: "kitchen",
        subs: &[
            s("cookware", &["Non-stick Pan", "Cast Iron Wok", "Stockpot"]),
            s(
                "tableware",
                &[
                    "Ceramic Bowl Set",
                    "Glass Food Containers",
                    "Chopsticks Set",
                ],
            ),
            s(
                "tools",
                &["Knife Set", "Vegetable Slicer", "Silicone Spatulas"],
            ),
        ],
        price_median: 89.0,
        price_sigma: 0.6,
        commission_bp: (1000, 2500),
        return_rate: 0.07,
        conversion: 0.035,
        weight_g: (300, 3500),
        variants: Variants::Packs,
        female: 0.65,
        age_peak: 2,
        adjectives: &[
            "Stainless",
            "Induction-ready",
            "Dishwasher-safe",
            "Japanese-style",
            "Heat-resistant",
        ],
    },
    Category {
        slug: "appliances",
        subs: &[
            s(
                "kitchen-appliances",
                &[
                    "Air Fryer",
                    "Soymilk Maker",
                    "Rice Cooker",
                    "Electric Kettle",
                ],
            ),
            s(
                "cleaning",
                &["Cordless Vacuum", "Robot Vacuum", "Steam Mop"],
            ),
            s(
                "personal",
                &["Hair Dryer", "Massage Gun", "Electric Shaver"],
            ),
        ],
        price_median: 299.0,
        price_sigma: 0.7,
        commission_bp: (500, 1500),
        return_rate: 0.07,
        conversion: 0.02,
        weight_g: (500, 6000),
        variants: Variants::Colours,
        female: 0.5,
        age_peak: 2,
        adjectives: &[
            "Smart",
            "Compact",
            "Quiet",
            "High-power",
            "Portable",
            "Multi-function",
        ],
    },
    Category {
        slug: "phone-accessories",
        subs: &[
            s(
                "cases",
                &["Phone Case", "Screen Protector", "MagSafe Wallet"],
            ),
            s("power", &["Power Bank", "Fast Charger", "Charging Cable"]),
            s("audio", &["Wireless Earbuds", "Neckband Earphones"]),
        ],
        price_median: 49.0,
        price_sigma: 0.7,
        commission_bp: (1500, 3500),
        return_rate: 0.08,
        conversion: 0.04,
        weight_g: (30, 400),
        variants: Variants::Colours,
        female: 0.45,
        age_peak: 0,
        adjectives: &[
            "Shockproof",
            "Magnetic",
            "65W",
            "Transparent",
            "Noise-cancelling",
            "Slim",
        ],
    },
    Category {
        slug: "digital",
        subs: &[
            s("gadgets", &["Smart Watch", "Fitness Band", "Action Camera"]),
            s(
                "computer",
                &["Mechanical Keyboard", "Wireless Mouse", "USB-C Hub"],
            ),
            s(
                "smart-home",
                &["Smart Plug", "Security Camera", "Smart Bulb"],
            ),
        ],
        price_median: 259.0,
        price_sigma: 0.8,
        commission_bp: (300, 1000),
        return_rate: 0.06,
        conversion: 0.018,
        weight_g: (50, 1500),
        variants: Variants::Colours,
        female: 0.3,
        age_peak: 1,
        adjectives: &[
            "Bluetooth",
            "4K",
            "Long-battery",
            "Wi-Fi",
            "RGB",
            "Ergonomic",
        ],
    },
    Category {
        slug: "baby",
        subs: &[
            s(
                "feeding",
                &["Baby Bottle", "Formula Dispenser", "Silicone Bib"],
            ),
            s("diapers", &["Diapers", "Pull-up Pants", "Baby Wipes"]),
            s(
                "baby-clothing",
                &["Romper", "Swaddle Blanket", "Baby Socks"],
            ),
        ],
        price_median: 79.0,
        price_sigma: 0.6,
        commission_bp: (800, 2000),
        return_rate: 0.05,
        conversion: 0.04,
        weight_g: (100, 3000),
        variants: Variants::Packs,
        female: 0.82,
        age_peak: 1,
        adjectives: &[
            "Organic Cotton",
            "BPA-free",
            "Ultra-thin",
            "Newborn",
            "Gentle",
            "Anti-colic",
        ],
    },
    Category {
        slug: "toys",
        subs: &[
            s(
                "educational",
                &["Building Blocks", "Puzzle Set", "Drawing Board"],
            ),
            s("plush", &["Plush Toy", "Plush Pillow"]),
            s("outdoor-toys", &["Balance Bike", "Bubble Machine", "Kite"]),
        ],
        price_median: 69.0,
        price_sigma: 0.6,
        commission_bp: (1200, 2800),
        return_rate: 0.05,
        conversion: 0.035,
        weight_g: (150, 3000),
        variants: Variants::Colours,
        female: 0.7,
        age_peak: 1,
        adjectives: &[
            "Montessori",
            "Wooden",
            "Cute",
            "Glow-in-the-dark",
            "STEM",
            "Giant",
        ],
    },
    Category {
        slug: "health",
        subs: &[
            s(
                "supplements",
                &[
                    "Fish Oil Capsules",
                    "Probiotics",
                    "Collagen Drink",
                    "Vitamin D",
                ],
            ),
            s(
                "devices",
                &[
                    "Blood Pressure Monitor",
                    "Digital Thermometer",
                    "Heating Pad",
                ],
            ),
            s(
                "wellness",
                &["Eye Mask", "Foot Soak Herbs", "Acupressure Mat"],
            ),
        ],
        price_median: 119.0,
        price_sigma: 0.6,
        commission_bp: (1500, 3500),
        return_rate: 0.04,
        conversion: 0.03,
        weight_g: (100, 1500),
        variants: Variants::Packs,
        female: 0.6,
        age_peak: 3,
        adjectives: &[
            "Daily",
            "Family",
            "Sugar-free",
            "Portable",
            "Gentle",
            "Steam",
        ],
    },
    Category {
        slug: "pets",
        subs: &[
            s("pet-food", &["Cat Food", "Dog Food", "Freeze-dried Treats"]),
            s("pet-care", &["Cat Litter", "Pet Shampoo", "Grooming Brush"]),
            s("pet-toys", &["Cat Tree", "Chew Toy", "Pet Bed"]),
        ],
        price_median: 69.0,
        price_sigma: 0.6,
        commission_bp: (1000, 2500),
        return_rate: 0.04,
        conversion: 0.045,
        weight_g: (200, 8000),
        variants: Variants::Contents,
        female: 0.7,
        age_peak: 1,
        adjectives: &[
            "Grain-free",
            "Tofu",
            "Clumping",
            "Dental",
            "Calming",
            "Indoor",
        ],
    },
    Category {
        slug: "sports",
        subs: &[
            s(
                "fitness",
                &[
                    "Yoga Mat",
                    "Resistance Bands",
                    "Adjustable Dumbbells",
                    "Jump Rope",
                ],
            ),
            s("sportswear", &["Leggings", "Sports Bra", "Running Shorts"]),
            s(
                "ball-sports",
                &["Badminton Racket", "Basketball", "Table Tennis Set"],
            ),
        ],
        price_median: 99.0,
        price_sigma: 0.6,
        commission_bp: (1000, 2500),
        return_rate: 0.1,
        conversion: 0.03,
        weight_g: (100, 5000),
        variants: Variants::Apparel,
        female: 0.5,
        age_peak: 1,
        adjectives: &[
            "Non-slip",
            "High-waist",
            "Quick-dry",
            "Pro",
            "Foldable",
            "Beginner",
        ],
    },
    Category {
        slug: "outdoor",
        subs: &[
            s(
                "camping",
                &["Camping Tent", "Folding Chair", "Camping Lantern"],
            ),
            s(
                "hiking",
                &["Trekking Poles", "Hiking Backpack", "Rain Jacket"],
            ),
            s("fishing", &["Fishing Rod", "Tackle Box"]),
        ],
        price_median: 159.0,
        price_sigma: 0.7,
        commission_bp: (800, 2000),
        return_rate: 0.08,
        conversion: 0.02,
        weight_g: (200, 6000),
        variants: Variants::Colours,
        female: 0.35,
        age_peak: 2,
        adjectives: &[
            "Ultralight",
            "Waterproof",
            "Windproof",
            "Carbon",
            "Pop-up",
            "Rugged",
        ],
    },
    Category {
        slug: "books",
        subs: &[
            s(
                "childrens-books",
                &["Picture Book Set", "Sticker Book", "Bedtime Stories"],
            ),
            s(
                "self-help",
                &["Career Guide", "Cookbook", "Mindfulness Journal"],
            ),
            s(
                "stationery",
                &["Gel Pens", "Planner", "Washi Tape Set", "Fountain Pen"],
            ),
        ],
        price_median: 49.0,
        price_sigma: 0.55,
        commission_bp: (1000, 3000),
        return_rate: 0.03,
        conversion: 0.04,
        weight_g: (100, 1500),
        variants: Variants::Packs,
        female: 0.62,
        age_peak: 1,
        adjectives: &[
            "Illustrated",
            "Bestselling",
            "Bilingual",
            "Hardcover",
            "Pastel",
            "Refillable",
        ],
    },
    Category {
        slug: "automotive",
        subs: &[
            s(
                "car-interior",
                &["Car Phone Holder", "Seat Cushion", "Car Air Freshener"],
            ),
            s(
                "car-care",
                &["Car Wash Foam", "Microfibre Towels", "Tyre Inflator"],
            ),
            s(
                "car-electronics",
                &["Dash Cam", "Car Charger", "Jump Starter"],
            ),
        ],
        price_median: 89.0,
        price_sigma: 0.7,
        commission_bp: (800, 2000),
        return_rate: 0.06,
        conversion: 0.025,
        weight_g: (100, 3000),
        variants: Variants::Colours,
        female: 0.25,
        age_peak: 2,
        adjectives: &[
            "Universal",
            "Magnetic",
            "Cordless",
            "1080p",
            "Leather",
            "Quick",
        ],
    },
];

pub fn category(slug: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.slug == slug)
}

pub fn category_index(slug: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.slug == slug)
}

/// A checked category path, `top` or `top/sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryPath {
    pub top: usize,
    pub sub: Option<usize>,
}

impl CategoryPath {
    pub fn parse(path: &str) -> Option<Self> {
        let path = path.trim().trim_matches('/');
        let (top, sub) = match path.split_once('/') {
            Some((t, s)) => (t, Some(s)),
            None => (path, None),
        };
        let top_i = category_index(top)?;
        let sub = match sub {
            None => None,
            Some(s) => Some(CATEGORIES[top_i].subs.iter().position(|x| x.slug == s)?),
        };
        Some(Self { top: top_i, sub })
    }

    pub fn top_slug(&self) -> &'static str {
        CATEGORIES[self.top].slug
    }

    pub fn sub_slug(&self) -> Option<&'static str> {
        self.sub.map(|s| CATEGORIES[self.top].subs[s].slug)
    }

    pub fn as_string(&self) -> String {
        match self.sub_slug() {
            Some(sub) => format!("{}/{}", self.top_slug(), sub),
            None => self.top_slug().to_string(),
        }
    }
}

/// Age bands of the audience model, as on the creator profile.
pub const AGE_BANDS: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55+"];

/// Statistics segments: women by age band, men by age band, then everyone.
pub const SEGMENT_COUNT: usize = 11;
pub const SEGMENT_ALL: usize = 10;

pub fn segment_name(index: usize) -> String {
    match index {
        i if i < 5 => format!("f{}", AGE_BANDS[i]),
        i if i < 10 => format!("m{}", AGE_BANDS[i - 5]),
        _ => "all".into(),
    }
}

pub fn segment_index(name: &str) -> Option<usize> {
    (0..SEGMENT_COUNT).find(|i| segment_name(*i) == name)
}

/// How much a category's buyers fall in a segment, as a share (the ten shares add to 1).
pub fn audience_share(cat: &Category, segment: usize) -> f64 {
    if segment >= 10 {
        return 1.0;
    }
    let (gender, band) = if segment < 5 {
        (cat.female, segment)
    } else {
        (1.0 - cat.female, segment - 5)
    };
    let distance = band.abs_diff(cat.age_peak) as f64;
    let weights: f64 = (0..5)
        .map(|b: usize| 1.0 / (1.0 + b.abs_diff(cat.age_peak) as f64).powi(2))
        .sum();
    gender * (1.0 / (1.0 + distance).powi(2)) / weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_twenty_plus_categories_with_unique_slugs() {
        assert!(CATEGORIES.len() >= 20);
        let mut slugs: Vec<_> = CATEGORIES.iter().map(|c| c.slug).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), CATEGORIES.len());
    }

    #[test]
    fn profile_niches_are_the_top_categories() {
        let top: Vec<&str> = CATEGORIES.iter().map(|c| c.slug).collect();
        assert_eq!(crate::accounts::profile::NICHES, top.as_slice());
        assert_eq!(crate::accounts::profile::AGE_BANDS, AGE_BANDS);
    }

    #[test]
    fn paths_parse_and_unknown_ones_do_not() {
        let p = CategoryPath::parse("beauty/skincare").unwrap();
        assert_eq!(p.as_string(), "beauty/skincare");
        assert_eq!(CategoryPath::parse("pets").unwrap().sub, None);
        assert!(CategoryPath::parse("weapons").is_none());
        assert!(CategoryPath::parse("beauty/rockets").is_none());
    }

    #[test]
    fn segments_round_trip_and_shares_add_up() {
        for i in 0..SEGMENT_COUNT {
            assert_eq!(segment_index(&segment_name(i)), Some(i));
        }
        for cat in CATEGORIES {
            let total: f64 = (0..10).map(|s| audience_share(cat, s)).sum();
            assert!((total - 1.0).abs() < 1e-9, "{}", cat.slug);
        }
    }
}
