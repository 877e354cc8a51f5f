//! The `guanxi` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::progress::Progress;
use guanxi_domain::platform::access::DepartmentRule;
use guanxi_domain::platform::org::{Email, Name, TenantSlug};
use guanxi_store::platform::audit::Author;

use crate::config::Config;
use crate::{Application, connect, seed};

#[derive(Parser)]
#[command(name = "guanxi", version, about = "Guanxi (关系): a CRM backend with a GraphQL API")]
struct Cli {
    /// A TOML configuration file (default: ./guanxi.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// `sqlite://path` or `postgres://…` (default: sqlite://./guanxi.db).
    #[arg(long, global = true, env = "GUANXI_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrates the database and serves the API.
    Serve {
        /// The address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Loads the demo tenant first if it is not there yet.
        #[arg(long)]
        demo: bool,
    },
    /// Migrates the database and exits.
    Migrate,
    /// Loads data.
    Seed {
        /// The demo tenant `demo` (users *@demo.local, password guanxi-demo).
        #[arg(long)]
        demo: bool,
        /// Benchmark data: S = 10k customers / 30k contacts / 300k interactions, M = 100k /
        /// 300k / 3M, L = 1M / 3M / 30M (PostgreSQL only). Users rep<N>@bench.local and
        /// admin@bench.local, password guanxi-bench.
        #[arg(long, value_parser = ["S", "M", "L", "s", "m", "l"])]
        scale: Option<String>,
        /// The tenant to create for `--scale`.
        #[arg(long, default_value = "bench")]
        tenant: String,
        /// The random seed: the same seed makes the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Prints the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Imports a CSV or NDJSON file as a bulk job run here (批量导入): the same job, checks
    /// and results as one uploaded over HTTP, with a progress bar on a terminal. Prints a
    /// JSON line of the job's counts; the failed rows are in its failures file.
    Import {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The user the job runs as (their role decides what it may write).
        #[arg(long = "as")]
        user: String,
        /// customer, contact, product or price-policy.
        #[arg(long, value_parser = ["customer", "contact", "product", "price-policy"])]
        kind: String,
        /// The system the file's keys come from, e.g. `kingdee`.
        #[arg(long)]
        source: String,
        /// Write customers the duplicate check flags (its WARN policy).
        #[arg(long)]
        confirm_duplicates: bool,
        /// The file: `.csv` or `.ndjson` (`.jsonl`).
        file: PathBuf,
    },
    /// Administration.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Subcommand)]
enum Admin {
    /// Creates a tenant with its root department and built-in roles.
    CreateTenant {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// Creates a user in a tenant's root department.
    CreateUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// A built-in role key: admin, executive, sales_manager, sales_rep, service_agent, technician, finance.
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long, env = "GUANXI_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Applies a tenant's public-pool reclaim rules now, as the hourly job does (also to
    /// pools whose automatic reclaim is off), and prints a JSON line per pool: how many
    /// customers it took back and in how many seconds.
    Reclaim {
        #[arg(long)]
        tenant: String,
        /// Only the pool of this name.
        #[arg(long)]
        pool: Option<String>,
    },
    /// Sends the webhooks due now, as a server's deliverer does, pass after pass until
    /// nothing is left to send, and prints one JSON line: messages queued, attempts made,
    /// messages delivered and seconds. Retries not yet due are left for later.
    DeliverWebhooks,
    /// Runs the queued bulk jobs' batches now, as a server's runner does, until none is
    /// left to claim, and prints one JSON line: batches run and seconds.
    RunBulkJobs,
}

pub async fn run() -> ExitCode {
    match execute(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    if let Command::ExportSchema = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    crate::telemetry::init_logging(config.log_format);
    match cli.command {
        Command::ExportSchema => Ok(()),
        Command::Serve { listen, demo } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if demo {
                let db = connect(&config).await?;
                if seed::seed_demo(&db).await? {
                    tracing::info!("loaded the demo tenant `demo` (demo credentials: *@demo.local / guanxi-demo)");
                }
            }
            Application::build(config).await?.run_until_stopped().await
        }
        Command::Migrate => {
            let progress = std::sync::OnceLock::new();
            // Called with 0 before the first migration, so the bar is up while it runs.
            let applied = |name: &str, done: usize, pending: usize| {
                let bar = progress.get_or_init(|| Progress::steps("migrate", pending as u64));
                if done > 0 {
                    bar.step(done as u64, name);
                }
            };
            crate::connect_reporting(&config, &applied).await?;
            let count = progress.get().map_or(0, |p: &Progress| p.total());
            if let Some(progress) = progress.into_inner() {
                progress.finish();
            }
            println!("migrated ({count} migrations applied)");
            Ok(())
        }
        #[cfg(feature = "bench-data")]
        Command::Seed { scale: Some(scale), tenant, seed, .. } => {
            let size = guanxi_store::bench_data::Scale::named(&scale).context("--scale is S, M or L")?;
            if scale.eq_ignore_ascii_case("L") && config.is_embedded() {
                anyhow::bail!("--scale L needs PostgreSQL (--database-url postgres://…)");
            }
            let db = connect(&config).await?;
            let hash = crate::auth::hash_password("guanxi-bench".into()).await?;
            let phases = guanxi_store::bench_data::PHASES;
            let progress = Progress::steps("seed", phases.len() as u64);
            let report = |phase: &str, rows: u64, done: bool| {
                let message = format!("{phase}, {rows} rows");
                match phases.iter().position(|p| *p == phase) {
                    Some(i) if done => progress.step(i as u64 + 1, &message),
                    _ => progress.note(&message),
                }
            };
            let loaded = guanxi_store::bench_data::seed(&db, &tenant, (size, seed), hash, &report).await?;
            progress.finish();
            println!(
                "loaded {} rows into tenant `{tenant}` in {:.1} s ({:.0} rows/s)",
                loaded.rows,
                loaded.seconds,
                loaded.rows_per_second()
            );
            Ok(())
        }
        #[cfg(not(feature = "bench-data"))]
        Command::Seed { scale: Some(_), .. } => {
            anyhow::bail!("this build has no benchmark loader: build with `--features bench-data` for --scale")
        }
        Command::Seed { demo, .. } => {
            if !demo {
                anyhow::bail!("say what to seed: --demo or --scale S|M|L");
            }
            let db = connect(&config).await?;
            let created = seed::seed_demo(&db).await?;
            println!("{}", if created { "created the demo tenant `demo`" } else { "the demo tenant already exists" });
            Ok(())
        }
        Command::Admin(Admin::Reclaim { tenant, pool }) => {
            let db = connect(&config).await?;
            let tenant_id: guanxi_domain::ids::TenantId =
                guanxi_store::platform::tenant::find_by_slug(db.connection(), &tenant)
                    .await?
                    .with_context(|| format!("no tenant `{tenant}`"))?
                    .id
                    .into();
            let pools = guanxi_store::sales::pool::all(db.connection(), tenant_id).await?;
            let chosen: Vec<_> = pools.iter().filter(|p| pool.as_ref().is_none_or(|n| *n == p.settings.name)).collect();
            if chosen.is_empty() {
                anyhow::bail!("no pool to run in tenant `{tenant}`");
            }
            let progress = Progress::steps("reclaim", chosen.len() as u64);
            for (i, p) in chosen.into_iter().enumerate() {
                let started = std::time::Instant::now();
                let reclaimed =
                    guanxi_store::sales::pool_reclaim::reclaim_pool(&db, tenant_id, p.id, chrono::Utc::now()).await?;
                progress.step(i as u64 + 1, &format!("{}: {reclaimed} taken back", p.settings.name));
                // Each pool's result as soon as it is committed.
                let result = serde_json::json!({
                    "pool": p.settings.name,
                    "reclaimed": reclaimed,
                    "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
                });
                progress.println(&result.to_string());
            }
            progress.finish();
            Ok(())
        }
        Command::Import { tenant, user, kind, source, confirm_duplicates, file } => {
            let kind = guanxi_domain::platform::bulk::JobKind::parse(&kind.replace('-', "_").to_uppercase())
                .context("an unknown kind")?;
            crate::bulk::import_file(config, (&tenant, &user), (kind, &source, confirm_duplicates), &file).await
        }
        Command::Admin(Admin::RunBulkJobs) => {
            let lease = std::time::Duration::from_secs(config.bulk_lease_secs.max(1));
            let runner = crate::bulk::Runner::standalone(config, lease).await?;
            let started = std::time::Instant::now();
            let mut batches = 0;
            loop {
                let done = runner.run_once().await?;
                if done == 0 {
                    break;
                }
                batches += done;
            }
            let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
            println!("{}", serde_json::json!({ "batches": batches, "seconds": seconds }));
            Ok(())
        }
        Command::Admin(Admin::DeliverWebhooks) => {
            let db = connect(&config).await?;
            let timeout = std::time::Duration::from_millis(config.webhook_timeout_ms.max(100));
            let deliverer = crate::webhooks::Deliverer::new(db, timeout)?;
            let started = std::time::Instant::now();
            let mut total = crate::webhooks::Pass::default();
            loop {
                let pass = deliverer.run_once(chrono::Utc::now()).await?;
                if pass == crate::webhooks::Pass::default() {
                    break;
                }
                total.queued += pass.queued;
                total.attempted += pass.attempted;
                total.delivered += pass.delivered;
            }
            let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
            let result = serde_json::json!({
                "queued": total.queued, "attempted": total.attempted, "delivered": total.delivered, "seconds": seconds
            });
            println!("{result}");
            Ok(())
        }
        Command::Admin(Admin::CreateTenant { slug, name }) => {
            let db = connect(&config).await?;
            let slug = TenantSlug::parse("slug", &slug)?;
            let name = Name::parse("name", &name)?;
            let tx = db.begin_write().await?;
            let created = guanxi_store::platform::tenant::create(&tx, &slug, name.as_str()).await?;
            tx.commit().await?;
            println!("created tenant {} ({})", slug.as_str(), created.id());
            Ok(())
        }
        Command::Admin(Admin::CreateUser { tenant, email, name, role, password }) => {
            let db = connect(&config).await?;
            let tenant_row = guanxi_store::platform::tenant::find_by_slug(db.connection(), &tenant)
                .await?
                .with_context(|| format!("no tenant `{tenant}`"))?;
            let tenant_id = tenant_row.id.into();
            let password = guanxi_domain::platform::auth::Password::parse("password", &password)?;
            let role = guanxi_store::platform::role::find_builtin(db.connection(), tenant_id, &role)
                .await?
                .with_context(|| format!("no built-in role `{role}`"))?;
            let root = guanxi_store::platform::department::list(
                db.connection(),
                tenant_id,
                DepartmentRule::All,
                &guanxi_store::platform::department::DepartmentFilter {
                    parent_id: Some(guanxi_store::filter::IdFilter { is_null: Some(true), ..Default::default() }),
                    ..Default::default()
                },
                (guanxi_store::platform::department::DepartmentSort::CreatedAt, guanxi_store::page::Direction::Asc),
                &guanxi_store::page::PageRequest::first(1),
            )
            .await?
            .items
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .context("the tenant has no root department")?;
            let hash = crate::auth::hash_password(password.expose().to_owned()).await?;
            let tx = db.begin_write().await?;
            let user = guanxi_store::platform::user::create(
                &tx,
                &Author::system(tenant_id),
                DepartmentRule::All,
                guanxi_store::platform::user::NewUser {
                    email: Email::parse("email", &email)?,
                    display_name: Name::parse("name", &name)?,
                    phone: None,
                    password_hash: hash,
                    department_id: root.id,
                    manager_id: None,
                    role_id: role.id,
                },
            )
            .await?;
            tx.commit().await?;
            println!("created user {} ({})", user.email, user.id);
            Ok(())
        }
    }
}
