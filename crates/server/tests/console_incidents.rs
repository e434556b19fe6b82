//! The console's breach register over HTTP: an incident opened with its awareness time typed in
//! the controller's zone (a time the clocks skip refused), its clock on the page, the draft to
//! the authority read before anything is sent, the assessment (the Art. 33(5) reasons
//! required), the authority's filing recorded, the incident closed and then left as it is;
//! auditors read, agents are refused, forged forms are refused — on SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, csrf_in, get, location, page_of, post, ready};
use common::{TestApp, spawn_app};
use ombud_store::model::Role;

async fn incidents(app: &TestApp) {
    // The day after the autumn change in Helsinki.
    app.clock.set("2026-10-26T12:00:00Z".parse().expect("time"));
    let operator = app.operator().await;
    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let tenant = operator.to_string();

    let (status, register) = page_of(app, "/console/incidents", &dpo).await;
    assert_eq!(status, 200, "{register}");
    assert!(register.contains("No incident is in the register"));
    let csrf = csrf_in(&register);
    assert_eq!(
        get(app, "/console/incidents", Some(&agent)).await.status(),
        403
    );

    // A time the clocks skip in Helsinki is refused, with what was typed kept.
    let skipped = post(
        app,
        "/console/incidents",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("title", "Lost laptop"),
            ("description", "A laptop with an export was stolen."),
            ("aware_at", "2026-03-29T03:30"),
            ("occurred_at", ""),
        ],
    )
    .await;
    assert_eq!(skipped.status(), 422);
    let skipped = skipped.text().await.expect("page");
    assert!(
        skipped.contains("does not exist in Europe/Helsinki"),
        "{skipped}"
    );
    assert!(
        skipped.contains("Lost laptop"),
        "the form keeps what was typed"
    );
    let forged = post(
        app,
        "/console/incidents",
        "https://evil.example",
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("title", "x"),
            ("description", "y"),
        ],
    )
    .await;
    assert_eq!(forged.status(), 403);

    // Opened with the awareness time of the autumn fold: the earlier instant, 00:30 UTC.
    let opened = post(
        app,
        "/console/incidents",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("title", "Lost laptop"),
            ("description", "A laptop with an export was stolen."),
            ("aware_at", "2026-10-25T03:30"),
            ("occurred_at", ""),
        ],
    )
    .await;
    assert_eq!(opened.status(), 303);
    let path = location(&opened);
    assert!(
        path.starts_with(&format!("/console/incidents/{operator}/")),
        "{path}"
    );
    let listed = app.get("/api/v1/incidents", &app.admin_key).await;
    assert_eq!(
        listed.body["incidents"][0]["aware_at"],
        "2026-10-25T00:30:00Z"
    );
    assert_eq!(
        listed.body["incidents"][0]["deadline_at"],
        "2026-10-28T00:30:00Z"
    );
    let (status, page) = page_of(app, &path, &dpo).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("25 October 2026, 03:30 EEST"),
        "awareness in the zone, named: {page}"
    );
    assert!(
        page.contains("28 October 2026, 02:30 EET"),
        "the deadline after the change: {page}"
    );

    // The overview shows the clock running, to the DPO and the auditor alike.
    for who in [&dpo, &auditor] {
        let (_, overview) = page_of(app, "/console", who).await;
        assert!(
            overview.contains("Breach clocks running") && overview.contains("Lost laptop"),
            "{overview}"
        );
        assert!(overview.contains(&path), "it links to the incident");
    }

    // The draft to the authority, read before anything is sent.
    let (status, drafted) = page_of(app, &format!("{path}/draft?party=authority"), &dpo).await;
    assert_eq!(status, 200, "{drafted}");
    assert!(drafted.contains("class=\"draft\""));
    let (status, _) = page_of(app, &format!("{path}/draft?party=everyone"), &dpo).await;
    assert_eq!(status, 422);

    // The assessment: "unlikely" needs its reasons (Art. 33(5)).
    let bare = post(
        app,
        &format!("{path}/assess"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("risk", "unlikely"),
            ("reasons", ""),
        ],
    )
    .await;
    assert_eq!(bare.status(), 422);
    let assessed = post(
        app,
        &format!("{path}/assess"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("consequences", "None expected."),
            ("measures", "The disk was encrypted; the key was revoked."),
            ("risk", ""),
            ("reasons", ""),
        ],
    )
    .await;
    assert_eq!(assessed.status(), 303);
    // Art. 34(3)(c): a public communication instead of telling each person — named, or refused.
    let unnamed = post(
        app,
        &format!("{path}/assess"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("subjects_exempt", "disproportionate"),
            ("exemption_reasons", "Thousands of stale addresses."),
            ("public_communication", ""),
        ],
    )
    .await;
    assert_eq!(unnamed.status(), 422);
    let exempt = post(
        app,
        &format!("{path}/assess"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("subjects_exempt", "disproportionate"),
            ("exemption_reasons", "Thousands of stale addresses."),
            (
                "public_communication",
                "A notice on the service status page, 26 October.",
            ),
        ],
    )
    .await;
    assert_eq!(exempt.status(), 303);
    let (_, page) = page_of(app, &path, &dpo).await;
    assert!(
        page.contains("not told, Art. 34(3) disproportionate"),
        "{page}"
    );

    // The authority's filing, then closing; a closed incident stays as it is.
    let filed = post(
        app,
        &format!("{path}/authority"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("reference", "TSV-2026-117"),
            ("filed_at", ""),
            ("delay_reason", ""),
        ],
    )
    .await;
    assert_eq!(
        filed.status(),
        303,
        "{}",
        filed.text().await.unwrap_or_default()
    );
    let (_, page) = page_of(app, &path, &auditor).await;
    assert!(page.contains("TSV-2026-117"), "{page}");
    assert!(
        !page.contains("Handle it"),
        "an auditor reads and acts on nothing"
    );
    let closed = post(
        app,
        &format!("{path}/close"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("measures", "The key was revoked."),
        ],
    )
    .await;
    assert_eq!(closed.status(), 303);
    let again = post(
        app,
        &format!("{path}/close"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("tenant", &tenant), ("measures", "")],
    )
    .await;
    assert_eq!(again.status(), 422);
    let (_, page) = page_of(app, &path, &dpo).await;
    assert!(page.contains("closed"));
    for step in ["open", "assess", "close"] {
        assert!(
            page.contains(&format!("{step} by user:")),
            "{step} in the timeline: {page}"
        );
    }
}

#[tokio::test]
async fn the_console_keeps_the_breach_register_on_sqlite() {
    let app = spawn_app().await;
    incidents(&app).await;
}

#[tokio::test]
async fn the_console_keeps_the_breach_register_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    incidents(&app).await;
}
