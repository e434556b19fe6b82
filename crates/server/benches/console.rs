//! The console's pages on a large register, through the server as a browser reaches it: the
//! embedded store with 100,000 people over ten tenants, 10,000 requests and 1,000,000 audit
//! entries; a DPO of the operator signed in. Each case is one GET on loopback — the queue's
//! first, a filtered and a deep page, the overview, a search by identity across the tenants,
//! the audit log's first page, a filtered one and one a million entries in, and a person's
//! page —, with `/healthz` measured in the same run as the floor of the HTTP round trip.
//!
//! `cargo bench -p ombud-server --bench console`; seeding takes a minute or two.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_core::requests::RequestKind;
use ombud_core::{Identity, IdentityKind, ManualClock};
use ombud_store::audit::NewAuditEntry;
use ombud_store::crypto::MasterKey;
use ombud_store::model::{Secret, SubjectId, TenantId};
use ombud_store::requests::{DsRequest, NewRequest, RequestId};
use ombud_store::subjects::{ImportLine, ImportRecord};
use ombud_store::{Actor, SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");
const TENANTS: usize = 10;
const PEOPLE: usize = 100_000;
const REQUESTS: usize = 10_000;
const AUDIT: usize = 1_000_000;
const PASSWORD: &str = "copper kettle orbits quietly";

struct Seeded {
    base: String,
    cookie: String,
    tenants: Vec<TenantId>,
    /// A person of the operator's tenant, and their address.
    person: (SubjectId, String),
    /// A queue cursor ten pages in.
    deep_cursor: String,
    _dir: tempfile::TempDir,
}

fn email(n: usize) -> String {
    format!("person{n}@example.fi")
}

fn seed(runtime: &tokio::runtime::Runtime) -> Seeded {
    let dir = tempfile::tempdir().expect("temporary directory");
    let master = MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
    let now: Timestamp = "2026-03-01T10:00:00Z".parse().expect("time");
    let clock = Arc::new(ManualClock::new(now));
    let booted = ombud_app::bootstrap::ensure_operator(store.as_ref(), clock.as_ref(), "Operator")
        .expect("bootstrap");
    let mut tenants = vec![booted.operator];
    for n in 1..TENANTS {
        tenants.push(
            store
                .create_tenant(&format!("Customer {n}"), false, &Actor::Cli, now)
                .expect("tenant")
                .id,
        );
    }
    let started = std::time::Instant::now();
    // People: a thousand a batch, each with an address and a name.
    let mut operator_people = vec![];
    for batch in 0..PEOPLE / 1000 {
        let tenant = tenants[batch % TENANTS];
        let lines = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                ImportLine {
                    identities: vec![
                        Identity::parse(IdentityKind::Email, &email(n)).expect("email"),
                    ],
                    records: vec![ImportRecord {
                        fingerprint: *blake3::hash(format!("name {n}").as_bytes()).as_bytes(),
                        category: "user.name".into(),
                        purposes: vec![],
                        source: "subject".into(),
                        collected_at: now,
                        value: Secret::new(format!("Person {n}")),
                    }],
                    events: vec![],
                }
            })
            .collect();
        let done = store
            .import_lines(tenant, lines, &Actor::Cli, now)
            .expect("imported");
        if tenant == booted.operator {
            operator_people.extend(done.into_iter().map(|line| line.expect("a line").subject));
        }
    }
    eprintln!(
        "seeded {PEOPLE} people in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Requests: spread over the tenants and the next two months, a third assigned.
    let kinds = [
        RequestKind::Access,
        RequestKind::Erasure,
        RequestKind::Rectification,
    ];
    for n in 0..REQUESTS {
        let tenant = tenants[n % TENANTS];
        let mut request = DsRequest::from_new(
            tenant,
            RequestId::new(),
            &NewRequest {
                kind: kinds[n % kinds.len()],
                subject: None,
                contact: Some(Identity::parse(IdentityKind::Email, &email(n)).expect("email")),
                purpose: None,
                category: None,
                record: None,
                new_value: None,
                channel: "api".into(),
                received_at: now,
                due_at: now
                    .checked_add(jiff::SignedDuration::from_hours((n % 1440) as i64))
                    .ok(),
            },
        );
        if n % 3 == 0 {
            request.assignee = Some("dpo@operator.example".into());
        }
        store
            .create_request(tenant, &request, &[], &Actor::Cli, now)
            .expect("filed");
    }
    eprintln!(
        "seeded {REQUESTS} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Audit entries: purpose-bound reads of the operator's people, ten thousand a commit.
    let have = store.audit_head(booted.operator).expect("head").0 as usize;
    let mut written = have;
    while written < AUDIT {
        let batch: Vec<_> = (0..10_000.min(AUDIT - written))
            .map(|i| {
                let subject = operator_people[(written + i) % operator_people.len()];
                (
                    booted.operator,
                    NewAuditEntry {
                        actor: "key:bench".into(),
                        action: "records.read".into(),
                        subject: Some(subject),
                        categories: vec!["user.name".into()],
                        purpose: Some("invoicing".into()),
                        detail: Some("returned=1 withheld=0".into()),
                    },
                    now,
                )
            })
            .collect();
        written += batch.len();
        store.append_audit_batch(batch).expect("appended");
    }
    eprintln!(
        "seeded {AUDIT} audit entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A DPO of the operator, signed in.
    let created = ombud_app::console::create_user(
        store.as_ref(),
        booted.operator,
        "dpo@operator.example",
        ombud_store::model::Role::Dpo,
        &Actor::Cli,
        now,
    )
    .expect("user");
    ombud_app::console::set_password(store.as_ref(), &created.setup_token, PASSWORD, None, now)
        .expect("password");
    let signed =
        ombud_app::console::sign_in(store.as_ref(), "dpo@operator.example", PASSWORD, None, now)
            .expect("signed in");
    let cookie = format!("__Host-ombud_console={}", signed.session_token.as_str());

    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let state = ombud_server::AppState::new(
        Arc::clone(&store),
        Arc::new(policy),
        clock,
        booted.operator,
        ombud_app::secrets::Secrets::from_master(&master),
        "http://ombud.bench",
    )
    .expect("state");
    let base = runtime.block_on(async {
        let app = ombud_server::Application::build("127.0.0.1:0".parse().expect("address"), state)
            .await
            .expect("binds");
        let base = format!("http://{}", app.local_addr().expect("bound"));
        tokio::spawn(app.run(std::future::pending()));
        base
    });
    // Ten pages into the queue, as a user paging would get there.
    let queue = store
        .request_queue(&ombud_store::requests::RequestQueue {
            open: true,
            limit: 500,
            ..Default::default()
        })
        .expect("queue");
    let last = &queue[499];
    let deep_cursor = format!(
        "{}.{}",
        last.due_at
            .map_or("-".into(), |d| d.as_microsecond().to_string()),
        last.id
    );
    Seeded {
        base,
        cookie,
        tenants,
        person: (operator_people[operator_people.len() / 2], email(0)),
        deep_cursor,
        _dir: dir,
    }
}

fn console(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let seeded = seed(&runtime);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let runtime = &runtime;
    let get = |path: String| {
        let (client, url, cookie) = (
            client.clone(),
            format!("{}{path}", seeded.base),
            seeded.cookie.clone(),
        );
        move || {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            runtime.block_on(async move {
                let answer = client
                    .get(&url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(answer.status(), 200, "{url}");
                answer.bytes().await.expect("a body").len()
            })
        }
    };
    let (subject, address) = &seeded.person;
    let operator = seeded.tenants[0];
    let cases: Vec<(&str, String)> = vec![
        ("healthz (the HTTP floor)", "/healthz".into()),
        ("overview", "/console".into()),
        ("queue, first page", "/console/requests".into()),
        (
            "queue, one tenant, access, unassigned",
            format!(
                "/console/requests?tenant={}&kind=access&assignee=nobody",
                seeded.tenants[3]
            ),
        ),
        (
            "queue, ten pages in",
            format!("/console/requests?cursor={}", seeded.deep_cursor),
        ),
        (
            "queue, newest first, any status",
            "/console/requests?status=all&sort=newest".into(),
        ),
        (
            "people, search by address across 10 tenants",
            format!(
                "/console/people?kind=email&value={}",
                address.replace('@', "%40")
            ),
        ),
        ("audit log, first page", "/console/audit".into()),
        (
            "audit log, one person's reads",
            format!("/console/audit?action=records.read&subject={subject}"),
        ),
        (
            "audit log, 900,000 entries in",
            "/console/audit?after=900000".into(),
        ),
        (
            "person's page",
            format!("/console/people/{operator}/{subject}"),
        ),
    ];
    let mut group = c.benchmark_group("console");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    for (name, path) in cases {
        let mut call = get(path);
        group.bench_function(name, |b| b.iter(&mut call));
    }
    group.finish();
}

criterion_group!(benches, console);
criterion_main!(benches);
