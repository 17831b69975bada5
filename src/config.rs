//! Settings from defaults, an optional `kaibo.toml`, `KAIBO_*` environment variables,
//! `DATABASE_URL`, and command-line flags, in rising order of precedence.
//! Every value is checked here, and a bad one is reported with its name and value.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::db::DatabaseUrl;

/// Raw settings as they come from the sources; field names are the setting names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub bind: String,
    pub data: PathBuf,
    pub database_url: Option<String>,
    pub pool_size: u32,
    pub workers: usize,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub log_format: String,
    pub hash_concurrency: usize,
    pub login_attempts_per_account: u32,
    pub login_attempts_per_address: u32,
    pub seed_demo: bool,
    pub courses: PathBuf,
    pub watch: bool,
    pub public_url: String,
    pub demo_catalog_skus: u64,
    pub catalog_refresh_seconds: u64,
    pub outbox_worker: bool,
    pub outbox_poll_ms: u64,
    pub show_worker: bool,
    /// A bearer token that opens `/metrics`; empty means loopback clients only.
    pub metrics_token: String,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data: PathBuf::from("data"),
            database_url: None,
            pool_size: 8,
            workers: 0,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            secure_cookies: false,
            trust_forwarded_for: false,
            log_format: "text".into(),
            hash_concurrency: 0,
            login_attempts_per_account: 5,
            login_attempts_per_address: 20,
            seed_demo: true,
            courses: PathBuf::from("courses"),
            watch: false,
            public_url: String::new(),
            demo_catalog_skus: 100_000,
            catalog_refresh_seconds: 10,
            outbox_worker: true,
            outbox_poll_ms: 2_000,
            show_worker: true,
            metrics_token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Checked settings the application runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub pool_size: u32,
    /// 0 means one worker per core.
    pub workers: usize,
    pub session_idle: chrono::Duration,
    pub session_absolute: chrono::Duration,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub log_format: LogFormat,
    pub hash_concurrency: usize,
    pub login_attempts_per_account: u32,
    pub login_attempts_per_address: u32,
    pub seed_demo: bool,
    /// Folder of course folders.
    pub courses_dir: PathBuf,
    /// Reload a course when its files change.
    pub watch: bool,
    /// Kaibo's address as users reach it, e.g. `https://learn.example.org`; names the
    /// accounts in xAPI exports. Empty means `http://` + `bind`.
    pub public_url: String,
    /// SKUs generated into an empty catalog at start; 0 leaves it empty.
    pub demo_catalog_skus: u64,
    /// How often an instance checks whether another one changed the catalog.
    pub catalog_refresh: std::time::Duration,
    /// Whether this instance delivers outbox messages to suppliers (any number may).
    pub outbox_worker: bool,
    /// Whether this instance ticks sandbox shows (each show is leased by one instance).
    pub show_worker: bool,
    /// Bearer token for `/metrics`; `None` means loopback clients only.
    pub metrics_token: Option<String>,
    /// How often the outbox worker looks for messages it was not woken for.
    pub outbox_poll: std::time::Duration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting `{name}` = {value:?}: {reason}")]
pub struct SettingError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

impl SettingError {
    fn new(name: &str, value: impl ToString, reason: impl ToString) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Flags given on the command line; `None` leaves the other sources in charge.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub courses: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<bool>,
}

impl Settings {
    /// Reads every source. `config_file` is `kaibo.toml` unless `KAIBO_CONFIG` names another;
    /// a missing file is fine, a broken one is an error.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, SettingError> {
        let path = config_file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("KAIBO_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("kaibo.toml"));
        let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
        if path.exists() {
            figment = figment.merge(Toml::file(&path));
        }
        figment = figment
            .merge(Env::prefixed("KAIBO_").ignore(&[
                "config",
                "test_database_url",
                "log",
                "require_browser",
            ]))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Serialized::defaults(overrides));
        let raw: RawSettings = figment.extract().map_err(describe_figment_error)?;
        Self::from_raw(raw)
    }

    pub fn from_raw(raw: RawSettings) -> Result<Self, SettingError> {
        if raw.bind.to_socket_addrs().map_or(0, |a| a.count()) == 0 {
            return Err(SettingError::new(
                "bind",
                &raw.bind,
                "expected HOST:PORT, such as 127.0.0.1:8080",
            ));
        }
        let database_url = match &raw.database_url {
            Some(url) if !url.trim().is_empty() => DatabaseUrl::parse(url)
                .map_err(|e| SettingError::new("database_url (DATABASE_URL)", url, e))?,
            _ => DatabaseUrl::Sqlite(raw.data.join("kaibo.db")),
        };
        let log_format = match raw.log_format.to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(SettingError::new(
                    "log_format",
                    &raw.log_format,
                    "expected `text` or `json`",
                ));
            }
        };
        if raw.pool_size == 0 {
            return Err(SettingError::new("pool_size", 0, "must be at least 1"));
        }
        if raw.session_idle_minutes == 0 {
            return Err(SettingError::new(
                "session_idle_minutes",
                0,
                "must be at least 1",
            ));
        }
        if raw.session_absolute_hours == 0 {
            return Err(SettingError::new(
                "session_absolute_hours",
                0,
                "must be at least 1",
            ));
        }
        for (name, value) in [
            ("login_attempts_per_account", raw.login_attempts_per_account),
            ("login_attempts_per_address", raw.login_attempts_per_address),
        ] {
            if value == 0 {
                return Err(SettingError::new(name, value, "must be at least 1"));
            }
        }
        let public_url = if raw.public_url.trim().is_empty() {
            format!("http://{}", raw.bind)
        } else {
            let trimmed = raw.public_url.trim().trim_end_matches('/').to_string();
            match url::Url::parse(&trimmed) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => trimmed,
                _ => {
                    return Err(SettingError::new(
                        "public_url",
                        &raw.public_url,
                        "expected an http(s) address, such as https://learn.example.org",
                    ));
                }
            }
        };
        if raw.demo_catalog_skus > 2_000_000 {
            return Err(SettingError::new(
                "demo_catalog_skus",
                raw.demo_catalog_skus,
                "at most 2000000; generate larger catalogs with `kaibo catalog generate`",
            ));
        }
        if !(1..=3600).contains(&raw.catalog_refresh_seconds) {
            return Err(SettingError::new(
                "catalog_refresh_seconds",
                raw.catalog_refresh_seconds,
                "expected 1 to 3600",
            ));
        }
        if !(100..=60_000).contains(&raw.outbox_poll_ms) {
            return Err(SettingError::new(
                "outbox_poll_ms",
                raw.outbox_poll_ms,
                "expected 100 to 60000",
            ));
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            bind: raw.bind,
            data_dir: raw.data,
            database_url,
            pool_size: raw.pool_size,
            workers: raw.workers,
            session_idle: chrono::Duration::minutes(raw.session_idle_minutes.into()),
            session_absolute: chrono::Duration::hours(raw.session_absolute_hours.into()),
            secure_cookies: raw.secure_cookies,
            trust_forwarded_for: raw.trust_forwarded_for,
            log_format,
            hash_concurrency: if raw.hash_concurrency == 0 {
                cores
            } else {
                raw.hash_concurrency
            },
            login_attempts_per_account: raw.login_attempts_per_account,
            login_attempts_per_address: raw.login_attempts_per_address,
            seed_demo: raw.seed_demo,
            courses_dir: raw.courses,
            watch: raw.watch,
            public_url,
            demo_catalog_skus: raw.demo_catalog_skus,
            catalog_refresh: std::time::Duration::from_secs(raw.catalog_refresh_seconds),
            outbox_worker: raw.outbox_worker,
            show_worker: raw.show_worker,
            metrics_token: {
                let token = raw.metrics_token.trim();
                if !token.is_empty() && token.len() < 16 {
                    return Err(SettingError::new(
                        "metrics_token",
                        "(hidden)",
                        "at least 16 characters, or empty for loopback-only access",
                    ));
                }
                (!token.is_empty()).then(|| token.to_string())
            },
            outbox_poll: std::time::Duration::from_millis(raw.outbox_poll_ms),
        })
    }
}

fn describe_figment_error(err: figment::Error) -> SettingError {
    let name = err.path.join(".");
    let source = err
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| "settings".into());
    let value = match &err.kind {
        figment::error::Kind::InvalidType(actual, _) => actual.to_string(),
        figment::error::Kind::InvalidValue(actual, _) => actual.to_string(),
        figment::error::Kind::UnknownField(field, _) => field.clone(),
        _ => String::new(),
    };
    let name = if name.is_empty() {
        match &err.kind {
            figment::error::Kind::UnknownField(field, _) => field.clone(),
            _ => "(file)".into(),
        }
    } else {
        name
    };
    SettingError::new(&name, value, format!("{} (from {source})", err.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_sqlite_in_the_data_directory() {
        let settings = Settings::from_raw(RawSettings::default()).unwrap();
        assert_eq!(
            settings.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("data/kaibo.db"))
        );
        assert_eq!(settings.session_idle, chrono::Duration::minutes(30));
        assert_eq!(settings.session_absolute, chrono::Duration::hours(12));
    }

    #[test]
    fn unknown_database_scheme_names_the_setting_and_value() {
        let raw = RawSettings {
            database_url: Some("mysql://root@localhost/kaibo".into()),
            ..RawSettings::default()
        };
        let err = Settings::from_raw(raw).unwrap_err();
        assert_eq!(err.name, "database_url (DATABASE_URL)");
        assert_eq!(err.value, "mysql://root@localhost/kaibo");
        assert!(err.to_string().contains("unknown scheme `mysql`"), "{err}");
    }

    #[test]
    fn bad_bind_and_log_format_are_reported() {
        let raw = RawSettings {
            bind: "not an address".into(),
            ..RawSettings::default()
        };
        assert_eq!(Settings::from_raw(raw).unwrap_err().name, "bind");
        let raw = RawSettings {
            log_format: "xml".into(),
            ..RawSettings::default()
        };
        assert_eq!(Settings::from_raw(raw).unwrap_err().value, "xml");
    }

    #[test]
    fn toml_file_with_wrong_type_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kaibo.toml");
        std::fs::write(&file, "pool_size = \"many\"\n").unwrap();
        let err = Settings::load(Some(&file), &Overrides::default()).unwrap_err();
        assert_eq!(err.name, "pool_size");
        assert!(err.value.contains("many"), "{err}");
    }

    #[test]
    fn toml_file_with_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kaibo.toml");
        std::fs::write(&file, "poolsize = 3\n").unwrap();
        let err = Settings::load(Some(&file), &Overrides::default()).unwrap_err();
        assert_eq!(err.name, "poolsize", "{err}");
    }
}
