//! The `kaibo` command line.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounts::domain::{DisplayName, Email, NewPassword, Role};
use crate::accounts::{hashing, sessions, users};
use crate::config::{Overrides, Settings};
use crate::db::write_tx;
use crate::startup::{Application, open_database};

#[derive(Parser, Debug)]
#[command(
    name = "kaibo",
    version,
    about = "Kaibo: the academy for new livestream sellers"
)]
pub struct Cli {
    /// Settings file (default: kaibo.toml if present, or $KAIBO_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server (creates and migrates the database, seeds demo accounts).
    Serve(ServeArgs),
    /// Run pending database migrations and exit.
    Migrate(DataArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check course files and report problems with file:line:col; exits 1 on errors.
    Check {
        /// A folder of courses, or one course folder.
        #[arg(default_value = "courses")]
        dir: PathBuf,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
    /// Convert a Moodle GIFT question bank into a Kaibo quiz page.
    ImportGift(ImportGiftArgs),
    /// Build, import, export and list the supplier catalog.
    #[command(subcommand)]
    Catalog(crate::catalog::cli::CatalogCommand),
    /// Show a creator's shop, or open it to the public (graduation does this too).
    #[command(subcommand)]
    Shop(ShopCommand),
    /// Replay a show to prove it is deterministic (--replay SHOW_ID), or run a scripted
    /// headless show whose buyers order through the JSON API, and print GMV, orders/s and
    /// latency percentiles. Without --url it starts the server in this process.
    Simulate(SimulateArgs),
}

#[derive(Args, Debug)]
struct SimulateArgs {
    /// Replay this stored show and compare it with what was recorded.
    #[arg(long, value_name = "SHOW_ID")]
    replay: Option<i64>,
    /// Unique viewers of the scripted show.
    #[arg(long, default_value_t = 10_000)]
    viewers: u32,
    /// Simulated minutes of the scripted show.
    #[arg(long, default_value_t = 60)]
    minutes: u32,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A running Kaibo on the same database, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: Option<String>,
    /// The creator whose shop and showcase the show uses.
    #[arg(long, default_value = "trainee@kaibo.example")]
    email: String,
    /// Orders in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Subcommand, Debug)]
enum ShopCommand {
    /// Print the creator's shop handle, mode and sandbox token (for scripted test orders).
    Show {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set the shop's mode: `live` makes it public, `sandbox` hides it again.
    Mode {
        #[arg(long)]
        email: String,
        #[arg(value_enum)]
        mode: CliShopMode,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CliShopMode {
    Sandbox,
    Live,
}

#[derive(Args, Debug)]
struct ImportGiftArgs {
    /// The GIFT question bank to convert.
    file: PathBuf,
    /// Where to write the quiz page, such as courses/my-course/02-module/quiz.md.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Quiz title (default: the GIFT file's name).
    #[arg(long)]
    title: Option<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CheckFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on, such as 0.0.0.0:8080 [env: KAIBO_BIND]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Folder of courses [env: KAIBO_COURSES] [default: ./courses]
    #[arg(long, value_name = "DIR")]
    courses: Option<PathBuf>,
    /// Reload a course as soon as one of its files changes [env: KAIBO_WATCH]
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
pub struct DataArgs {
    /// Data directory for the SQLite database [env: KAIBO_DATA] [default: ./data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create an account. Prompts for the password unless --password-stdin is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: CliRole,
        /// Name shown on pages (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a new password for an account and end its sessions.
    Password {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CliRole {
    Trainee,
    Instructor,
    Supplier,
    Admin,
}

impl From<CliRole> for Role {
    fn from(role: CliRole) -> Self {
        match role {
            CliRole::Trainee => Role::Trainee,
            CliRole::Instructor => Role::Instructor,
            CliRole::Supplier => Role::Supplier,
            CliRole::Admin => Role::Admin,
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::ImportGift(args) => import_gift(args),
        Command::Catalog(command) => crate::catalog::cli::run(command, config).await,
        Command::Shop(command) => shop_command(command, config).await,
        Command::Simulate(args) => simulate(args, config).await,
        Command::Check { dir, format } => {
            let format = match format {
                CheckFormat::Human => crate::courses::check::Format::Human,
                CheckFormat::Json => crate::courses::check::Format::Json,
            };
            let mut stdout = std::io::stdout().lock();
            if crate::courses::check::check(&dir, format, &mut stdout)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Serve(args) => {
            let settings = Settings::load(
                config,
                &Overrides {
                    bind: args.bind,
                    data: args.data.data,
                    courses: args.courses,
                    watch: args.watch.then_some(true),
                },
            )?;
            crate::telemetry::init(settings.log_format);
            serve(settings).await
        }
        Command::Migrate(args) => {
            let settings = load_with_data(config, args)?;
            crate::telemetry::init(settings.log_format);
            let url = settings.database_url.redacted();
            tokio::task::spawn_blocking(move || open_database(&settings)).await??;
            println!("Database {url} is up to date.");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            name,
            password_stdin,
            data,
        }) => {
            let settings = load_with_data(config, data)?;
            let email = Email::parse(&email).map_err(|k| anyhow::anyhow!(message(k)))?;
            let name = name.unwrap_or_else(|| {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or("user")
                    .to_string()
            });
            let name = DisplayName::parse(&name).map_err(|k| anyhow::anyhow!(message(k)))?;
            let password = read_password(password_stdin)?;
            let role = Role::from(role);
            let label = email.to_string();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let pool = open_database(&settings)?;
                let hash = hashing::hash_now(password.expose())?;
                let mut conn = pool.get()?;
                let now = chrono::Utc::now().naive_utc();
                match users::create(&mut conn, &email, &hash, role, &name, None, now) {
                    Ok(_) => Ok(()),
                    Err(users::CreateUserError::EmailTaken) => {
                        anyhow::bail!("an account with the email {email} already exists")
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await??;
            println!("Created {} account {label}.", role.as_str());
            Ok(())
        }
        Command::User(UserCommand::Password {
            email,
            password_stdin,
            data,
        }) => {
            let settings = load_with_data(config, data)?;
            let email = Email::parse(&email).map_err(|k| anyhow::anyhow!(message(k)))?;
            let password = read_password(password_stdin)?;
            let label = email.to_string();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let pool = open_database(&settings)?;
                let mut conn = pool.get()?;
                let user = users::find_by_email(&mut conn, &email)?
                    .ok_or_else(|| anyhow::anyhow!("no account has the email {email}"))?;
                let hash = hashing::hash_now(password.expose())?;
                let now = chrono::Utc::now().naive_utc();
                write_tx(&mut conn, |conn| {
                    users::set_password_hash(conn, user.id, &hash, now)?;
                    sessions::destroy_all(conn, user.id)?;
                    Ok::<_, anyhow::Error>(())
                })
            })
            .await??;
            println!("Password changed for {label}; its sessions have ended.");
            Ok(())
        }
    }
}

async fn shop_command(
    command: ShopCommand,
    config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::orders::{Mode, links::LinkKey, shop};
    let (email, mode, data) = match command {
        ShopCommand::Show { email, data } => (email, None, data),
        ShopCommand::Mode { email, mode, data } => (
            email,
            Some(match mode {
                CliShopMode::Sandbox => Mode::Sandbox,
                CliShopMode::Live => Mode::Live,
            }),
            data,
        ),
    };
    let settings = load_with_data(config, data)?;
    let email = Email::parse(&email).map_err(|k| anyhow::anyhow!(message(k)))?;
    let (found, token) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let pool = open_database(&settings)?;
        let mut conn = pool.get()?;
        let user = users::find_by_email(&mut conn, &email)?
            .ok_or_else(|| anyhow::anyhow!("no account has the email {email}"))?;
        if user.role != Role::Trainee.as_str() {
            anyhow::bail!(
                "{email} is a {} account; only creators (trainees) have shops",
                user.role
            );
        }
        let now = chrono::Utc::now().naive_utc();
        let found = match mode {
            Some(mode) => shop::set_mode(&mut conn, user.id, mode, now)?,
            None => shop::ensure(&mut conn, user.id, now)?,
        };
        let secret = crate::startup::shared_secret(&mut conn, "order_links")?;
        Ok((found, LinkKey::from_hex(&secret)?.sandbox_token(user.id)))
    })
    .await??;
    println!("Shop /shop/{} is {}.", found.handle, found.mode);
    if found.mode() == Mode::Sandbox {
        println!("Sandbox token (Authorization: Bearer …): {token}");
    }
    Ok(())
}

async fn simulate(args: SimulateArgs, config: Option<&std::path::Path>) -> anyhow::Result<()> {
    use crate::live::cli as sim_cli;
    use crate::orders::links::LinkKey;
    let settings = load_with_data(config, args.data)?;
    if let Some(id) = args.replay {
        let (lines, ok) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let pool = open_database(&settings)?;
            let mut conn = pool.get()?;
            sim_cli::replay(&mut conn, id)
        })
        .await??;
        for line in lines {
            println!("{line}");
        }
        if !ok {
            anyhow::bail!("the replay differs from the stored show");
        }
        println!("The replay is identical to the stored show.");
        return Ok(());
    }
    let email = Email::parse(&args.email).map_err(|k| anyhow::anyhow!(message(k)))?;
    let (viewers, minutes, seed) = (args.viewers, args.minutes.clamp(1, 240), args.seed);
    let setup_settings = settings.clone();
    let (cfg, handle, token, deal, live) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let pool = open_database(&setup_settings)?;
            let mut conn = pool.get()?;
            let user = users::find_by_email(&mut conn, &email)?
                .ok_or_else(|| anyhow::anyhow!("no account has the email {email}"))?;
            let mut cfg =
                crate::live::service::build_setup(&mut conn, user.id, seed, minutes as i32)
                    .map_err(|e| {
                        anyhow::anyhow!("{email}: {}", e.message(crate::i18n::Locale::En))
                    })?;
            cfg.viewers = Some(viewers);
            let now = chrono::Utc::now().naive_utc();
            let shop = crate::orders::shop::ensure(&mut conn, user.id, now)?;
            let deal = scripted_deal(&mut conn, &cfg, user.id, shop.mode().as_str(), now)?;
            let secret = crate::startup::shared_secret(&mut conn, "order_links")?;
            let live = shop.mode() == crate::orders::Mode::Live;
            Ok((
                cfg,
                shop.handle,
                LinkKey::from_hex(&secret)?.sandbox_token(user.id),
                deal,
                live,
            ))
        })
        .await??;
    if let Some(d) = &deal {
        println!(
            "flash deal {}: {} units of SKU {} at {}, {} per buyer, a third of the way in",
            d.deal_id,
            d.quantity,
            d.sku_id,
            crate::catalog::pricing::yuan_text(d.price_fen),
            d.per_buyer_limit
        );
    }
    let (purchases, engine_took, summary) = sim_cli::run_engine(cfg, deal);
    println!(
        "simulated {minutes} min, {} unique viewers (peak {}), {} purchases in {:.0} ms ({:.0}x real time)",
        summary.unique_viewers,
        summary.peak_viewers,
        purchases.len(),
        engine_took.as_secs_f64() * 1000.0,
        (minutes as f64 * 60.0) / engine_took.as_secs_f64().max(1e-9),
    );
    let (url, _server) = match args.url {
        Some(url) => (url, None),
        None => {
            let mut local = settings.clone();
            local.bind = "127.0.0.1:0".into();
            local.show_worker = false;
            let app = Application::build(local).await?;
            let url = format!("http://127.0.0.1:{}", app.port());
            (url, Some(tokio::spawn(app.run_until_stopped())))
        }
    };
    let r =
        sim_cli::place_over_http(&url, &handle, &token, live, purchases, args.concurrency).await?;
    if let Some(d) = deal {
        // The scripted deal ends with the run, so it does not block a creator's own deal
        // on that SKU afterwards.
        let end_settings = settings.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            use crate::db::schema::flash_deals;
            use diesel::prelude::*;
            let pool = open_database(&end_settings)?;
            let now = chrono::Utc::now().naive_utc();
            diesel::update(flash_deals::table.find(d.deal_id))
                .set(flash_deals::ends_at.eq(now))
                .execute(&mut pool.get()?)?;
            Ok(())
        })
        .await??;
    }
    let secs = r.wall.as_secs_f64().max(1e-9);
    println!(
        "orders: {} placed, {} declined by the card, {} refused, {} errors, of {} sent to {url}",
        r.placed, r.declined, r.refused, r.errors, r.purchases
    );
    println!(
        "GMV {}; {:.0} orders/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        crate::catalog::pricing::yuan_text(r.gmv_fen),
        r.purchases as f64 / secs,
        sim_cli::percentile(&r.latencies, 0.50),
        sim_cli::percentile(&r.latencies, 0.90),
        sim_cli::percentile(&r.latencies, 0.99),
        sim_cli::percentile(&r.latencies, 1.0),
    );
    let show_secs = minutes as f64 * 60.0;
    println!(
        "the {minutes}-minute show's orders took {secs:.1} s: {:.0}x its real time",
        show_secs / secs
    );
    if r.errors > 0 {
        anyhow::bail!("{} requests failed", r.errors);
    }
    Ok(())
}

/// Stores the flash deal of the scripted show: the first showcase SKU with stock, at
/// 80 % of the shop price (never below cost), half its stock up to 500 units, 2 per
/// buyer, open for the next two hours of real time (the orders are placed now).
fn scripted_deal(
    conn: &mut crate::db::DbConn,
    cfg: &crate::live::sim::SimConfig,
    user_id: i64,
    mode: &str,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<Option<crate::live::cli::ScriptedDeal>> {
    use crate::db::schema::products;
    use diesel::prelude::*;
    let Some((product, sku)) = cfg
        .products
        .iter()
        .find_map(|p| p.skus.iter().find(|s| s.stock >= 20).map(|s| (p, s)))
    else {
        return Ok(None);
    };
    let cost: i64 = products::table
        .find(product.product_id)
        .select(products::cost_fen)
        .first(conn)?;
    let price_fen = (product.price_fen * 4 / 5).max(cost);
    if price_fen >= product.price_fen {
        return Ok(None);
    }
    let quantity = (sku.stock / 2).min(500);
    let deal = crate::orders::model::NewDeal {
        shop_user_id: user_id,
        sku_id: sku.sku_id,
        mode,
        price_fen,
        quantity: quantity as i32,
        per_buyer_limit: 2,
        starts_at: now,
        ends_at: now + chrono::Duration::hours(2),
    };
    let deal_id = crate::orders::model::insert_deal(conn, &deal, now)?;
    Ok(Some(crate::live::cli::ScriptedDeal {
        deal_id,
        product_id: product.product_id,
        sku_id: sku.sku_id,
        price_fen,
        quantity,
        per_buyer_limit: 2,
    }))
}

fn import_gift(args: ImportGiftArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8 first",
            args.file.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    if args.out.exists() && !args.force {
        anyhow::bail!(
            "{} already exists; pass --force to replace it",
            args.out.display()
        );
    }
    let title = args.title.unwrap_or_else(|| {
        args.file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("Quiz")
            .replace(['-', '_'], " ")
    });
    let conversion = crate::courses::gift::convert(&source, &title);
    for skipped in &conversion.skipped {
        println!(
            "skipped {}:{}: {} question {:?} (Kaibo has no equivalent)",
            args.file.display(),
            skipped.line,
            skipped.kind,
            skipped.title
        );
    }
    for warning in &conversion.warnings {
        println!("warning: {}: {warning}", args.file.display());
    }
    if conversion.converted == 0 {
        anyhow::bail!("no question could be converted; nothing written");
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &conversion.markdown)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out.display()))?;
    println!(
        "Converted {} question(s), skipped {}; wrote {}. Run `kaibo check` on the course next.",
        conversion.converted,
        conversion.skipped.len(),
        args.out.display()
    );
    Ok(())
}

pub fn load_with_data(
    config: Option<&std::path::Path>,
    args: DataArgs,
) -> anyhow::Result<Settings> {
    Ok(Settings::load(
        config,
        &Overrides {
            data: args.data,
            ..Overrides::default()
        },
    )?)
}

fn message(key: &str) -> String {
    crate::i18n::Locale::En.t(key)
}

fn read_password(from_stdin: bool) -> anyhow::Result<NewPassword> {
    let raw = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
        let second = rpassword::prompt_password("Repeat the password: ")?;
        if first != second {
            anyhow::bail!("the passwords do not match");
        }
        first
    };
    NewPassword::parse(&raw).map_err(|k| anyhow::anyhow!(message(k)))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let database = settings.database_url.redacted();
    let app = Application::build(settings).await?;
    if !app.demo_accounts.is_empty() {
        println!("\nDemo accounts (shown only this once; change with `kaibo user password`):");
        for account in &app.demo_accounts {
            println!(
                "  {:<11} {:<26} {}",
                account.role.as_str(),
                account.email,
                account.password
            );
        }
    }
    if let Some((done, seconds)) = &app.seeded_catalog {
        println!(
            "\nDemo catalog: generated {} SKUs ({} products, {} suppliers) in {seconds:.1} s.",
            done.skus, done.products, done.suppliers
        );
    }
    println!(
        "Catalog: {} products ready for matching.",
        app.catalog_products
    );
    if let Some(handle) = &app.demo_shop {
        println!(
            "Demo shop: /shop/{handle} is live (the demo trainee's); orders go to the demo supplier."
        );
    }
    let host = bind.rsplit_once(':').map_or(bind.as_str(), |(h, _)| h);
    let shown_host = if host == "0.0.0.0" || host == "[::]" {
        "127.0.0.1"
    } else {
        host
    };
    println!(
        "\nKaibo is running at http://{shown_host}:{}/  (database: {database})\nPress Ctrl-C to stop.\n",
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(())
}
