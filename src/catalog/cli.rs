//! `kaibo catalog ...`: generate a synthetic catalog, import and export CSV, list
//! suppliers. Long runs show a progress bar on the terminal (none when piped).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use super::csv_io::{self, ImportError, ImportLimits};
use super::model;
use super::seed;
use crate::cli::{DataArgs, load_with_data};
use crate::i18n::Locale;
use crate::startup::open_database;

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Add a synthetic catalog of SKUs, the same for the same seed.
    Generate {
        /// How many SKUs to generate (at most 5,000,000).
        #[arg(long, default_value_t = 100_000)]
        skus: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List suppliers with their codes (for `import --supplier`) and SKU counts.
    Suppliers {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Import a supplier's products and SKUs from a CSV file (docs/catalog-csv.md).
    /// Nothing is written if any row is invalid, unless --skip-invalid is given.
    Import {
        /// The CSV file: UTF-8 (with or without BOM), one row per SKU, header first.
        file: PathBuf,
        /// The supplier's code, as listed by `kaibo catalog suppliers`.
        #[arg(long)]
        supplier: String,
        /// Import the valid rows and report the invalid ones instead of rejecting the file.
        #[arg(long)]
        skip_invalid: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Export the catalog of one supplier, or of all, as CSV in the import layout.
    Export {
        /// Only this supplier's products (default: every supplier).
        #[arg(long)]
        supplier: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

const MAX_GENERATED_SKUS: u64 = 5_000_000;

pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

pub async fn run(command: CatalogCommand, config: Option<&Path>) -> anyhow::Result<()> {
    match command {
        CatalogCommand::Generate { skus, seed, data } => {
            if skus == 0 || skus > MAX_GENERATED_SKUS {
                anyhow::bail!("--skus must be between 1 and {MAX_GENERATED_SKUS}, not {skus}");
            }
            let settings = load_with_data(config, data)?;
            let url = settings.database_url.redacted();
            let done = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let pool = open_database(&settings)?;
                let mut conn = pool.get()?;
                let bar = progress_bar(skus, "SKUs");
                let started = Instant::now();
                let now = chrono::Utc::now().naive_utc();
                let done =
                    seed::generate_into(&mut conn, seed, skus, now, |n| bar.set_position(n))?;
                bar.finish_and_clear();
                Ok((done, started.elapsed()))
            })
            .await??;
            let (done, elapsed) = done;
            let secs = elapsed.as_secs_f64();
            println!(
                "Generated {} SKUs ({} products, {} suppliers, {} statistics rows) into {url} in {secs:.1} s: {:.0} SKUs/s.",
                done.skus,
                done.products,
                done.suppliers,
                done.stats,
                done.skus as f64 / secs.max(1e-9),
            );
            Ok(())
        }
        CatalogCommand::Suppliers { data } => {
            let settings = load_with_data(config, data)?;
            let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let pool = open_database(&settings)?;
                let mut conn = pool.get()?;
                Ok(model::list_suppliers(&mut conn)?)
            })
            .await??;
            println!("{:<12} {:>8}  {:<16} name", "code", "SKUs", "region");
            for (s, skus) in rows {
                println!("{:<12} {:>8}  {:<16} {}", s.code, skus, s.region, s.name);
            }
            Ok(())
        }
        CatalogCommand::Import {
            file,
            supplier,
            skip_invalid,
            data,
        } => {
            let settings = load_with_data(config, data)?;
            tokio::task::spawn_blocking(move || import(&settings, &file, &supplier, skip_invalid))
                .await?
        }
        CatalogCommand::Export {
            supplier,
            out,
            data,
        } => {
            let settings = load_with_data(config, data)?;
            tokio::task::spawn_blocking(move || export(&settings, supplier.as_deref(), out)).await?
        }
    }
}

fn unknown_supplier(code: &str) -> anyhow::Error {
    anyhow::anyhow!("unknown supplier `{code}`: `kaibo catalog suppliers` lists the supplier codes")
}

/// Reads at most one byte more than the limit, so an oversized file is reported as such
/// without being read whole.
fn read_limited(file: &Path, limits: &ImportLimits) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    Ok(bytes)
}

fn import(
    settings: &crate::config::Settings,
    file: &Path,
    code: &str,
    skip_invalid: bool,
) -> anyhow::Result<()> {
    let limits = ImportLimits::CLI;
    let bytes = read_limited(file, &limits)?;
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    let supplier =
        model::supplier_by_code(&mut conn, code)?.ok_or_else(|| unknown_supplier(code))?;
    let started = Instant::now();
    let parsed = csv_io::parse(&bytes, &limits);
    drop(bytes);
    let name = file.display();
    let bar = progress_bar(parsed.valid_rows() as u64, "rows");
    let now = chrono::Utc::now().naive_utc();
    let result = csv_io::import(&mut conn, &supplier, &parsed, skip_invalid, now, |n| {
        bar.set_position(n)
    });
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            if summary.rows_skipped > 0 {
                let mut stderr = std::io::stderr().lock();
                for e in &csv_io::problems(&parsed, &supplier) {
                    let _ = writeln!(stderr, "{name}: {}", e.message(Locale::En));
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "Imported {name} for {} in {secs:.1} s: {} product(s) added, {} updated; {} SKU(s) added, {} updated; {} row(s) skipped.",
                supplier.code,
                summary.products_added,
                summary.products_updated,
                summary.skus_added,
                summary.skus_updated,
                summary.rows_skipped,
            );
            Ok(())
        }
        Err(ImportError::Invalid(errors)) => {
            let mut stderr = std::io::stderr().lock();
            for e in &errors {
                let _ = writeln!(stderr, "{name}: {}", e.message(Locale::En));
            }
            let _ = writeln!(
                stderr,
                "{name}: {} problem(s) in {} row(s); nothing was imported.{}",
                problem_count(&errors),
                parsed.rows,
                if parsed.is_fatal() || skip_invalid {
                    ""
                } else {
                    " Fix the file, or use --skip-invalid to import the valid rows."
                }
            );
            drop(stderr);
            std::process::exit(1);
        }
        Err(ImportError::Db(e)) => {
            Err(anyhow::Error::new(e).context("the import failed; nothing was imported"))
        }
    }
}

/// The listed problems, and those the closing "and N more" entry counts.
fn problem_count(errors: &[csv_io::RowError]) -> usize {
    errors
        .iter()
        .map(|e| match e.line {
            0 => e
                .args
                .iter()
                .find(|(k, _)| *k == "count")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0),
            _ => 1,
        })
        .sum()
}

fn export(
    settings: &crate::config::Settings,
    code: Option<&str>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    let supplier = match code {
        Some(code) => {
            Some(model::supplier_by_code(&mut conn, code)?.ok_or_else(|| unknown_supplier(code))?)
        }
        None => None,
    };
    match out {
        Some(path) => {
            // Written beside the target and renamed, so a failed export leaves no half file.
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".part");
            let tmp = path.with_file_name(name);
            let written = (|| -> anyhow::Result<usize> {
                let file = std::fs::File::create(&tmp)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
                let mut w = std::io::BufWriter::new(file);
                let rows = csv_io::export(&mut conn, supplier.as_ref(), &mut w)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, &path)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                Ok(rows)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            let rows = written?;
            println!("Exported {rows} row(s) to {}.", path.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let rows = csv_io::export(&mut conn, supplier.as_ref(), &mut w)?;
            w.flush()?;
            eprintln!("Exported {rows} row(s).");
        }
    }
    Ok(())
}
