//! Ship-from and audience regions: China's provinces and municipalities, with a point
//! near each one's main logistics hub, so shipping distance can be estimated.

pub struct Region {
    pub slug: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
    pub lat: f64,
    pub lon: f64,
}

const fn r(slug: &'static str, en: &'static str, zh: &'static str, lat: f64, lon: f64) -> Region {
    Region {
        slug,
        en,
        zh,
        lat,
        lon,
    }
}

pub const REGIONS: &[Region] = &[
    r("beijing", "Beijing", "北京", 39.90, 116.40),
    r("tianjin", "Tianjin", "天津", 39.13, 117.20),
    r("hebei", "Hebei", "河北", 38.04, 114.51),
    r("shanxi", "Shanxi", "山西", 37.87, 112.55),
    r("inner-mongolia", "Inner Mongolia", "内蒙古", 40.84, 111.75),
    r("liaoning", "Liaoning", "辽宁", 41.80, 123.43),
    r("jilin", "Jilin", "吉林", 43.82, 125.32),
    r("heilongjiang", "Heilongjiang", "黑龙江", 45.80, 126.53),
    r("shanghai", "Shanghai", "上海", 31.23, 121.47),
    r("jiangsu", "Jiangsu", "江苏", 32.06, 118.80),
    r("zhejiang", "Zhejiang", "浙江", 30.27, 120.15),
    r("anhui", "Anhui", "安徽", 31.82, 117.23),
    r("fujian", "Fujian", "福建", 26.07, 119.30),
    r("jiangxi", "Jiangxi", "江西", 28.68, 115.86),
    r("shandong", "Shandong", "山东", 36.65, 117.12),
    r("henan", "Henan", "河南", 34.75, 113.62),
    r("hubei", "Hubei", "湖北", 30.59, 114.31),
    r("hunan", "Hunan", "湖南", 28.23, 112.94),
    r("guangdong", "Guangdong", "广东", 23.13, 113.26),
    r("guangxi", "Guangxi", "广西", 22.82, 108.37),
    r("hainan", "Hainan", "海南", 20.04, 110.32),
    r("chongqing", "Chongqing", "重庆", 29.56, 106.55),
    r("sichuan", "Sichuan", "四川", 30.57, 104.07),
    r("guizhou", "Guizhou", "贵州", 26.65, 106.63),
    r("yunnan", "Yunnan", "云南", 25.04, 102.71),
    r("shaanxi", "Shaanxi", "陕西", 34.34, 108.94),
    r("gansu", "Gansu", "甘肃", 36.06, 103.83),
    r("xinjiang", "Xinjiang", "新疆", 43.83, 87.62),
];

pub fn index_of(slug: &str) -> Option<usize> {
    REGIONS.iter().position(|r| r.slug == slug)
}

/// Finds a region by its slug, English or Chinese name (`Guangdong`, `广东`, `广东省`).
pub fn find(name: &str) -> Option<&'static Region> {
    let name = name.trim();
    let trimmed = name
        .trim_end_matches(['省', '市'])
        .trim_end_matches("自治区");
    REGIONS.iter().find(|r| {
        r.slug.eq_ignore_ascii_case(name)
            || r.en.eq_ignore_ascii_case(name)
            || r.zh == name
            || r.zh == trimmed
    })
}

pub fn name(slug: &str, locale: crate::i18n::Locale) -> &str {
    match REGIONS.iter().find(|r| r.slug == slug) {
        Some(r) if locale == crate::i18n::Locale::ZhCn => r.zh,
        Some(r) => r.en,
        None => slug,
    }
}

/// Great-circle distance in kilometres between two regions' hubs.
pub fn distance_km(a: usize, b: usize) -> f64 {
    let (a, b) = (&REGIONS[a], &REGIONS[b]);
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_found_by_any_name() {
        assert_eq!(find("Guangdong").unwrap().slug, "guangdong");
        assert_eq!(find("广东省").unwrap().slug, "guangdong");
        assert_eq!(find("zhejiang").unwrap().slug, "zhejiang");
        assert_eq!(find("上海市").unwrap().slug, "shanghai");
        assert!(find("Atlantis").is_none());
    }

    #[test]
    fn distances_are_plausible() {
        let sh = index_of("shanghai").unwrap();
        let zj = index_of("zhejiang").unwrap();
        let xj = index_of("xinjiang").unwrap();
        assert!(distance_km(sh, zj) < 200.0);
        assert!(distance_km(sh, xj) > 3000.0);
        assert_eq!(distance_km(sh, sh), 0.0);
    }
}
