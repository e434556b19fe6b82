//! `ombud serve`: reads the configuration (flags, then `OMBUD_*` environment variables), opens
//! the store, bootstraps on first start and runs the HTTP API until interrupted.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ombud_app::clock::SystemClock;
use ombud_core::Clock;
use ombud_policy::Policy;
use ombud_server::{AppState, Application};
use ombud_store::crypto::MasterKey;
use ombud_store::{PostgresStore, SqliteStore, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const BUILT_IN_POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; the default answers only this machine
    #[arg(long, env = "OMBUD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The policy; without one, the built-in invoicing example is used and the log says so
    #[arg(long, env = "OMBUD_POLICY")]
    pub policy: Option<PathBuf>,
    /// Where the embedded store and the generated master key live
    #[arg(long, env = "OMBUD_DATA_DIR", default_value = "ombud-data")]
    pub data_dir: PathBuf,
    /// A postgres:// URL to use PostgreSQL instead of the embedded SQLite store
    #[arg(long, env = "OMBUD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL this process keeps at most (default 16); replicas on one
    /// server share its max_connections, so keep their sum below it. PostgreSQL only
    #[arg(long, env = "OMBUD_DATABASE_POOL", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool: Option<u32>,
    /// The address people reach this server at, for the links in mails (portal, downloads)
    #[arg(long, env = "OMBUD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// At the first start, the console's first admin: their address gets the setup link
    /// printed with the bootstrap key (privacy.toml's `[controller] email` when not given)
    #[arg(long, env = "OMBUD_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// SMTP server for outgoing mail, as smtps://user:password@host:465; without one, mails
    /// are written as .eml files to <data-dir>/outbox
    #[arg(long, env = "OMBUD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Seconds between rounds of the deadline watcher and the mailer (a mail queued by this
    /// server leaves at once; the round retries failures and sends what other replicas queued)
    #[arg(long, env = "OMBUD_JOBS_EVERY", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub jobs_every: u64,
    /// Seconds between sweeps that remove what outlived its retention (privacy.toml)
    #[arg(long, env = "OMBUD_SWEEP_EVERY", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(10..=86400))]
    pub sweep_every: u64,
    /// Log format; JSON for production log shipping
    #[arg(long, env = "OMBUD_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Where Prometheus reads /metrics: a listener apart from the API and the portal, on this
    /// machine only by default; `off` serves no metrics
    #[arg(long, env = "OMBUD_METRICS_BIND", default_value = "127.0.0.1:9464", value_parser = metrics_bind)]
    pub metrics_bind: MetricsBind,
    /// Portal filings and code resends one client address may make, as count/minute|hour|day
    #[arg(long, env = "OMBUD_PORTAL_PER_CLIENT", default_value = "20/hour", value_parser = rate)]
    pub portal_per_client: ombud_server::limits::Rate,
    /// Portal filings and code resends that may mail one email address
    #[arg(long, env = "OMBUD_PORTAL_PER_ADDRESS", default_value = "5/hour", value_parser = rate)]
    pub portal_per_address: ombud_server::limits::Rate,
    /// Codes that may be tried for the requests of one email address, across its requests
    #[arg(long, env = "OMBUD_PORTAL_CODES_PER_ADDRESS", default_value = "10/day", value_parser = rate)]
    pub portal_codes_per_address: ombud_server::limits::Rate,
    /// The header a reverse proxy in front of ombud puts the client's address in (such as
    /// X-Forwarded-For); only set it when every request passes through that proxy
    #[arg(long, env = "OMBUD_CLIENT_IP_HEADER", value_parser = ombud_server::limits::header_name)]
    pub client_ip_header: Option<ombud_server::limits::HeaderName>,
}

/// The metrics listener's address, or none.
#[derive(Debug, Clone, Copy)]
pub struct MetricsBind(pub Option<SocketAddr>);

fn metrics_bind(text: &str) -> Result<MetricsBind, String> {
    match text.trim() {
        "off" => Ok(MetricsBind(None)),
        address => address.parse().map(|a| MetricsBind(Some(a))).map_err(|_| {
            format!("`{text}` is not an address; give one such as 127.0.0.1:9464, or `off`")
        }),
    }
}

fn rate(text: &str) -> Result<ombud_server::limits::Rate, String> {
    ombud_server::limits::Rate::parse(text)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OMBUD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: escape codes in a file or a log collector are
    // noise. NO_COLOR (no-color.org), when set and not empty, turns it off there too.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The policy, where it came from, and its text.
/// The controller's time zone, in which the console shows dates and counts periods.
pub fn time_zone_of(policy: &Policy) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(&policy.controller.time_zone).with_context(|| {
        format!(
            "the policy's time zone {} is unknown",
            policy.controller.time_zone
        )
    })
}

/// The controller's zone for commands that only show times: the policy `OMBUD_POLICY` names,
/// or ./privacy.toml, or the built-in example, as `load_policy` finds it.
pub fn console_zone() -> Result<jiff::tz::TimeZone> {
    let named = std::env::var_os("OMBUD_POLICY").map(std::path::PathBuf::from);
    let (policy, _, _) = load_policy(named.as_deref())?;
    time_zone_of(&policy)
}

/// A moment as the console shows it: the controller's wall clock with the zone named,
/// "2026-11-30 10:30 EET", the same instant the portal and the mails name.
pub fn local_time(at: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The policy a command runs with: the file named with `--policy` (or `OMBUD_POLICY`), which
/// must exist; without one, `privacy.toml` in the working directory, or the built-in invoicing
/// example when there is none (and the log says so). A named file that is missing is an error:
/// running on the example's rules instead would sweep by rules nobody chose.
pub fn load_policy(named: Option<&Path>) -> Result<(Policy, String, String)> {
    let path = named.unwrap_or(Path::new(DEFAULT_POLICY));
    let (source, origin) = match std::fs::read_to_string(path) {
        Ok(source) => (source, path.display().to_string()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && named.is_some() => {
            bail!(
                "--policy {}: no such file; name an existing policy, or leave --policy (and OMBUD_POLICY) out to use ./{DEFAULT_POLICY} or the built-in example",
                path.display()
            )
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                path = %path.display(),
                "no policy file: using the built-in invoicing example; write your own with `ombud init`"
            );
            (
                BUILT_IN_POLICY.to_owned(),
                "the built-in invoicing example".to_owned(),
            )
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("while reading the policy {}", path.display()));
        }
    };
    let checked = ombud_policy::check(&source);
    match checked.policy {
        Some(policy) => Ok((policy, origin, source)),
        None => {
            eprint!(
                "{}",
                ombud_policy::finding::render_text(&checked.findings, &source, &origin)
            );
            bail!(
                "the policy {origin} has errors; fix them (`ombud policy check {origin}`) and start again"
            )
        }
    }
}

/// The policy file looked for when none is named.
const DEFAULT_POLICY: &str = "privacy.toml";

/// The console's first admin, made at the first start (when the bootstrap key is): what to
/// print, the setup link or why there is none.
pub fn first_console_admin(
    store: &dyn Store,
    operator: ombud_store::model::TenantId,
    email: &str,
    public_url: &str,
) -> String {
    match ombud_app::console::create_user(
        store,
        operator,
        email,
        ombud_store::model::Role::Admin,
        &ombud_store::Actor::System,
        SystemClock.now(),
    ) {
        Ok(created) => format!(
            "The console's first admin is {email}. Their setup link works once, for 24 hours, and is shown only now:\n\n    {}/console/setup?t={}\n",
            public_url.trim_end_matches('/'),
            created.setup_token.as_str()
        ),
        Err(error) => format!(
            "No console admin was made for {email} ({error}); make one with `ombud users create --email … --role admin`.\n"
        ),
    }
}

/// Whether a missing master key may be created. Only the commands that set a store up may: any
/// other would seal data with a key the server does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    CreateIfMissing,
    MustExist,
}

/// Where the master key comes from: the environment, or a file (which rotation rewrites and
/// a running server reads again).
pub fn master_key_file(data_dir: &Path) -> Option<PathBuf> {
    if std::env::var_os("OMBUD_MASTER_KEY").is_some() {
        return None;
    }
    Some(
        std::env::var_os("OMBUD_MASTER_KEY_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("master.key")),
    )
}

/// Reads a key file: the root key and its wrapping generations.
pub fn read_key_file(path: &Path) -> Result<MasterKey> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("while reading the master key file {}", path.display()))?,
    );
    MasterKey::from_file_text(&text)
        .with_context(|| format!("while reading the master key file {}", path.display()))
}

/// The master key: `OMBUD_MASTER_KEY`, `OMBUD_MASTER_KEY_FILE`, or a file in the data dir that
/// the first start creates.
pub fn master_key(data_dir: &Path, policy: KeyPolicy) -> Result<MasterKey> {
    let (key, new_file) = master_key_or_new(data_dir, policy)?;
    if let Some(path) = new_file {
        keep_new_key(&path, &key)?;
    }
    Ok(key)
}

/// The master key, or a new one (with the file it is to be kept in) where `policy` allows one
/// and no store is in the data directory yet. The caller writes the new file once the store
/// opened with it, so a refused start leaves no stray key behind.
fn master_key_or_new(data_dir: &Path, policy: KeyPolicy) -> Result<(MasterKey, Option<PathBuf>)> {
    let Some(path) = master_key_file(data_dir) else {
        let hex = std::env::var("OMBUD_MASTER_KEY").unwrap_or_default();
        let key = MasterKey::from_hex(&hex).context("while reading OMBUD_MASTER_KEY")?;
        return Ok((key, None));
    };
    let from_env = std::env::var_os("OMBUD_MASTER_KEY_FILE").is_some();
    // A store that holds data was sealed under some key: generating another would seal new
    // data nobody can read together with the old.
    let has_store = std::fs::metadata(data_dir.join("ombud.db")).is_ok_and(|m| m.len() > 0);
    match std::fs::metadata(&path) {
        Ok(_) => Ok((read_key_file(&path)?, None)),
        Err(error)
            if error.kind() == std::io::ErrorKind::NotFound
                && (policy == KeyPolicy::MustExist || from_env || has_store) =>
        {
            Err(error).with_context(|| {
                format!(
                    "there is no master key in {}; give the store's key in OMBUD_MASTER_KEY or OMBUD_MASTER_KEY_FILE (a new key would seal data the server cannot read)",
                    path.display()
                )
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Ok((MasterKey::generate()?, Some(path)))
        }
        Err(error) => Err(error).with_context(|| format!("while reading {}", path.display())),
    }
}

fn keep_new_key(path: &Path, key: &MasterKey) -> Result<()> {
    write_private(path, key.to_file_text().as_bytes())?;
    tracing::warn!(
        path = %path.display(),
        "generated a new master key next to the data; production keeps it elsewhere (OMBUD_MASTER_KEY or OMBUD_MASTER_KEY_FILE), because whoever has both can read everything"
    );
    Ok(())
}

/// Replaces a key file whole: written beside it, synced, then renamed over it, so a crash
/// leaves the old file or the new one, never half of either.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let staged = PathBuf::from(format!("{}.new", path.display()));
    let _ = std::fs::remove_file(&staged);
    write_private(&staged, bytes)?;
    std::fs::rename(&staged, path)
        .with_context(|| format!("while replacing {}", path.display()))?;
    Ok(())
}

/// Creates a file only its owner can read, failing rather than overwriting an existing one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("while creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("while writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("while writing {}", path.display()))?;
    Ok(())
}

/// The data directory and every file of the store readable by its owner only (0700, 0600),
/// whatever the umask: the store files are created that way before SQLite opens them (its WAL
/// and shared-memory files take the data file's mode), and anything found wider is narrowed
/// with a warning.
fn keep_private(data_dir: &Path, sqlite: bool) -> Result<()> {
    let wider = |path: &Path| -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            false
        }
    };
    let existed = data_dir.exists();
    if existed && wider(data_dir) {
        tracing::warn!(path = %data_dir.display(), "the data directory was readable by others; narrowed to its owner (0700)");
    }
    ombud_app::jobs::private_dir(data_dir)
        .with_context(|| format!("while creating the data directory {}", data_dir.display()))?;
    if !sqlite {
        return Ok(());
    }
    let data = data_dir.join("ombud.db");
    let keys = SqliteStore::key_file(&data);
    // A data file with content and no key file is left as it is: the store refuses that.
    let new_store = std::fs::metadata(&data).map_or(true, |m| m.len() == 0);
    for base in [&data, &keys] {
        if !base.exists() && new_store {
            // Created empty and private; SQLite takes an empty file for a new database.
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            options
                .open(base)
                .with_context(|| format!("while creating {}", base.display()))?;
        }
        for file in [
            base.to_path_buf(),
            PathBuf::from(format!("{}-wal", base.display())),
            PathBuf::from(format!("{}-shm", base.display())),
        ] {
            if file.exists() && wider(&file) {
                tracing::warn!(path = %file.display(), "a store file was readable by others; narrowed to its owner (0600)");
                ombud_app::jobs::private_file(&file)
                    .with_context(|| format!("while narrowing {}", file.display()))?;
            }
        }
    }
    Ok(())
}

pub fn open_store(
    data_dir: &Path,
    database_url: Option<&str>,
    pool: Option<u32>,
    keys: KeyPolicy,
    holder: crate::dir_lock::Holder,
) -> Result<(Arc<dyn Store>, MasterKey)> {
    if pool.is_some() && database_url.is_none() {
        bail!(
            "--database-pool sizes the pool of PostgreSQL connections; the embedded SQLite store keeps its own, so leave it out (or set --database-url)"
        );
    }
    if database_url.is_none() {
        crate::backup_cmd::refuse_interrupted_restore(data_dir)?;
    }
    keep_private(data_dir, database_url.is_none())?;
    if database_url.is_none() {
        match holder {
            crate::dir_lock::Holder::Alone(what) => crate::dir_lock::exclusive(data_dir, what)?,
            _ => crate::dir_lock::share(data_dir)?,
        }
    }
    let (key, new_file) = master_key_or_new(data_dir, keys)?;
    let store: Arc<dyn Store> = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store =
                PostgresStore::connect_with(url, &key, pool.unwrap_or(PostgresStore::DEFAULT_POOL))
                    .context("while connecting to PostgreSQL (OMBUD_DATABASE_URL)")?;
            crate::dir_lock::hold_database(&store, holder)?;
            Arc::new(store)
        }
        Some(_) => bail!(
            "OMBUD_DATABASE_URL must start with postgres://; leave it unset for the embedded SQLite store"
        ),
        None => {
            let path = data_dir.join("ombud.db");
            Arc::new(
                SqliteStore::open(&path, &key)
                    .with_context(|| format!("while opening {}", path.display()))?,
            )
        }
    };
    if let Some(path) = new_file {
        keep_new_key(&path, &key)?;
    }
    Ok((store, key))
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_format);
    let (policy, origin, source) = load_policy(args.policy.as_deref())?;
    let connectors = crate::datasets_cmd::connectors_for(&policy, args.policy.as_deref())?;
    if !connectors.datasets().is_empty() {
        tracing::info!(
            datasets = connectors.datasets().len(),
            "requests reach the policy's datasets"
        );
    }
    if args.database_url.is_none() {
        crate::dir_lock::serve(&args.data_dir)?;
    }
    // Before the store: a first start that failed after bootstrapping would lose the admin key
    // it never got to show.
    let mailer =
        ombud_app::jobs::Mailer::new(args.smtp_url.as_deref(), args.data_dir.join("outbox"))
            .map_err(anyhow::Error::msg)?;
    let (store, master) = open_store(
        &args.data_dir,
        args.database_url.as_deref(),
        args.database_pool,
        KeyPolicy::CreateIfMissing,
        crate::dir_lock::Holder::Server,
    )?;
    let clock = Arc::new(SystemClock);
    let booted = ombud_app::bootstrap::ensure_operator(
        store.as_ref(),
        clock.as_ref(),
        &policy.controller.name,
    )
    .context("while preparing the operator tenant")?;
    if booted.renamed_from.is_some() {
        tracing::info!("the operator tenant took the controller's name from privacy.toml");
    }
    if store
        .keep_policy_version(
            booted.operator,
            &policy.version.0,
            &source,
            &ombud_store::Actor::System,
            clock.now(),
        )
        .context("while keeping the policy version")?
    {
        tracing::info!(version = %policy.version.0, "a new policy version was loaded and kept");
    }
    let secrets = ombud_app::secrets::Secrets::from_master(&master);
    // Published before the first receipt, so keys can be fetched and pinned from the start;
    // refused when the store's key was made with another master key.
    let receipt_key = ombud_app::receipts::active_key(store.as_ref(), &secrets, clock.now())
        .context("while preparing the receipt signing key")?;
    tracing::info!(kid = %receipt_key.kid, "receipts are signed with this key");
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let first_admin = booted.admin_secret.is_some().then(|| {
        first_console_admin(
            store.as_ref(),
            booted.operator,
            args.admin_email
                .as_deref()
                .unwrap_or(&policy.controller.email),
            &public_url,
        )
    });
    let state = AppState::new(
        store,
        Arc::new(policy),
        clock,
        booted.operator,
        secrets,
        &public_url,
    )
    .and_then(|state| {
        state.with_portal_limits(
            ombud_server::limits::PortalLimits {
                per_client: args.portal_per_client,
                per_address: args.portal_per_address,
                codes_per_address: args.portal_codes_per_address,
            },
            args.client_ip_header.clone(),
        )
    })
    .map(|state| {
        state.with_connectors(connectors).with_outbound(
            args.smtp_url
                .as_deref()
                .and_then(ombud_app::promises::Outbound::smtp)
                .into_iter()
                .collect(),
        )
    })
    .map_err(anyhow::Error::msg)?;
    drop(master);
    // Store work runs on blocking threads, and no more of it runs at once than the store has
    // connections: threads beyond those (and a few for the jobs and the datasets) would only
    // wait for one, each keeping its stack and its own malloc arena. Under load tokio's
    // default (512) grew to a hundred threads and the heap with them.
    let connections = match args.database_url {
        Some(_) => args.database_pool.unwrap_or(PostgresStore::DEFAULT_POOL),
        None => SqliteStore::POOL,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(connections as usize + 8)
        .build()
        .context("while starting the runtime")?;
    let state_for_jobs = state.clone();
    // The store is let go of here, after the runtime: a PostgreSQL connection closes by
    // blocking on a runtime of its own, which cannot start on one of the server's threads
    // (where the last task holding the store would otherwise drop it at shutdown).
    let store = std::sync::Arc::clone(&state.store);
    let served = runtime.block_on(async move {
        let app = Application::build(args.bind, state)
            .await
            .with_context(|| format!("while binding {}: is another process listening there? choose another with --bind", args.bind))?;
        let address = app.local_addr()?;
        println!("ombud listening on http://{address} (policy: {origin})");
        if let MetricsBind(Some(at)) = args.metrics_bind {
            let metrics = Application::build_metrics(at, state_for_jobs.clone())
                .await
                .with_context(|| format!("while binding the metrics listener {at}: is another process listening there? choose another with --metrics-bind, or `off`"))?;
            let at = metrics.local_addr()?;
            println!("metrics on http://{at}/metrics");
            if !at.ip().is_loopback() {
                tracing::warn!(%at, "metrics are served beyond this machine; they count requests and incidents of every tenant");
            }
            tokio::spawn(async move {
                if let Err(error) = metrics.run(shutdown_signal()).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            });
        }
        if let Some(secret) = &booted.admin_secret {
            // Printed here once, never logged: this is the only copy.
            println!(
                "\nA bootstrap admin API key was created. It is shown only now; store it safely:\n\n    {}\n\nUse it as `Authorization: Bearer <key>`, and create narrower keys for your applications.\n",
                secret.as_str()
            );
        }
        if let Some(first_admin) = &first_admin {
            println!("{first_admin}");
        }
        tracing::info!(%address, %mailer, "serving");
        if let Some(path) = master_key_file(&args.data_dir) {
            tokio::spawn(watch_key_file(path, std::sync::Arc::clone(&state_for_jobs.store)));
        }
        ombud_app::jobs::spawn(
            state_for_jobs.jobs(),
            mailer,
            std::time::Duration::from_secs(args.jobs_every),
            std::time::Duration::from_secs(args.sweep_every),
        );
        let jobs = state_for_jobs.jobs();
        app.run(shutdown_signal()).await.context("while serving")?;
        // A blocking store call: off the runtime's threads, where a PostgreSQL client cannot
        // block.
        let released = tokio::task::spawn_blocking(move || {
            ombud_app::jobs::release_leases(jobs.store.as_ref(), jobs.holder, jobs.clock.now())
        })
        .await
        .unwrap_or_else(|e| Err(ombud_store::StoreError::Database(e.to_string())));
        if let Err(error) = released {
            tracing::warn!("the background jobs' leases were not given up ({error}); they run out on their own");
        }
        tracing::info!("stopped");
        anyhow::Ok(())
    });
    drop(runtime);
    drop(store);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the key file again when it changes, so `ombud keys rotate` can add a generation (and
/// retire one) while the server runs: the server can open keys sealed under the new generation
/// before the rotation starts rewrapping to it.
async fn watch_key_file(path: PathBuf, store: std::sync::Arc<dyn Store>) {
    let fingerprint = |path: &Path| std::fs::read(path).ok().map(|bytes| blake3::hash(&bytes));
    let mut seen = fingerprint(&path);
    let mut tick = tokio::time::interval(KEY_FILE_POLL);
    loop {
        tick.tick().await;
        let now = fingerprint(&path);
        if now.is_none() || now == seen {
            continue;
        }
        match read_key_file(&path) {
            Ok(key) => {
                store.reload_master_key(&key);
                tracing::info!(
                    generation = key.current(),
                    "the master key file changed; its generations are in use"
                );
                seen = now;
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "the master key file changed but cannot be read; the previous key stays in use");
                seen = now;
            }
        }
    }
}

/// How often a running server looks at its key file; `ombud keys rotate` waits longer than
/// this before it rewraps.
pub const KEY_FILE_POLL: std::time::Duration = std::time::Duration::from_secs(5);

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
