//! docs/roles.md is the one table of what each role may do; this test keeps it true. It reads
//! the table, and for each row calls a route of that row with a key of each role: a role marked
//! ✓ must get past the role check (any answer but 403), a role marked — must get 403. A row
//! added to the table without a probe here fails the test, so the table cannot drift from the
//! handlers' checks.

mod common;

use common::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["admin", "dpo", "agent", "service", "auditor"];

/// The rows of the table, as (what, one mark per role in `ROLES` order).
fn table() -> Vec<(String, Vec<bool>)> {
    let doc = include_str!("../../../docs/roles.md");
    let section = doc
        .split("## What each role may do")
        .nth(1)
        .expect("the table's section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let marks = cells[1..]
                .iter()
                .map(|c| match *c {
                    "✓" => true,
                    "—" => false,
                    other => panic!("a mark is ✓ or —, not {other:?} in {line}"),
                })
                .collect::<Vec<_>>();
            assert_eq!(marks.len(), ROLES.len(), "{line}");
            (cells[0].to_owned(), marks)
        })
        .collect()
}

/// Where a row is checked: a call the row's roles may make, or the test that checks it.
enum Probe {
    Call(Method, String, Option<Value>),
    /// The row depends on more than the role (operator-wide keys, a customer's own key): the
    /// named test checks it.
    Elsewhere(&'static str),
}

fn probe(what: &str, ids: &Ids) -> Probe {
    use Probe::{Call, Elsewhere};
    let nobody = "01a20000-0000-7000-8000-000000000000";
    let get = |path: String| Call(Method::GET, path, None);
    let post = |path: String, body: Value| Call(Method::POST, path, Some(body));
    match what {
        "create tenants (operator-wide admin only)" => {
            Elsewhere("admin.rs: only an operator-wide admin key creates tenants")
        }
        "list tenants, show one (a customer's key: its own)" => get("/api/v1/tenants".into()),
        "set a customer's details as controller and its portal's look (operator-wide admin, or the customer's own admin)" => {
            Call(
                Method::PATCH,
                format!("/api/v1/tenants/{}", ids.operator),
                Some(json!({ "dpo": "x" })),
            )
        }
        "create, list, revoke API keys" => get("/api/v1/keys".into()),
        "create and look up people" => {
            get("/api/v1/subjects?identity=email:probe@example.com".into())
        }
        "read a person's identities" => get(format!("/api/v1/subjects/{}", ids.subject)),
        "write records" => Call(
            Method::PUT,
            format!("/api/v1/subjects/{}/records", ids.subject),
            Some(json!({ "records": [{ "category": "user.name", "value": "Probe" }] })),
        ),
        "read records for a purpose (audited as a read for it)" => get(format!(
            "/api/v1/subjects/{}/records?purpose=invoicing",
            ids.subject
        )),
        "ask for an access decision (`/check`)" => get(
            "/api/v1/check?identity=email:probe@example.com&purpose=invoicing&category=user.name"
                .into(),
        ),
        "record and read events and consents" => {
            get(format!("/api/v1/subjects/{}/events", ids.subject))
        }
        "lift a restriction (decides)" => post(
            format!("/api/v1/subjects/{}/restriction/lift", ids.subject),
            json!({ "effective_at": "2099-01-01T00:00:00Z", "reason": "settled" }),
        ),
        "file a data-subject request" => post(
            "/api/v1/requests".into(),
            json!({ "kind": "access", "email": "probe@example.com" }),
        ),
        "read requests, their plans, mails and receipts; send a new code" => {
            get("/api/v1/requests".into())
        }
        "verify, extend, start, fulfil, refuse a request (decides)" => {
            post(format!("/api/v1/requests/{nobody}/start"), json!({}))
        }
        "assign a request to a colleague (decides nothing)" => post(
            format!("/api/v1/requests/{nobody}/assign"),
            json!({ "assignee": "Bo" }),
        ),
        "place and release legal holds" => {
            post(format!("/api/v1/holds/{nobody}/release"), json!({}))
        }
        "list legal holds" => get("/api/v1/holds".into()),
        "see what a hold keeps (decides)" => get(format!(
            "/api/v1/holds/{nobody}/records?subject={}",
            ids.subject
        )),
        "open, scope, assess, notify and close breaches" => post(
            format!("/api/v1/incidents/{nobody}/close"),
            json!({ "measures": "x" }),
        ),
        "read the breach register" => get("/api/v1/incidents".into()),
        "send a notice (decides)" => post(
            "/api/v1/notices".into(),
            json!({ "kind": "nope", "subject": "s", "body": "b", "audience": { "customers": true } }),
        ),
        "read the notice ledger, what a person received" => get("/api/v1/notices".into()),
        "customers' service-message contacts (operator tenant)" => {
            get(format!("/api/v1/tenants/{}/contacts", ids.customer))
        }
        "read the retention forecast and the reviews due" => {
            get("/api/v1/retention/forecast?days=30".into())
        }
        "decide a review (decides)" => post(
            "/api/v1/retention/reviews".into(),
            json!({ "subject": ids.subject, "decision": "keep" }),
        ),
        "the record of processing activities (operator tenant)" => get("/api/v1/ropa".into()),
        "the promise check, `GET /api/v1/promises` (operator tenant)" => {
            get("/api/v1/promises".into())
        }
        "read the sub-processor list" => get("/api/v1/subprocessors".into()),
        "choose optional sub-processors (a customer's admin)" => {
            Elsewhere("subprocessors.rs: a customer's admin chooses its optional providers")
        }
        "draft and send change notices (operator tenant)" => {
            get("/api/v1/subprocessors/changes/draft".into())
        }
        "read change notices" => get("/api/v1/subprocessors/changes".into()),
        "object to a change (decides)" => {
            Elsewhere("subprocessors.rs: a customer's admin or DPO objects within the window")
        }
        "resolve an objection" => post(
            format!("/api/v1/subprocessors/changes/{nobody}/objections/resolution"),
            json!({ "recipient": "x", "outcome": "withdrawn", "note": "n" }),
        ),
        "read and verify the audit log" => get("/api/v1/audit/verify".into()),
        "list the receipts of sweeps and audit-chain heads, check a receipt against the chain" => {
            get("/api/v1/receipts".into())
        }
        "sign in to the console as a person and see the queue of open requests (operator staff: every customer's)" => {
            Elsewhere(
                "console.rs: console users are people with a role; an auditor's overview shows no queue, and service is no console role",
            )
        }
        "read the notice ledger in the console and a notice's page (a customer's people: their own tenant's)" => {
            Elsewhere("console_notices.rs: an auditor reads without the form; an agent is refused")
        }
        "send a notice from the console (decides)" => {
            Elsewhere("console_notices.rs: a DPO sends; the operator's DPO is refused a customer's")
        }
        "sub-processors in the console: the registry, customers' choices, changes and objections (a customer's people: their own)" => {
            Elsewhere(
                "console_subprocessors.rs: an agent is refused; the operator's DPO and the customer's people read",
            )
        }
        "send a change notice and resolve objections from the console (operator tenant); object to a change there (a customer's own, decides)" => {
            Elsewhere(
                "console_subprocessors.rs: the operator's DPO sends and resolves; the customer's DPO objects; the operator's DPO may not choose for a customer",
            )
        }
        "the policy in the console: versions, the difference between two, the findings of the check, the rendered notice (operator tenant)" => {
            Elsewhere(
                "console_policy.rs: an auditor reads; an agent and a customer's DPO are refused",
            )
        }
        "download the record of processing activities from the console (operator tenant)" => {
            Elsewhere(
                "console_policy.rs: a DPO downloads; an auditor and a customer's DPO are refused",
            )
        }
        "the console's settings: invite, reset and disable console users; create (secret shown once) and revoke API keys; the operator's admins also create tenants and set a customer's details and portal" => {
            Elsewhere(
                "console_settings.rs: a DPO is refused; a customer's admin manages its own tenant only and creates no tenant",
            )
        }
        "read the breach register in the console, an incident's page and its drafts (a customer's people: their own tenant's)" => {
            Elsewhere("console_incidents.rs: an auditor reads without forms; an agent is refused")
        }
        "open, scope, assess, notify about and close incidents in the console, record the authority's filing" => {
            Elsewhere("console_incidents.rs: a DPO opens, assesses, records the filing and closes")
        }
        "read retention in the console: the chart of what leaves, the last sweeps, holds, reviews due (a customer's people: their own tenant's)" => {
            Elsewhere(
                "console_retention.rs: an auditor reads, an agent is refused, a customer's DPO is refused the operator's tenant",
            )
        }
        "place and release legal holds in the console; decide a review there (decides)" => {
            Elsewhere(
                "console_retention.rs: a DPO places, releases and decides; the auditor's page offers no hold; the operator's DPO is refused a customer's review",
            )
        }
        "browse the audit log in the console and verify its chain (a customer's people: their own tenant's)" => {
            Elsewhere(
                "console_audit.rs: an agent is refused; an auditor browses and verifies; a customer's DPO is refused the operator's log",
            )
        }
        "find people in the console and open a person's page (audited); show their values for a purpose (audited as a read for it)" => {
            Elsewhere(
                "console_people.rs: an auditor is refused; a customer's people find and open only their own tenant's",
            )
        }
        "work requests in the console: the queue with its filters, a request's page, the requester's address on demand (audited), assign, verify by hand, extend, fulfil after the preview, refuse (a customer's own people decide on its requests)" => {
            Elsewhere(
                "console_requests.rs: an auditor is refused the queue; a customer's people see their tenant only; operator staff read and assign a customer's request and are refused its decisions",
            )
        }
        other => panic!("docs/roles.md has a row this test does not check: {other:?}"),
    }
}

struct Ids {
    operator: String,
    customer: String,
    subject: String,
}

async fn keys(app: &TestApp) -> Vec<String> {
    let mut keys = vec![];
    for role in ROLES {
        keys.push(app.key(&app.admin_key, role).await);
    }
    keys
}

#[tokio::test]
async fn every_row_of_the_roles_table_is_what_the_handlers_enforce() {
    let app = spawn_app().await;
    let keys = keys(&app).await;
    let (customer, _) = app.tenant_with_admin("Probe Oy").await;
    let subject = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "someone@example.com" }] }),
        )
        .await;
    let ids = Ids {
        operator: app.operator().await.0.to_string(),
        customer,
        subject: subject.body["id"].as_str().expect("id").to_owned(),
    };
    let rows = table();
    assert!(rows.len() >= 30, "the table was read: {}", rows.len());
    let mut wrong = vec![];
    for (what, marks) in &rows {
        let (method, path, body) = match probe(what, &ids) {
            Probe::Call(method, path, body) => (method, path, body),
            Probe::Elsewhere(test) => {
                let file = test.split(':').next().unwrap_or_default();
                assert!(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests")
                        .join(file)
                        .exists(),
                    "{what}: checked in {test}, which must exist"
                );
                continue;
            }
        };
        for ((role, key), allowed) in ROLES.iter().zip(&keys).zip(marks) {
            let reply = app
                .call(method.clone(), &path, Some(key), None, body.clone())
                .await;
            let refused = reply.status == 403;
            if refused == *allowed {
                wrong.push(format!(
                    "{what}: {role} {} but got {} ({method} {path}: {})",
                    if *allowed { "is ✓" } else { "is —" },
                    reply.status,
                    reply.body
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/roles.md and the handlers disagree:\n{}",
        wrong.join("\n")
    );
}
