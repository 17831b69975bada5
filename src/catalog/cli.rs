//! `kaibo catalog ...`: generate a synthetic catalog, import and export CSV, list
//! suppliers. Long runs show a progress bar on the terminal (none when piped).

use std::path::Path;
use std::time::Instant;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use super::model;
use super::seed;
use crate::cli::{DataArgs, load_with_data};
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
    }
}
