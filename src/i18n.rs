//! The two UI languages and how a request picks one. Strings live in `locales/*.yml`
//! and are looked up through rust-i18n.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    ZhCn,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, as shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhCn => "简体中文",
        }
    }

    /// Accepts a language tag such as `en`, `en-GB`, `zh`, `zh-CN` or `zh-Hans`.
    pub fn parse(tag: &str) -> Option<Locale> {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary {
            "en" => Some(Locale::En),
            "zh" => Some(Locale::ZhCn),
            _ => None,
        }
    }

    /// The best supported language from an `Accept-Language` header, by q-value.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',').take(20) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(locale) = Locale::parse(tag)
                && q > 0.0
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l)
    }

    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// Translates and fills `%{name}` placeholders.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_highest_q() {
        assert_eq!(
            Locale::from_accept_language("fr-FR, zh-CN;q=0.9, en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("zh;q=0.5, en-US"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("de, fr"), None);
        assert_eq!(Locale::from_accept_language("zh;q=0"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn translations_exist_in_both_languages() {
        assert_eq!(Locale::En.t("nav.login"), "Log in");
        assert_eq!(Locale::ZhCn.t("nav.login"), "登录");
    }

    /// Every key in one language file is in the other, so no page shows a raw key.
    #[test]
    fn locale_files_have_the_same_keys() {
        fn keys(prefix: &str, value: &serde_yaml_ng::Value, out: &mut Vec<String>) {
            if let serde_yaml_ng::Value::Mapping(map) = value {
                for (k, v) in map {
                    let k = k.as_str().unwrap_or_default();
                    let path = if prefix.is_empty() {
                        k.to_string()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    keys(&path, v, out);
                }
            } else {
                out.push(prefix.to_string());
            }
        }
        // `en.yml` and `zh-CN.yml`, and per-area fragments `<area>.en.yml` beside them.
        let load = |file: &str| {
            let text =
                std::fs::read_to_string(format!("{}/locales/{file}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap();
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
            let mut out = Vec::new();
            keys("", &value, &mut out);
            out.sort();
            out
        };
        let dir = format!("{}/locales", env!("CARGO_MANIFEST_DIR"));
        let mut pairs = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix("en.yml") else {
                continue;
            };
            let twin = format!("{stem}zh-CN.yml");
            assert_eq!(load(&name), load(&twin), "{name} and {twin} differ");
            pairs += 1;
        }
        assert!(pairs >= 2, "locale files found: {pairs}");
    }

    /// Every key the code and templates ask for exists.
    #[test]
    fn every_used_key_is_translated() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut missing = Vec::new();
        let mut files = Vec::new();
        for dir in ["src", "templates"] {
            collect_files(&std::path::Path::new(root).join(dir), &mut files);
        }
        let pattern =
            regex_lite::Regex::new(r#"\.t\("([a-z0-9_.]+)"\)|\btf?\(\s*"([a-z0-9_.]+)""#).unwrap();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for cap in pattern.captures_iter(&text) {
                let key = cap.get(1).or(cap.get(2)).unwrap().as_str();
                for locale in Locale::ALL {
                    let value = locale.t(key);
                    if value.ends_with(key) {
                        missing.push(format!("{} {key} ({})", file.display(), locale.code()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:#?}");
    }

    fn collect_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
}
