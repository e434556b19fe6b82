//! The breach register over HTTP, on SQLite and PostgreSQL: the 72-hour clock from awareness
//! in every answer and in /metrics, who may open, read and close, bad input refused by field
//! with nothing stored, and a timeline that only grows.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres};
use jiff::SignedDuration;
use ombud_core::Clock;
use serde_json::json;

async fn register(app: &TestApp) {
    let service = app.key(&app.admin_key, "service").await;
    let auditor = app.key(&app.admin_key, "auditor").await;
    // The clock stands at 2026-03-01 10:00 UTC; the operator learned of it two hours ago.
    let opened = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({
                "title": "Export bucket readable",
                "description": "Invoice exports in a storage bucket could be read without a key.",
                "occurred_at": "2026-03-01T07:00:00Z",
                "aware_at": "2026-03-01T08:00:00Z",
                "categories": ["user.financial"],
            }),
        )
        .await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    assert_eq!(opened.body["deadline_at"], "2026-03-04T08:00:00Z");
    assert_eq!(opened.body["time_left"], "70 h 0 min left");
    assert_eq!(opened.body["overdue"], false);
    let id = opened.body["id"].as_str().expect("id").to_owned();

    // Mistakes are refused by field and store nothing.
    for (body, field) in [
        (json!({ "title": " ", "description": "x" }), "title"),
        (
            json!({ "title": "Leak\r\nBcc: all@example.com", "description": "x" }),
            "title",
        ),
        (
            json!({ "title": "t", "description": "x".repeat(10_001) }),
            "description",
        ),
        (
            json!({ "title": "t", "description": "x", "aware_at": "2026-03-02T10:00:00Z" }),
            "aware_at",
        ),
        (
            json!({ "title": "t", "description": "x", "aware_at": "2026-03-01T08:00:00Z", "occurred_at": "2026-03-01T09:00:00Z" }),
            "occurred_at",
        ),
        (
            json!({ "title": "t", "description": "x", "categories": ["user.horoscope"] }),
            "categories",
        ),
    ] {
        let reply = app
            .post("/api/v1/incidents", &app.admin_key, body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let reply = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({ "title": "t", "description": "x", "severity": "high" }),
        )
        .await;
    assert!(
        reply.status == 400 || reply.status == 422,
        "{:?}",
        reply.body
    );
    assert_eq!(
        app.post(
            "/api/v1/incidents",
            &service,
            json!({ "title": "t", "description": "x" })
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/incidents",
            &auditor,
            json!({ "title": "t", "description": "x" })
        )
        .await
        .status,
        403,
        "the auditor reads the register, it does not write it"
    );
    let listed = app.get("/api/v1/incidents", &auditor).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["incidents"].as_array().expect("list").len(), 1);

    // Another tenant cannot see it.
    let (_, other_admin) = app.tenant_with_admin("Other Oy").await;
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{id}"), &other_admin)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/v1/incidents", &other_admin).await.body["incidents"],
        json!([])
    );

    // The gauge counts down, and goes negative once the deadline passes.
    let metrics = ombud_app::metrics::Metrics::new();
    let store = std::sync::Arc::clone(&app.store);
    let now = app.clock.now();
    let metrics = tokio::task::spawn_blocking(move || {
        ombud_app::jobs::watch(store.as_ref(), &metrics, now).expect("watch");
        metrics
    })
    .await
    .expect("joined");
    let rendered = metrics.render();
    assert!(
        rendered.contains("ombud_breach_notice_due_seconds{of=\"soonest\"} 252000")
            && rendered.contains("ombud_breach_incidents_open{clock=\"running\"} 1")
            && !rendered.contains(&id.to_string()),
        "the soonest deadline, and no incident's id: {rendered}"
    );
    app.clock.advance(SignedDuration::from_hours(71));
    let late = app.get("/api/v1/incidents?open=true", &app.admin_key).await;
    assert_eq!(late.body["incidents"][0]["overdue"], true);
    assert_eq!(late.body["incidents"][0]["time_left"], "1 h 0 min overdue");

    let closed = app
        .post(
            &format!("/api/v1/incidents/{id}/close"),
            &app.admin_key,
            json!({ "measures": "Bucket made private; access logs reviewed." }),
        )
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert_eq!(
        closed.body["measures"],
        "Bucket made private; access logs reviewed."
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/incidents/{id}/close"),
            &app.admin_key,
            json!({})
        )
        .await
        .status,
        409
    );
    assert_eq!(
        app.get("/api/v1/incidents?open=true", &app.admin_key)
            .await
            .body["incidents"],
        json!([])
    );
    let detail = app.get(&format!("/api/v1/incidents/{id}"), &auditor).await;
    let steps: Vec<&str> = detail.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(steps, ["open", "close"]);
    let audit = app
        .get("/api/v1/audit?action=incident.open", &app.admin_key)
        .await;
    assert_eq!(audit.body["entries"].as_array().expect("entries").len(), 1);
}

#[tokio::test]
async fn the_breach_register_runs_the_clock_on_sqlite() {
    register(&spawn_app().await).await;
}

#[tokio::test]
async fn the_breach_register_runs_the_clock_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    register(&app).await;
    // The synchronous PostgreSQL client must not be dropped on a runtime thread.
    std::mem::forget(std::sync::Arc::clone(&app.store));
}

/// A key reads 5 of 50 people; the incident scoped to that key and window names exactly
/// those 5, per category, and nothing the key did outside the window or others did in it.
async fn scoping(app: &TestApp) {
    let writer = app.key(&app.admin_key, "service").await;
    let leaked = app
        .post(
            "/api/v1/keys",
            &app.admin_key,
            json!({ "name": "reporting", "role": "service" }),
        )
        .await;
    assert_eq!(leaked.status, 201, "{:?}", leaked.body);
    let (leaked_id, leaked_secret) = (
        leaked.body["id"].as_str().expect("id").to_owned(),
        leaked.body["secret"].as_str().expect("secret").to_owned(),
    );
    let mut people = vec![];
    for n in 0..50 {
        let created = app
            .post(
                "/api/v1/subjects",
                &writer,
                json!({ "identities": [{ "kind": "email", "value": format!("p{n}@example.fi") }] }),
            )
            .await;
        let id = created.body["id"].as_str().expect("id").to_owned();
        let written = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/subjects/{id}/records"),
                Some(&writer),
                None,
                Some(json!({ "records": [
                    { "category": "user.device.ip_address", "value": format!("192.0.2.{n}"), "purposes": ["security"] },
                ] })),
            )
            .await;
        assert_eq!(written.status, 200, "{:?}", written.body);
        people.push(id);
    }
    let read = |key: String, subject: String| async move {
        let reply = app
            .get(
                &format!("/api/v1/subjects/{subject}/records?purpose=security"),
                &key,
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    };
    // Before the window: one read by the leaked key that must not count.
    read(leaked_secret.clone(), people[40].clone()).await;
    app.clock.advance(SignedDuration::from_hours(2));
    let window_start = app.clock.now();
    for subject in &people[..5] {
        read(leaked_secret.clone(), subject.clone()).await;
    }
    // Another key reads someone else in the window: not this incident's.
    read(writer.clone(), people[30].clone()).await;
    app.clock.advance(SignedDuration::from_mins(30));

    let opened = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({ "title": "Reporting key leaked", "description": "The reporting service's key was published in a public repository." }),
        )
        .await;
    let id = opened.body["id"].as_str().expect("id").to_owned();
    let bad = app
        .post(
            &format!("/api/v1/incidents/{id}/scope"),
            &app.admin_key,
            json!({ "key": leaked_id, "from": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (422, Some("until")),
        "{:?}",
        bad.body
    );
    let bad = app
        .post(
            &format!("/api/v1/incidents/{id}/scope"),
            &app.admin_key,
            json!({ "key": "reporting", "from": window_start, "until": app.clock.now() }),
        )
        .await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (422, Some("key")));
    let unscoped = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await;
    assert_eq!(
        unscoped.body["impact"],
        serde_json::Value::Null,
        "refusals store nothing"
    );

    let scoped = app
        .post(
            &format!("/api/v1/incidents/{id}/scope"),
            &app.admin_key,
            json!({ "key": leaked_id, "from": window_start, "until": app.clock.now() }),
        )
        .await;
    assert_eq!(scoped.status, 200, "{:?}", scoped.body);
    let impact = &scoped.body["impact"];
    assert_eq!(impact["subjects"], 5, "{impact}");
    assert_eq!(impact["records"], 5);
    assert_eq!(impact["high_risk"], false);
    let tenants = impact["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0]["operator"], true);
    assert_eq!(
        tenants[0]["categories"],
        json!([{ "category": "user.device.ip_address", "subjects": 5, "records": 5 }])
    );
    assert_eq!(scoped.body["categories"], json!(["user.device.ip_address"]));
    let steps: Vec<String> = app
        .get(&format!("/api/v1/incidents/{id}"), &app.admin_key)
        .await
        .body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert_eq!(steps, ["open", "scope"]);

    // Scoped by data instead: everyone whose IP addresses were held in the window.
    for (body, field) in [
        (
            json!({ "from": window_start, "until": app.clock.now() }),
            "key",
        ),
        (
            json!({ "key": leaked_id, "categories": ["user.device.ip_address"], "from": window_start, "until": app.clock.now() }),
            "key",
        ),
        (
            json!({ "categories": ["user.horoscope"], "from": window_start, "until": app.clock.now() }),
            "categories",
        ),
        (
            json!({ "categories": ["user.device"], "tenants": [uuid::Uuid::now_v7().to_string()], "from": window_start, "until": app.clock.now() }),
            "tenants",
        ),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/incidents/{id}/scope"),
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
    let by_data = app
        .post(
            &format!("/api/v1/incidents/{id}/scope"),
            &app.admin_key,
            json!({ "categories": ["user.device"], "from": window_start, "until": app.clock.now() }),
        )
        .await;
    assert_eq!(by_data.status, 200, "{:?}", by_data.body);
    assert_eq!(by_data.body["impact"]["subjects"], 50);
    assert_eq!(by_data.body["impact"]["records"], 50);
    assert_eq!(by_data.body["scope"]["actor"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_incident_scoped_to_a_key_and_window_names_exactly_what_it_read_on_sqlite() {
    scoping(&spawn_app().await).await;
}

#[tokio::test]
async fn an_incident_scoped_to_a_key_and_window_names_exactly_what_it_read_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    scoping(&app).await;
    std::mem::forget(std::sync::Arc::clone(&app.store));
}

/// Assessments sent at once race on the incident's version: each either lands (200, one
/// timeline step) or loses to another (409, the client reads again); none is a server error,
/// and the timeline holds exactly the steps that were answered 200.
async fn racing_assessments(app: &TestApp) {
    let opened = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({ "title": "Laptop lost", "description": "A support laptop was lost." }),
        )
        .await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let path = format!(
        "/api/v1/incidents/{}/assessment",
        opened.body["id"].as_str().expect("id")
    );
    let assess = |n: u32| {
        app.post(
            &path,
            &app.admin_key,
            json!({ "consequences": format!("ì {n}") }),
        )
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (a, b, c, d, e, f) = tokio::join!(
            assess(1),
            assess(2),
            assess(3),
            assess(4),
            assess(5),
            assess(6)
        );
        for reply in [a, b, c, d, e, f] {
            assert!(
                reply.status == 200 || reply.status == 409,
                "{}: {:?}",
                reply.status,
                reply.body
            );
            statuses.push(reply.status);
        }
    }
    let landed = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        landed >= 4,
        "one of each round lands at least: {statuses:?}"
    );
    let detail = app
        .get(
            &format!(
                "/api/v1/incidents/{}",
                opened.body["id"].as_str().expect("id")
            ),
            &app.admin_key,
        )
        .await;
    let assessed = detail.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|s| s["kind"] == "assess")
        .count();
    assert_eq!(assessed, landed, "one step per assessment answered 200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_assessments_lose_with_a_conflict_not_a_server_error_on_sqlite() {
    racing_assessments(&spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_assessments_lose_with_a_conflict_not_a_server_error_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    racing_assessments(&app).await;
    std::mem::forget(std::sync::Arc::clone(&app.store));
}
