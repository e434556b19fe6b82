//! Shared by the dataset tests: a rights desk on a fresh store over the invoicing example with
//! the given datasets, people, filings, and the zip a download link hands out. Each test file
//! uses some of them.
#![allow(dead_code)]

use jiff::Timestamp;
use ombud_app::rights::{Desk, Filing};
use ombud_app::secrets::Secrets;
use ombud_connect::{Connectors, Dataset};
use ombud_core::requests::RequestKind;
use ombud_store::model::{Secret, SubjectId, TenantId};
use ombud_store::requests::RequestId;
use ombud_store::{Actor, SqliteStore, Store};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

pub const POLICY: &str = include_str!("../../../../examples/invoicing-saas.toml");

pub struct Fixture {
    pub desk: Desk,
    pub store: Arc<dyn Store>,
    pub operator: TenantId,
}

/// A desk on a new store in `dir` (operator "Laskuri Oy") whose requests reach `datasets`.
pub fn fixture(dir: &Path, datasets: Vec<Dataset>) -> Fixture {
    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let operator = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Laskuri Oy")
        .expect("bootstrap")
        .operator;
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    Fixture {
        desk: Desk {
            store: Arc::clone(&store),
            time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
            policy: Arc::new(policy),
            secrets: Arc::new(Secrets::from_master(&master)),
            public_url: "https://privacy.example".into(),
            connectors: Arc::new(Connectors::new(datasets)),
        },
        store,
        operator,
    }
}

/// The register's person with this email in `tenant`, created when there is none yet.
pub fn person(store: &dyn Store, tenant: TenantId, email: &str) -> SubjectId {
    let identity =
        ombud_core::Identity::parse(ombud_core::IdentityKind::Email, email).expect("email");
    match store.find_subject(tenant, &identity).expect("looks up") {
        Some(subject) => subject,
        None => store
            .create_subject(tenant, &[identity], &Actor::Cli, Timestamp::now())
            .expect("subject"),
    }
}

/// A request the operator's application vouches for, by the person with `email`.
pub fn file(
    desk: &Desk,
    tenant: TenantId,
    kind: RequestKind,
    email: &str,
    correction: Option<(&str, &str)>,
) -> RequestId {
    let subject = person(desk.store.as_ref(), tenant, email);
    desk.file(
        tenant,
        Filing {
            kind,
            email: Some(email.into()),
            subject: Some(subject),
            purpose: None,
            category: correction.map(|(category, _)| category.to_owned()),
            record: None,
            new_value: correction.map(|(_, value)| Secret::new(value)),
            channel: "api".into(),
            vouched: true,
        },
        &Actor::Cli,
        Timestamp::now(),
    )
    .expect("filed")
    .id
}

/// Every file of the zip behind a download link, by name.
pub fn exported_all(
    store: &dyn Store,
    tenant: TenantId,
    url: &str,
) -> std::collections::BTreeMap<String, String> {
    let token = url.rsplit('/').next().expect("token");
    let export = store
        .take_export(
            tenant,
            &ombud_store::crypto::export_token_hash(token),
            Timestamp::now(),
        )
        .expect("reads")
        .expect("the export");
    let zip = ombud_store::crypto::open_export(token, &export.sealed).expect("opens");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a zip");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("a file");
        let mut text = String::new();
        file.read_to_string(&mut text).expect("text");
        files.insert(file.name().to_owned(), text);
    }
    files
}

/// The URL of the PostgreSQL (`OMBUD_TEST_POSTGRES_URL`) or MariaDB (`OMBUD_TEST_MYSQL_URL`)
/// server the connector tests run on; `None` when it is not set, which CI (setting the suite's
/// marker) refuses: a suite that did not run must fail there, not pass.
pub fn server_url(var: &str, marker: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os(marker).is_none(),
                "CI expects the {what} tests to run: set {var}"
            );
            eprintln!("{var} is not set: the {what} case did not run");
            None
        }
    }
}

/// A new, empty MariaDB database for one test, dropped when the test is done.
pub struct MariaDb {
    pub url: String,
    name: String,
    admin: mysql::Conn,
}

impl MariaDb {
    /// A database named `{prefix}_{process id}` on the server `OMBUD_TEST_MYSQL_URL` names.
    pub fn new(prefix: &str) -> Option<MariaDb> {
        use mysql::prelude::Queryable;
        let base = server_url("OMBUD_TEST_MYSQL_URL", "OMBUD_TEST_MYSQL_MARKER", "MariaDB")?;
        let name = format!("{prefix}_{}", std::process::id());
        let mut admin =
            mysql::Conn::new(mysql::Opts::from_url(&base).expect("url")).expect("connects");
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drops");
        admin
            .query_drop(format!("CREATE DATABASE {name}"))
            .expect("creates");
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => format!("{base}/{name}"),
        };
        Some(MariaDb { url, name, admin })
    }

    pub fn connect(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.url).expect("url")).expect("connects")
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        use mysql::prelude::Queryable;
        let _ = self
            .admin
            .query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}
