//! `ombud serve` from a fresh directory, as a user starts it.

mod common;

use ombud_store::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Starts the server in `dir`, checks that it answers, stops it, and returns all it printed.
fn start_once(dir: &std::path::Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    stdout.read_line(&mut printed).expect("the first line");
    let address = printed
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {printed:?}"))
        .to_owned();
    let health = get(&address, "/healthz");
    // Metrics answer on their own listener only.
    let mut metrics_line = String::new();
    stdout
        .read_line(&mut metrics_line)
        .expect("the metrics line");
    let metrics_at = metrics_line
        .strip_prefix("metrics on http://")
        .and_then(|rest| rest.trim().strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {metrics_line:?}"))
        .to_owned();
    let public = get(&address, "/metrics");
    let metrics = get(&metrics_at, "/metrics");
    let _ = child.kill();
    let _ = child.wait();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
    assert!(
        metrics.starts_with("HTTP/1.1 200") && metrics.contains("ombud_http_requests_total"),
        "{metrics}"
    );
    printed.push_str(&metrics_line);
    stdout.read_to_string(&mut printed).expect("the rest");
    printed
}

fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    response
}

#[test]
fn the_first_start_creates_the_store_a_private_master_key_and_shows_the_admin_key_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let first = start_once(dir.path());
    assert!(first.contains("the built-in invoicing example"), "{first}");
    let secrets: Vec<&str> = first
        .split_whitespace()
        .filter(|w| w.starts_with("ombud_sk_"))
        .collect();
    assert_eq!(secrets.len(), 1, "{first}");
    let key_file = dir.path().join("ombud-data/master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(dir.path().join("ombud-data/ombud.db").exists());
    let master = std::fs::read_to_string(&key_file).expect("readable");
    assert!(
        !first.contains(master.trim()),
        "the master key is never printed"
    );

    let second = start_once(dir.path());
    assert!(
        !second.contains("ombud_sk_"),
        "the admin key is not shown again: {second}"
    );

    let key =
        ombud_store::crypto::MasterKey::from_hex(&master).expect("the key file holds a master key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud-data/ombud.db"), &key)
        .expect("store");
    let operator = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.operator)
        .expect("operator")
        .id;
    let versions = store.policy_versions(operator).expect("versions");
    assert_eq!(
        versions.len(),
        1,
        "two starts with the same policy keep one version"
    );
    let kept = store
        .policy_source(operator, &versions[0].0)
        .expect("source")
        .expect("kept");
    assert!(
        kept.contains("Laskuri Pilvi Oy"),
        "the version is kept with its text"
    );
}

#[test]
fn a_policy_with_errors_stops_the_start_with_its_findings() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("privacy.toml"),
        "[notice]\nlast_updated = 2026-01-01\n",
    )
    .expect("writable");
    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error[missing-key]"), "{stderr}");
    assert!(stderr.contains("ombud policy check"), "{stderr}");
    assert!(
        !dir.path().join("ombud-data").exists(),
        "nothing is created for a policy that does not check"
    );
}

#[test]
fn a_bad_smtp_url_or_job_interval_stops_the_start_before_anything_is_created() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--smtp-url",
            "mail.example.com",
        ])
        .current_dir(dir.path())
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--smtp-url") && stderr.contains("smtps://"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("ombud-data/ombud.db").exists(),
        "no store (and no admin key that could never be shown) is created"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--jobs-every", "0"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--jobs-every"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--sweep-every", "5"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--sweep-every") && stderr.contains("10..=86400"),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--database-pool", "0"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--database-pool") && stderr.contains("1..=1000"),
        "{stderr}"
    );
    // The embedded store keeps its own pool: the flag is refused, not ignored.
    let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-pool", "4"])
        .current_dir(dir.path())
        .env_remove("OMBUD_DATABASE_URL")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--database-pool") && stderr.contains("--database-url"),
        "{stderr}"
    );
    assert!(!dir.path().join("ombud-data/ombud.db").exists());
}

#[test]
fn a_portal_limit_proxy_header_or_metrics_address_that_is_not_one_stops_the_start_with_the_flag_named()
 {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (flag, value, says) in [
        ("--portal-per-client", "20/week", "`week` is not a unit"),
        ("--portal-per-address", "0/hour", "above 0"),
        ("--portal-codes-per-address", "ten/day", "20/hour"),
        ("--client-ip-header", "X Forwarded", "not a header name"),
        ("--metrics-bind", "nowhere", "127.0.0.1:9464"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ombud"))
            .args(["serve", "--bind", "127.0.0.1:0", flag, value])
            .current_dir(dir.path())
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag) && stderr.contains(says), "{stderr}");
        assert!(
            !dir.path().join("ombud-data").exists(),
            "nothing was created"
        );
    }
}

/// A store that exists is never given a new key: with its key file gone the start stops (and
/// writes no key), and with another key it stops before reading or sealing anything.
#[test]
fn a_store_with_data_is_never_served_with_a_new_or_wrong_master_key() {
    let dir = tempfile::tempdir().expect("temporary directory");
    start_once(dir.path());
    let key_file = dir.path().join("ombud-data/master.key");
    let kept = std::fs::read(&key_file).expect("the first key");
    let serve = |envs: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ombud"));
        command
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--metrics-bind",
                "127.0.0.1:0",
            ])
            .current_dir(dir.path())
            .env_remove("OMBUD_MASTER_KEY")
            .env_remove("OMBUD_DATABASE_URL");
        for (name, value) in envs {
            command.env(name, value);
        }
        command.output().expect("runs")
    };

    std::fs::remove_file(&key_file).expect("lose the key file");
    let missing = serve(&[]);
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("there is no master key"), "{said}");
    assert!(!key_file.exists(), "no new key was written beside the data");

    let wrong = serve(&[("OMBUD_MASTER_KEY", &"ab".repeat(32))]);
    assert!(!wrong.status.success());
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("does not match this store"), "{said}");

    std::fs::write(&key_file, kept).expect("put the key back");
    start_once(dir.path());
}

/// Whatever the umask, the data directory is its owner's alone and so is every file of the
/// store in it; a directory found wider is narrowed.
#[cfg(unix)]
#[test]
fn the_data_directory_and_every_store_file_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("ombud-data");
    std::fs::create_dir(&data).expect("a directory made wide beforehand");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    start_once(dir.path());
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("outbox")), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&data).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            files += 1;
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    assert!(files >= 3, "the data file, the key file and the master key");
}

/// `ombud serve` in `dir` on a free port, metrics off, once it says where it listens; the
/// caller keeps its output open (a closed pipe would fail the server's next line).
fn serving(
    dir: &std::path::Path,
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
        .current_dir(dir)
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    stdout.read_line(&mut printed).expect("the first line");
    let address = printed
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {printed:?}"))
        .to_owned();
    (child, address, stdout)
}

/// A server stopped by its signal (a restart, a deploy) gives up the sweep's and the watcher's
/// leases, so the process started in its place does that work at once instead of waiting for
/// them to run out (the sweep's lasts an hour and a half by default).
#[test]
fn a_server_stopped_by_its_signal_gives_up_its_jobs_leases() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut child, _address, _output) = serving(dir.path());
    let leases = |dir: &std::path::Path| -> Vec<(String, i64)> {
        let db = rusqlite::Connection::open(dir.join("ombud-data/ombud.db")).expect("opens");
        db.prepare("SELECT job, leased_until FROM job_leases ORDER BY job")
            .expect("select")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("leases")
    };
    // Both jobs run their first round at start and lease it.
    let mut held = Vec::new();
    for _ in 0..100 {
        held = leases(dir.path());
        if held.len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let later = (jiff::Timestamp::now().as_microsecond()) + 10_000_000;
    assert!(
        held.len() == 2 && held.iter().all(|(_, until)| *until > later),
        "leased ahead while running: {held:?}"
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
    let now = jiff::Timestamp::now().as_microsecond();
    let left = leases(dir.path());
    assert!(
        left.len() == 2 && left.iter().all(|(_, until)| *until <= now),
        "given up on stopping: {left:?}"
    );
}

/// The same on PostgreSQL, whose client cannot block on a thread of the server's runtime: the
/// leases are given up off it, and the store is let go of after the runtime, so the server
/// exits cleanly instead of aborting at its last step.
#[test]
fn a_server_on_postgres_stopped_by_its_signal_exits_cleanly_and_gives_up_its_leases() {
    let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("OMBUD_TEST_POSTGRES_MARKER").is_none(),
            "CI expects the PostgreSQL tests to run: set OMBUD_TEST_POSTGRES_URL"
        );
        eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL stop test did not run");
        return;
    };
    let schema = format!(
        "ombud_stop_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos()
    );
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
        .current_dir(dir.path())
        .env("OMBUD_MASTER_KEY", "ab".repeat(32))
        .env("OMBUD_DATABASE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    stdout.read_line(&mut printed).expect("the first line");
    assert!(printed.contains("http://"), "{printed}");
    let leases = |admin: &mut postgres::Client| -> Vec<i64> {
        admin
            .query(
                &format!("SELECT leased_until FROM {schema}.job_leases"),
                &[],
            )
            .expect("leases")
            .iter()
            .map(|row| row.get(0))
            .collect()
    };
    for _ in 0..100 {
        if leases(&mut admin).len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let output = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let now = jiff::Timestamp::now().as_microsecond();
    let left = leases(&mut admin);
    assert!(
        left.len() == 2 && left.iter().all(|until| *until <= now),
        "given up on stopping: {left:?}"
    );
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("dropped");
}

/// Store work runs on blocking threads; a burst of requests must not grow the process to a
/// thread per waiting request (each with its stack and malloc arena) when only the store's
/// connections can work at once.
#[test]
fn a_burst_of_requests_keeps_the_threads_bounded() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut child, address, _output) = serving(dir.path());
    let threads = |pid: u32| -> usize {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    };
    let pid = child.id();
    let running = std::sync::atomic::AtomicBool::new(true);
    let mut most = 0;
    std::thread::scope(|scope| {
        for client in 0..96 {
            let (address, running) = (&address, &running);
            scope.spawn(move || {
                let mut n = 0;
                while running.load(std::sync::atomic::Ordering::Relaxed) && n < 400 {
                    // Each unknown key is looked up in the store (the cache holds known ones).
                    if let Ok(mut stream) = TcpStream::connect(address) {
                        let _ = write!(
                            stream,
                            "GET /api/v1/requests HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer ombud_sk_{client:04}{n:060}\r\nConnection: close\r\n\r\n"
                        );
                        let mut response = String::new();
                        let _ = stream.read_to_string(&mut response);
                    }
                    n += 1;
                }
            });
        }
        for _ in 0..100 {
            most = most.max(threads(pid));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        running.store(false, std::sync::atomic::Ordering::Relaxed);
    });
    let _ = child.kill();
    let _ = child.wait();
    // Two workers, eight connections' worth of store work and eight more, and the few the
    // runtime and the process keep besides.
    assert!(most > 0, "the thread count was read");
    assert!(most <= 32, "{most} threads under a burst of 96 clients");
}

/// A restore under a running server would be undone by it: the server keeps writing into the
/// files the restore renamed, and at its next start what it wrote after the restore is gone. So
/// a restore and a second server refuse while one runs, naming it; commands that only use the
/// store (a backup, a key listing) go on beside it; once it stops, the restore goes ahead.
#[test]
fn a_running_server_holds_its_data_directory_against_a_restore_and_a_second_server() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut child, _address, _output) = serving(dir.path());
    let ombud = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ombud"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("OMBUD_MASTER_KEY")
            .env_remove("OMBUD_DATABASE_URL")
            .env_remove("OMBUD_DATA_DIR")
            .output()
            .expect("runs")
    };
    let backup = ombud(&["backup", "copy"]);
    assert!(
        backup.status.success(),
        "a backup runs beside the server: {}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        ombud(&["keys", "list"]).status.success(),
        "so does a listing"
    );

    let data = dir.path().join("ombud-data/ombud.db");
    let before = std::fs::read(&data).expect("the data file");
    let pid = format!("process {}", child.id());
    let restore = ombud(&["restore", "copy"]);
    let said = String::from_utf8_lossy(&restore.stderr);
    assert_eq!(restore.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&format!("ombud serve ({pid}, since"))
            && said.contains("stop it before a restore"),
        "the refusal names the server: {said}"
    );
    assert!(
        std::fs::read(&data).expect("the data file") == before,
        "nothing was replaced"
    );
    assert!(!dir.path().join("ombud-data/restore.pending.json").exists());

    let second = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
        .current_dir(dir.path())
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&pid) && said.contains("another --data-dir"),
        "the second server names the first: {said}"
    );

    child.kill().expect("stops");
    child.wait().expect("stopped");
    let restore = ombud(&["restore", "copy"]);
    assert!(
        restore.status.success(),
        "with the server gone the restore runs: {}",
        String::from_utf8_lossy(&restore.stderr)
    );
}

/// A first start on a fresh directory logs no error: the pool's connections used to switch the
/// new file to its write-ahead log in parallel, and two of them could each hold a read lock and
/// want the write lock, which SQLite refuses at once ("database is locked" from the pool).
#[test]
fn fresh_starts_log_no_error() {
    for _ in 0..8 {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
            .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
            .current_dir(dir.path())
            .env_remove("OMBUD_MASTER_KEY")
            .env_remove("OMBUD_DATABASE_URL")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut printed = String::new();
        stdout.read_line(&mut printed).expect("the first line");
        assert!(printed.contains("listening"), "{printed}");
        child.kill().expect("stops");
        child.wait().expect("stopped");
        let mut logged = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut logged)
            .expect("reads");
        assert!(
            !logged.contains("ERROR"),
            "a fresh start logged an error: {logged}"
        );
    }
}

/// A person's code leaves when the request is filed, not at the mailer's next round: with the
/// round set to a minute, the mail is in the outbox folder within two seconds.
#[test]
fn a_queued_mail_leaves_at_once_not_at_the_next_round() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "off",
            "--jobs-every",
            "60",
        ])
        .current_dir(dir.path())
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_SMTP_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (address, key) = common::banner(&mut stdout);
    // Past the first round, which runs at start.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let outbox = dir.path().join("ombud-data/outbox");
    let count = || {
        std::fs::read_dir(&outbox)
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    assert_eq!(count(), 0);
    let filed = common::request(
        &address,
        "POST",
        "/api/v1/requests",
        &key,
        Some(r#"{"kind":"access","email":"ana@example.com"}"#),
    );
    assert!(filed.starts_with("HTTP/1.1 201"), "{filed}");
    let started = std::time::Instant::now();
    while count() == 0 && started.elapsed() < std::time::Duration::from_secs(2) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let waited = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(count(), 1, "the code mail left within {waited:?}");
}
