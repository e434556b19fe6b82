//! Telling of a breach, on SQLite and PostgreSQL: each affected customer is notified through
//! the notice ledger with every item of Art. 33(3); a notification at hour 71 is on time and
//! stops the clock, one at hour 73 is refused without the reasons for the delay and then
//! recorded late and flagged; phases follow; the authority and the people are told only where
//! the law and the policy say so (Art. 33(1), 34).

mod common;

use common::{
    TestApp, spawn_app, spawn_app_on_postgres, spawn_app_on_postgres_with, spawn_app_with,
};
use jiff::SignedDuration;
use ombud_core::Clock;
use serde_json::json;
use std::sync::Arc;

const ERP_POLICY: &str = include_str!("../../../examples/managed-erp-hosting.toml");

async fn person(app: &TestApp, key: &str, tenant: Option<&str>, email: &str) -> String {
    let created = app
        .call(
            reqwest::Method::POST,
            "/api/v1/subjects",
            Some(key),
            tenant,
            Some(json!({ "identities": [{ "kind": "email", "value": email }] })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(key),
            tenant,
            Some(json!({ "records": [{ "category": "user.contact.email", "value": email, "source": "subject", "collected_at": "2026-01-10T00:00:00Z" }] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    id
}

/// Opens an incident of which the operator learned `hours` ago, scoped to the email
/// addresses held in `tenant` (every tenant when `None`).
async fn incident(app: &TestApp, title: &str, hours: i64, tenant: Option<&str>) -> String {
    let aware = app.clock.now() - SignedDuration::from_hours(hours);
    let opened = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({ "title": title, "description": "A misconfigured replica exposed the contact table.", "aware_at": aware }),
        )
        .await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let id = opened.body["id"].as_str().expect("id").to_owned();
    let scoped = app
        .post(
            &format!("/api/v1/incidents/{id}/scope"),
            &app.admin_key,
            json!({ "categories": ["user.contact.email"], "tenants": tenant.into_iter().collect::<Vec<_>>(), "from": "2026-01-01T00:00:00Z", "until": aware }),
        )
        .await;
    assert_eq!(scoped.status, 200, "{:?}", scoped.body);
    id
}

async fn outbox(app: &TestApp) -> Vec<ombud_store::requests::Mail> {
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    tokio::task::spawn_blocking(move || {
        let mails = store
            .lease_mails(now, now + SignedDuration::from_mins(1), 1000)
            .expect("outbox");
        for mail in &mails {
            store.mail_sent(mail.tenant, mail.id, now).expect("sent");
        }
        mails
    })
    .await
    .expect("joined")
}

/// The breach gauges: open incidents whose clock runs, and the soonest deadline's seconds.
/// No series names an incident.
async fn gauges(app: &TestApp) -> (i64, Option<i64>) {
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    let rendered = tokio::task::spawn_blocking(move || {
        let metrics = ombud_app::metrics::Metrics::new();
        ombud_app::jobs::watch(store.as_ref(), &metrics, now).expect("watch");
        metrics.render()
    })
    .await
    .expect("joined");
    assert!(!rendered.contains("incident="), "{rendered}");
    let value = |series: &str| {
        rendered
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .map(|v| v.trim().parse::<i64>().expect("number"))
    };
    (
        value("ombud_breach_incidents_open{clock=\"running\"}").unwrap_or(0),
        value("ombud_breach_notice_due_seconds{of=\"soonest\"}"),
    )
}

async fn customers_are_told(app: &TestApp) {
    let (acme, acme_admin) = app.tenant_with_admin("Acme").await;
    let (globex, globex_admin) = app.tenant_with_admin("Globex").await;
    for n in 0..3 {
        person(app, &acme_admin, None, &format!("buyer{n}@acme.example")).await;
    }
    // Acme's service contact is a person of the operator's own tenant.
    let contact = person(app, &app.admin_key, None, "it@acme.example").await;
    let added = app
        .post(
            &format!("/api/v1/tenants/{acme}/contacts"),
            &app.admin_key,
            json!({ "subject": contact }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);

    // Hour 71: on time.
    let on_time = incident(app, "Replica exposed", 71, Some(&acme)).await;
    let draft = app
        .get(
            &format!("/api/v1/incidents/{on_time}/notifications/draft?party=customers"),
            &app.admin_key,
        )
        .await;
    assert_eq!(draft.status, 200, "{:?}", draft.body);
    let drafts = draft.body["drafts"].as_array().expect("drafts");
    assert_eq!(drafts.len(), 1, "Acme's data only: Globex holds no one");
    assert_eq!(drafts[0]["tenant"], acme);
    let items: Vec<&str> = drafts[0]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["item"].as_str().expect("item"))
        .collect();
    assert_eq!(
        items,
        vec![
            "nature",
            "subjects",
            "records",
            "contact",
            "consequences",
            "measures"
        ]
    );
    assert_eq!(drafts[0]["missing"], json!(["consequences", "measures"]));
    assert!(
        drafts[0]["items"][1]["text"]
            .as_str()
            .expect("text")
            .starts_with("About 3 people")
    );
    let not_reached = app
        .post(
            &format!("/api/v1/incidents/{on_time}/notifications"),
            &app.admin_key,
            json!({ "party": "customers", "tenants": [globex] }),
        )
        .await;
    assert_eq!(
        (not_reached.status, not_reached.body["field"].as_str()),
        (422, Some("tenants")),
        "{:?}",
        not_reached.body
    );
    let sent = app
        .post(
            &format!("/api/v1/incidents/{on_time}/notifications"),
            &app.admin_key,
            json!({ "party": "customers" }),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let given = &sent.body["incident"]["notifications"][0];
    assert_eq!(given["party"], "customer");
    assert_eq!(given["tenant"], acme);
    assert_eq!(given["phase"], 1);
    assert_eq!(given["recipients"], 1);
    assert_eq!(given["late"], false);
    assert_eq!(given["against_deadline"], "1 h 0 min before the deadline");
    assert_eq!(
        sent.body["incident"]["time_left"],
        "notified 1 h 0 min before the deadline"
    );
    assert_eq!(sent.body["incident"]["overdue"], false);
    // The notice went through the outbox with every item, and is in the ledger.
    let mails = outbox(app).await;
    let mail = mails
        .iter()
        .find(|m| m.template == "notice:breach")
        .expect("the notification was mailed");
    assert_eq!(mail.to.expose(), "it@acme.example");
    assert!(
        mail.subject
            .starts_with("Personal data breach notification: Replica exposed")
    );
    for heading in [
        "Nature of the breach",
        "approximate number of people",
        "approximate number of records",
        "Contact point",
        "Likely consequences",
        "Measures taken or proposed",
    ] {
        assert!(mail.body.contains(heading), "{heading} in {}", mail.body);
    }
    let notices = app.get("/api/v1/notices", &app.admin_key).await;
    assert_eq!(notices.body["notices"][0]["kind"], "breach");
    assert_eq!(notices.body["notices"][0]["incident"], on_time);

    // A second phase after the assessment: the measures no longer missing.
    let assessed = app
        .post(
            &format!("/api/v1/incidents/{on_time}/assessment"),
            &app.admin_key,
            json!({ "measures": "The replica was taken offline and credentials rotated." }),
        )
        .await;
    assert_eq!(assessed.status, 200, "{:?}", assessed.body);
    app.clock.advance(SignedDuration::from_hours(2));
    let again = app
        .post(
            &format!("/api/v1/incidents/{on_time}/notifications"),
            &app.admin_key,
            json!({ "party": "customers" }),
        )
        .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.body["incident"]["notifications"][1]["phase"], 2);
    assert_eq!(
        again.body["incident"]["notifications"][1]["missing"],
        json!(["consequences"])
    );
    let phase_two = &again.body["incident"]["notifications"][1];
    assert_eq!(
        (
            phase_two["late"].as_bool(),
            phase_two["against_deadline"].as_str()
        ),
        (Some(false), Some("1 h 0 min after the deadline")),
        "a further phase after an on-time first one is not late (Art. 33(4)) and needs no reasons"
    );
    app.clock.advance(SignedDuration::from_hours(-2));
    let timeline = app
        .get(&format!("/api/v1/incidents/{on_time}"), &app.admin_key)
        .await;
    let kinds: Vec<&str> = timeline.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["open", "scope", "notify", "assess", "notify"]);

    // Hour 73: late. Without the reasons for the delay it is refused and nothing is sent.
    let late = incident(app, "Replica exposed again", 73, Some(&acme)).await;
    let refused = app
        .post(
            &format!("/api/v1/incidents/{late}/notifications"),
            &app.admin_key,
            json!({ "party": "customers" }),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("delay_reason")),
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .expect("detail")
            .contains("1 h 0 min after the deadline")
    );
    assert!(outbox(app).await.is_empty(), "nothing was sent");
    assert_eq!(
        gauges(app).await,
        (1, Some(-3600)),
        "only the late one runs"
    );
    let flagged = app
        .post(
            &format!("/api/v1/incidents/{late}/notifications"),
            &app.admin_key,
            json!({ "party": "customers", "delay_reason": "The exposure was found in a weekend log review." }),
        )
        .await;
    assert_eq!(flagged.status, 201, "{:?}", flagged.body);
    let given = &flagged.body["incident"]["notifications"][0];
    assert_eq!(
        (given["late"].as_bool(), given["against_deadline"].as_str()),
        (Some(true), Some("1 h 0 min after the deadline"))
    );
    assert_eq!(
        flagged.body["incident"]["time_left"],
        "notified 1 h 0 min after the deadline"
    );
    assert!(
        flagged.body["sent"][0]["text"]
            .as_str()
            .expect("text")
            .contains("Reasons for the delay")
    );
    assert_eq!(
        gauges(app).await,
        (0, None),
        "notified incidents leave the gauge"
    );

    // Reaching two customers and the operator's own contacts (its controller data), notice is
    // given once both customers and the authority are told: the clock runs on after the first
    // customer, and after the second.
    person(app, &globex_admin, None, "buyer@globex.example").await;
    let both = incident(app, "Shared replica exposed", 71, None).await;
    let first = app
        .post(
            &format!("/api/v1/incidents/{both}/notifications"),
            &app.admin_key,
            json!({ "party": "customers", "tenants": [acme] }),
        )
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(
        first.body["incident"]["time_left"],
        "1 h 0 min left; 1 affected customer and the authority not yet told"
    );
    assert_eq!(gauges(app).await.0, 1, "the clock still runs");
    let second = app
        .post(
            &format!("/api/v1/incidents/{both}/notifications"),
            &app.admin_key,
            json!({ "party": "customers", "tenants": [globex] }),
        )
        .await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    assert_eq!(
        second.body["incident"]["time_left"],
        "1 h 0 min left; the authority not yet told"
    );
    assert_eq!(gauges(app).await.0, 1, "Art. 33(1) is owed");
    let filed = app
        .post(
            &format!("/api/v1/incidents/{both}/authority"),
            &app.admin_key,
            json!({ "reference": "DPO-2026-17" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    assert_eq!(
        filed.body["time_left"],
        "notified 1 h 0 min before the deadline"
    );
    assert_eq!(gauges(app).await, (0, None));

    // The operator's own data was not reached: the authority and the people are the
    // customers' to tell. The invoicing policy does not tell people directly anyway.
    for party in ["authority", "subjects"] {
        let draft = app
            .get(
                &format!("/api/v1/incidents/{late}/notifications/draft?party={party}"),
                &app.admin_key,
            )
            .await;
        assert_eq!(
            (draft.status, draft.body["field"].as_str()),
            (422, Some("party")),
            "{party}: {:?}",
            draft.body
        );
    }
    for (body, field) in [
        (json!({ "party": "press" }), "party"),
        (json!({ "party": "authority" }), "party"),
        (
            json!({ "party": "customers", "tenants": ["nope"] }),
            "tenants",
        ),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/incidents/{late}/notifications"),
                &app.admin_key,
                body.clone(),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let unknown = app
        .post(
            &format!("/api/v1/incidents/{late}/notifications"),
            &app.admin_key,
            json!({ "party": "customers", "urgent": true }),
        )
        .await;
    assert!(
        unknown.status == 400 || unknown.status == 422,
        "{:?}",
        unknown.body
    );
    let press = app
        .get(
            &format!("/api/v1/incidents/{late}/notifications/draft?party=press"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        (press.status, press.body["field"].as_str()),
        (422, Some("party"))
    );
    let empty = app
        .post(
            &format!("/api/v1/incidents/{late}/assessment"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(
        (empty.status, empty.body["field"].as_str()),
        (422, Some("measures"))
    );
    let given = app
        .get(&format!("/api/v1/incidents/{late}"), &app.admin_key)
        .await;
    assert_eq!(
        given.body["notifications"]
            .as_array()
            .expect("notifications")
            .len(),
        1,
        "refusals added no notification"
    );
    let auditor = app.key(&app.admin_key, "auditor").await;
    assert_eq!(
        app.get(
            &format!("/api/v1/incidents/{late}/notifications/draft?party=customers"),
            &auditor
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/incidents/{late}/notifications"),
            &auditor,
            json!({ "party": "customers" })
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/incidents/{late}/notifications/draft?party=customers"),
            &acme_admin
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn customers_are_told_on_sqlite() {
    customers_are_told(&spawn_app().await).await;
}

#[tokio::test]
async fn customers_are_told_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    customers_are_told(&spawn_app_on_postgres(&url).await).await;
}

/// The managed-ERP example tells people and the authority itself: its own customers' data.
async fn people_and_the_authority_are_told(app: &TestApp) {
    let mut people = vec![];
    for n in 0..4 {
        people.push(person(app, &app.admin_key, None, &format!("user{n}@example.org")).await);
    }
    let id = incident(app, "Mailbox compromise", 10, None).await;
    let draft = app
        .get(
            &format!("/api/v1/incidents/{id}/notifications/draft?party=authority"),
            &app.admin_key,
        )
        .await;
    assert_eq!(draft.status, 200, "{:?}", draft.body);
    let text = draft.body["drafts"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("To "), "{text}");
    assert!(
        draft.body["drafts"][0]["items"][1]["text"]
            .as_str()
            .expect("subjects")
            .starts_with("About 4 people")
    );
    let notifications = format!("/api/v1/incidents/{id}/notifications");
    let notify_people = || {
        app.post(
            &notifications,
            &app.admin_key,
            json!({ "party": "subjects" }),
        )
    };
    // Not before the consequences and the measures are known (Art. 34(2)).
    let early = notify_people().await;
    assert_eq!(
        (early.status, early.body["field"].as_str()),
        (422, Some("party")),
        "{:?}",
        early.body
    );
    assert!(
        early.body["detail"]
            .as_str()
            .expect("detail")
            .contains("consequences")
    );
    let assessed = app
        .post(
            &format!("/api/v1/incidents/{id}/assessment"),
            &app.admin_key,
            json!({ "consequences": "Someone may read your invoices and contact details.", "measures": "Passwords were reset and the mailbox rules removed." }),
        )
        .await;
    assert_eq!(assessed.status, 200, "{:?}", assessed.body);
    let told = notify_people().await;
    assert_eq!(told.status, 201, "{:?}", told.body);
    assert_eq!(told.body["incident"]["notifications"][0]["recipients"], 4);
    assert!(
        told.body["incident"]["time_left"]
            .as_str()
            .expect("time left")
            .ends_with("; the authority not yet told"),
        "telling the people does not stop the clock while the authority is owed: {:?}",
        told.body["incident"]["time_left"]
    );
    let items: Vec<&str> = told.body["sent"][0]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["item"].as_str().expect("item"))
        .collect();
    assert_eq!(
        items,
        vec!["nature", "contact", "consequences", "measures"],
        "Art. 34(2)"
    );
    let received = app
        .get(
            &format!("/api/v1/subjects/{}/notices", people[0]),
            &app.admin_key,
        )
        .await;
    assert_eq!(received.body["notices"][0]["notice"]["kind"], "breach");
    let filed = app
        .post(
            &format!("/api/v1/incidents/{id}/authority"),
            &app.admin_key,
            json!({ "reference": "CASE-2026-0042" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let given = &filed.body["notifications"][1];
    assert_eq!(
        (
            given["party"].as_str(),
            given["reference"].as_str(),
            given["late"].as_bool()
        ),
        (Some("authority"), Some("CASE-2026-0042"), Some(false))
    );
    for (body, field) in [
        (json!({ "reference": " " }), "reference"),
        (
            json!({ "reference": "X", "filed_at": "2099-01-01T00:00:00Z" }),
            "filed_at",
        ),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/incidents/{id}/authority"),
                &app.admin_key,
                body.clone(),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let customers = app
        .get(
            &format!("/api/v1/incidents/{id}/notifications/draft?party=customers"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        (customers.status, customers.body["field"].as_str()),
        (422, Some("party")),
        "no customer's data: {:?}",
        customers.body
    );
}

#[tokio::test]
async fn people_and_the_authority_are_told_on_sqlite() {
    people_and_the_authority_are_told(&spawn_app_with(ERP_POLICY).await).await;
}

#[tokio::test]
async fn people_and_the_authority_are_told_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    people_and_the_authority_are_told(&spawn_app_on_postgres_with(&url, ERP_POLICY).await).await;
}

/// Art. 33(1): a breach of the operator's own data is notified to the authority unless the DPO
/// records, with reasons (Art. 33(5)), that it is unlikely to result in a risk; until one or the
/// other the clock runs and the incident cannot be closed.
async fn the_authority_is_owed_unless_the_risk_is_unlikely(app: &TestApp) {
    for n in 0..2 {
        person(app, &app.admin_key, None, &format!("staff{n}@example.org")).await;
    }
    let id = incident(app, "Laptop lost", 10, None).await;
    let shown = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await;
    assert_eq!(
        shown.body["time_left"],
        "62 h 0 min left; the authority not yet told"
    );
    let close = format!("/api/v1/incidents/{id}/close");
    let refused = app.post(&close, &app.admin_key, json!({})).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("the authority") && detail.contains("unlikely"),
        "{detail}"
    );
    let assess = format!("/api/v1/incidents/{id}/assessment");
    for (body, field) in [
        (json!({ "risk": "likely" }), "risk"),
        (json!({ "risk": "unlikely" }), "reasons"),
        (json!({ "risk": "unlikely", "reasons": "  " }), "reasons"),
    ] {
        let reply = app.post(&assess, &app.admin_key, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let unchanged = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await;
    assert!(
        unchanged.body["risk_unlikely"].is_null(),
        "nothing recorded"
    );
    assert_eq!(gauges(app).await.0, 1, "the clock runs");

    let reasons =
        "The laptop's disk is fully encrypted and it was locked; the key never left the company.";
    let assessed = app
        .post(
            &assess,
            &app.admin_key,
            json!({ "risk": "unlikely", "reasons": reasons }),
        )
        .await;
    assert_eq!(assessed.status, 200, "{:?}", assessed.body);
    assert_eq!(assessed.body["risk_unlikely"]["reasons"], reasons);
    assert!(
        assessed.body["risk_unlikely"]["by"]
            .as_str()
            .expect("by")
            .starts_with("key:")
    );
    assert_eq!(
        assessed.body["time_left"],
        "no notification owed: recorded as unlikely to result in a risk to people"
    );
    assert_eq!(gauges(app).await.0, 0, "the clock stopped");
    app.clock.advance(SignedDuration::from_hours(72));
    let later = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await;
    assert_eq!(later.body["overdue"], false);
    let closed = app.post(&close, &app.admin_key, json!({})).await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
}

#[tokio::test]
async fn the_authority_is_owed_unless_the_risk_is_unlikely_on_sqlite() {
    the_authority_is_owed_unless_the_risk_is_unlikely(&spawn_app_with(ERP_POLICY).await).await;
}

#[tokio::test]
async fn the_authority_is_owed_unless_the_risk_is_unlikely_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    the_authority_is_owed_unless_the_risk_is_unlikely(
        &spawn_app_on_postgres_with(&url, ERP_POLICY).await,
    )
    .await;
}

/// Art. 34(3): the DPO records on which ground the people concerned need not be told, with the
/// reasons; a disproportionate effort needs the public communication made instead.
async fn an_art_34_3_exemption_is_recorded_with_its_ground_and_reasons(app: &TestApp) {
    let id = incident(app, "Backup tape lost", 10, None).await;
    let assess = format!("/api/v1/incidents/{id}/assessment");
    for (body, field) in [
        (json!({ "subjects_exempt": "hidden" }), "subjects_exempt"),
        (
            json!({ "subjects_exempt": "unintelligible" }),
            "exemption_reasons",
        ),
        (
            json!({ "subjects_exempt": "disproportionate", "exemption_reasons": "About 40,000 people, no current addresses." }),
            "public_communication",
        ),
    ] {
        let reply = app.post(&assess, &app.admin_key, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let unchanged = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await;
    assert!(
        unchanged.body["subjects_exempt"].is_null(),
        "nothing recorded"
    );
    let reasons = "The tape was encrypted with AES-256; the key is held apart in an HSM.";
    let assessed = app
        .post(
            &assess,
            &app.admin_key,
            json!({ "subjects_exempt": "unintelligible", "exemption_reasons": reasons }),
        )
        .await;
    assert_eq!(assessed.status, 200, "{:?}", assessed.body);
    assert_eq!(assessed.body["subjects_exempt"]["ground"], "unintelligible");
    assert_eq!(assessed.body["subjects_exempt"]["reasons"], reasons);
    // A later assessment of the measures leaves the exemption as recorded.
    let again = app
        .post(
            &assess,
            &app.admin_key,
            json!({ "measures": "Tapes now travel in locked cases." }),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["subjects_exempt"]["ground"], "unintelligible");
}

#[tokio::test]
async fn an_art_34_3_exemption_is_recorded_on_sqlite() {
    an_art_34_3_exemption_is_recorded_with_its_ground_and_reasons(
        &spawn_app_with(ERP_POLICY).await,
    )
    .await;
}

#[tokio::test]
async fn an_art_34_3_exemption_is_recorded_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    an_art_34_3_exemption_is_recorded_with_its_ground_and_reasons(
        &spawn_app_on_postgres_with(&url, ERP_POLICY).await,
    )
    .await;
}
