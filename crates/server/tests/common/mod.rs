//! `spawn_app`: every test gets its own store, a random port, a manual clock, and the bootstrap
//! admin key; typed helpers keep the tests about behaviour.

#![allow(dead_code)]

pub mod console;

use jiff::Timestamp;
use ombud_core::{Clock, ManualClock};
use ombud_server::{AppState, Application};
use ombud_store::crypto::MasterKey;
use ombud_store::{SqliteStore, Store};
use serde_json::{Value, json};
use std::sync::Arc;

pub const POLICY: &str = include_str!("../../../../examples/invoicing-saas.toml");
/// The public-cloud example: the one that declares notice kinds (security, news, surveys …).
pub const CLOUD_POLICY: &str = include_str!("../../../../examples/public-cloud.toml");

pub struct TestApp {
    pub address: String,
    /// The metrics listener, apart from the API and the portal.
    pub metrics_address: String,
    pub admin_key: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    /// The server's link secrets, for tests that play the mailer.
    pub secrets: Arc<ombud_app::secrets::Secrets>,
    /// The master key, hex, for a second store on the same data.
    pub master: String,
    /// Where the data is: the SQLite file, or the PostgreSQL URL with its schema.
    pub database: Database,
    /// The policy the server runs, for a replica to run the same.
    policy: String,
    dir: std::path::PathBuf,
    /// Held by the first server of the data only.
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone)]
pub enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl TestApp {
    /// Every byte the store has on disk (SQLite: the data file, the key file and their WALs),
    /// to show what is not in it.
    pub fn bytes_on_disk(&self) -> Vec<u8> {
        let mut all = vec![];
        for entry in std::fs::read_dir(&self.dir).expect("data directory") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                all.extend(std::fs::read(&path).unwrap_or_default());
            }
        }
        all
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(POLICY).await
}

/// A server on SQLite under another policy.
pub async fn spawn_app_with(policy: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let master = MasterKey::generate().expect("key");
    let path = dir.path().join("ombud.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, &master).expect("store"));
    spawn_with(store, master, dir, policy, Database::Sqlite(path)).await
}

/// A second server on the same data as `of`, with its own store, cache and clock set to the
/// same time: a replica (on PostgreSQL), or another process writing the same file (SQLite).
pub async fn spawn_replica(of: &TestApp) -> TestApp {
    let master = MasterKey::from_hex(&of.master).expect("key");
    let key = MasterKey::from_hex(&of.master).expect("key");
    let database = of.database.clone();
    let store: Arc<dyn Store> = tokio::task::spawn_blocking(move || -> Arc<dyn Store> {
        match database {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(&path, &key).expect("store")),
            Database::Postgres(url) => {
                Arc::new(ombud_store::PostgresStore::connect(&url, &key).expect("connects"))
            }
        }
    })
    .await
    .expect("joined");
    let replica = serve(
        store,
        master,
        Served {
            dir: of.dir.clone(),
            holder: None,
            database: of.database.clone(),
        },
        &of.policy,
        "http://ombud.test",
        Some(of.admin_key.clone()),
    )
    .await;
    replica.clock.set(of.clock.now());
    replica
}

/// The PostgreSQL URL for tests, or `None` (said aloud) when it is not set. Under CI, which
/// sets OMBUD_TEST_POSTGRES_MARKER, a missing URL fails instead of skipping.
pub fn postgres_url() -> Option<String> {
    match std::env::var("OMBUD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("OMBUD_TEST_POSTGRES_MARKER").is_none(),
                "CI expects the PostgreSQL tests to run: set OMBUD_TEST_POSTGRES_URL"
            );
            eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
            None
        }
    }
}

/// A server on PostgreSQL, in a new schema of its own.
pub async fn spawn_app_on_postgres(url: &str) -> TestApp {
    spawn_app_on_postgres_with(url, POLICY).await
}

/// A server on PostgreSQL under another policy.
pub async fn spawn_app_on_postgres_with(url: &str, policy: &str) -> TestApp {
    let schema = format!("ombud_test_{}", uuid::Uuid::now_v7().simple());
    let admin_url = url.to_owned();
    let create = format!("CREATE SCHEMA {schema}");
    tokio::task::spawn_blocking(move || {
        postgres::Client::connect(&admin_url, postgres::NoTls)
            .expect("connects to OMBUD_TEST_POSTGRES_URL")
            .batch_execute(&create)
            .expect("creates a schema")
    })
    .await
    .expect("joined");
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let url_of_schema = scoped.clone();
    let master = MasterKey::generate().expect("key");
    let key = MasterKey::from_hex(&master.to_hex()).expect("key");
    let store = tokio::task::spawn_blocking(move || {
        ombud_store::PostgresStore::connect(&scoped, &key).expect("connects and migrates")
    })
    .await
    .expect("joined");
    let dir = tempfile::tempdir().expect("temporary directory");
    spawn_with(
        Arc::new(store),
        master,
        dir,
        policy,
        Database::Postgres(url_of_schema),
    )
    .await
}

/// A server on SQLite that people reach at `public_url`.
#[allow(dead_code)]
pub async fn spawn_app_reached_at(public_url: &'static str) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let master = MasterKey::generate().expect("key");
    let path = dir.path().join("ombud.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, &master).expect("store"));
    let served = Served::first(dir, Database::Sqlite(path));
    serve(store, master, served, POLICY, public_url, None).await
}

async fn spawn_with(
    store: Arc<dyn Store>,
    master: MasterKey,
    dir: tempfile::TempDir,
    policy: &str,
    database: Database,
) -> TestApp {
    let served = Served::first(dir, database);
    serve(store, master, served, policy, "http://ombud.test", None).await
}

/// Where a server's data is, and whether it is the first server of it (which holds the
/// temporary directory).
struct Served {
    dir: std::path::PathBuf,
    holder: Option<tempfile::TempDir>,
    database: Database,
}

impl Served {
    fn first(dir: tempfile::TempDir, database: Database) -> Served {
        Served {
            dir: dir.path().to_owned(),
            holder: Some(dir),
            database,
        }
    }
}

/// A server on `store`; `admin_key` is the first server's, for a replica (which makes none).
async fn serve(
    store: Arc<dyn Store>,
    master: MasterKey,
    served: Served,
    policy_text: &str,
    public_url: &str,
    admin_key: Option<String>,
) -> TestApp {
    let policy = policy_text;
    let clock = Arc::new(ManualClock::new(
        "2026-03-01T10:00:00Z".parse::<Timestamp>().expect("time"),
    ));
    let policy = ombud_policy::check(policy)
        .policy
        .expect("the example checks clean");
    // Store calls block; off the async worker, as the server makes them.
    let booted = {
        let (store, clock) = (Arc::clone(&store), Arc::clone(&clock));
        tokio::task::spawn_blocking(move || {
            ombud_app::bootstrap::ensure_operator(store.as_ref(), clock.as_ref(), "Operator")
        })
        .await
        .expect("joined")
        .expect("bootstrap")
    };
    let state = AppState::new(
        Arc::clone(&store),
        Arc::new(policy),
        clock.clone(),
        booted.operator,
        ombud_app::secrets::Secrets::from_master(&master),
        public_url,
    )
    .expect("state");
    let metrics =
        Application::build_metrics("127.0.0.1:0".parse().expect("address"), state.clone())
            .await
            .expect("binds");
    let metrics_address = format!("http://{}", metrics.local_addr().expect("bound"));
    tokio::spawn(metrics.run(std::future::pending()));
    let app = Application::build("127.0.0.1:0".parse().expect("address"), state)
        .await
        .expect("binds");
    let address = format!("http://{}", app.local_addr().expect("bound"));
    tokio::spawn(app.run(std::future::pending()));
    TestApp {
        address,
        metrics_address,
        admin_key: admin_key.unwrap_or_else(|| {
            booted
                .admin_secret
                .expect("a fresh store makes a key")
                .to_string()
        }),
        client: reqwest::Client::new(),
        clock,
        store,
        secrets: Arc::new(ombud_app::secrets::Secrets::from_master(&master)),
        master: master.to_hex().to_string(),
        database: served.database,
        policy: policy_text.to_owned(),
        dir: served.dir,
        _dir: served.holder,
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// `Retry-After`, where the server asks to wait.
    pub retry_after: Option<String>,
    pub body: Value,
}

impl TestApp {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(tenant) = tenant {
            request = request.header("Ombud-Tenant", tenant);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            content_type,
            retry_after,
            body,
        }
    }

    /// Reads the newest code mailed from the outbox, as the person would, and marks the mails
    /// sent.
    pub async fn code_from_outbox(&self) -> String {
        let mails = self.drain_outbox_mails().await;
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.template == "request_code")
            .expect("a code was mailed");
        mail.subject
            .rsplit(' ')
            .next()
            .expect("the code ends the subject")
            .to_owned()
    }

    /// Every mail waiting in the outbox as (to, template, body), marked sent.
    pub async fn drain_outbox(&self) -> Vec<(String, String, String)> {
        self.drain_outbox_mails()
            .await
            .into_iter()
            .map(|mail| (mail.to.expose().to_owned(), mail.template, mail.body))
            .collect()
    }

    /// Leases every mail due and marks it sent. Store calls are blocking, so they leave the
    /// async worker as the server's own do.
    async fn drain_outbox_mails(&self) -> Vec<ombud_store::requests::Mail> {
        let now = self.clock.now();
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mails = store
                .lease_mails(
                    now,
                    now.checked_add(jiff::SignedDuration::from_mins(1))
                        .expect("time"),
                    100,
                )
                .expect("outbox");
            for mail in &mails {
                store.mail_sent(mail.tenant, mail.id, now).expect("sent");
            }
            mails
        })
        .await
        .expect("joined")
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(reqwest::Method::GET, path, Some(key), None, None)
            .await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(key), None, Some(body))
            .await
    }

    /// A new customer tenant and an admin key acting in it.
    pub async fn tenant_with_admin(&self, name: &str) -> (String, String) {
        let tenant = self
            .post("/api/v1/tenants", &self.admin_key, json!({ "name": name }))
            .await;
        assert_eq!(tenant.status, 201, "{:?}", tenant.body);
        let id = tenant.body["id"].as_str().expect("id").to_owned();
        let key = self
            .call(
                reqwest::Method::POST,
                "/api/v1/keys",
                Some(&self.admin_key),
                Some(&id),
                Some(json!({ "name": "admin", "role": "admin" })),
            )
            .await;
        assert_eq!(key.status, 201, "{:?}", key.body);
        (id, key.body["secret"].as_str().expect("secret").to_owned())
    }

    /// A person of the tenant `key` acts in, found by `email`, holding `records` and under a
    /// contract since 1 June 2025; their id.
    pub async fn person_with_contract(&self, key: &str, email: &str, records: Value) -> String {
        let created = self
            .post(
                "/api/v1/subjects",
                key,
                json!({ "identities": [{ "kind": "email", "value": email }] }),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let subject = created.body["id"].as_str().expect("id").to_owned();
        let written = self
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/subjects/{subject}/records"),
                Some(key),
                None,
                Some(json!({ "records": records })),
            )
            .await;
        assert_eq!(written.status, 200, "{:?}", written.body);
        let contract = self
            .post(
                &format!("/api/v1/subjects/{subject}/events"),
                key,
                json!({ "kind": "contract_start", "occurred_at": "2025-06-01T09:00:00Z" }),
            )
            .await;
        assert_eq!(contract.status, 201, "{:?}", contract.body);
        subject
    }

    /// The operator's own tenant, as the store knows it.
    pub async fn operator(&self) -> ombud_store::model::TenantId {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            store
                .tenants()
                .expect("tenants")
                .into_iter()
                .find(|t| t.operator)
                .expect("operator")
                .id
        })
        .await
        .expect("joined")
    }

    /// A key of `role` in the tenant the given admin key acts in.
    pub async fn key(&self, admin: &str, role: &str) -> String {
        let key = self
            .post("/api/v1/keys", admin, json!({ "name": role, "role": role }))
            .await;
        assert_eq!(key.status, 201, "{:?}", key.body);
        key.body["secret"].as_str().expect("secret").to_owned()
    }
}
