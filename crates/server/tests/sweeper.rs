//! The sweeper against the invoicing example: what outlived every purpose goes, what a running
//! contract, a legal obligation, a pending review or a restriction keeps stays, and a dry run
//! changes nothing.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_app::sweeper::{Removal, Sweep};
use ombud_core::access::DataRole;
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::audit::{AuditFilter, Verification};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewEvent, NewRecord, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

fn at(text: &str) -> Timestamp {
    text.parse().expect("time")
}

struct World {
    store: SqliteStore,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(
            &dir.path().join("ombud.db"),
            &MasterKey::generate().expect("key"),
        )
        .expect("store");
        let tenant = store
            .create_tenant("Laskuri", true, &Actor::Cli, at("2023-01-01T00:00:00Z"))
            .expect("tenant")
            .id;
        World {
            store,
            tenant,
            _dir: dir,
        }
    }

    fn person(
        &self,
        email: &str,
        records: &[(&str, &[&str], &str)],
        events: &[(EventKind, &str)],
    ) -> SubjectId {
        let now = at("2024-01-01T00:00:00Z");
        let subject = self
            .store
            .create_subject(
                self.tenant,
                &[Identity::parse(IdentityKind::Email, email).expect("email")],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        let records: Vec<NewRecord> = records
            .iter()
            .map(|(category, purposes, collected)| NewRecord {
                id: None,
                subject,
                category: (*category).into(),
                purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
                source: "subject".into(),
                collected_at: at(collected),
                value: Secret::new("value"),
            })
            .collect();
        self.store
            .put_records(self.tenant, &records, &Actor::Cli, now)
            .expect("records");
        for (kind, when) in events {
            self.store
                .add_event(
                    self.tenant,
                    subject,
                    &NewEvent {
                        id: None,
                        kind: *kind,
                        purpose: None,
                        occurred_at: at(when),
                        channel: None,
                        policy_version: None,
                    },
                    &Actor::Cli,
                    now,
                )
                .expect("event");
        }
        subject
    }

    fn sweep(&self, dry_run: bool) -> (ombud_app::sweeper::SweepReport, Vec<Removal>) {
        let policy = ombud_policy::check(POLICY).policy.expect("policy");
        let tz = TimeZone::get(&policy.controller.time_zone).expect("zone");
        let mut removals = vec![];
        let report = Sweep {
            store: &self.store,
            policy: &policy,
            time_zone: &tz,
            tenant: self.tenant,
            data_role: DataRole::Controller,
            now: at("2026-03-01T10:00:00Z"),
            dry_run,
        }
        .run(|r| removals.push(r.clone()))
        .expect("sweep");
        (report, removals)
    }

    fn categories(&self, subject: SubjectId) -> Vec<String> {
        let mut categories: Vec<String> = self
            .store
            .records(self.tenant, subject)
            .map(|records| records.into_iter().map(|r| r.category).collect())
            .unwrap_or_default();
        categories.sort();
        categories
    }
}

#[test]
fn the_sweeper_removes_what_outlived_every_purpose_and_nothing_else() {
    let world = World::new();
    use EventKind::*;
    // Contract ended in January 2025: contact data went 180 days later; the invoice stays for
    // the accounting law (six years from the end of 2024).
    let former = world.person(
        "former@example.fi",
        &[
            (
                "user.contact.phone_number",
                &["service-delivery"],
                "2024-02-01T10:00:00Z",
            ),
            (
                "user.financial",
                &["invoicing", "accounting"],
                "2024-06-01T10:00:00Z",
            ),
        ],
        &[
            (ContractStart, "2024-01-01T00:00:00Z"),
            (ContractEnd, "2025-01-10T00:00:00Z"),
        ],
    );
    // Still a customer: nothing goes.
    let current = world.person(
        "current@example.fi",
        &[(
            "user.contact.phone_number",
            &["service-delivery"],
            "2024-02-01T10:00:00Z",
        )],
        &[(ContractStart, "2024-01-01T00:00:00Z")],
    );
    // Security logs only, older than two years: the whole subject goes.
    let visitor = world.person(
        "visitor@example.fi",
        &[
            (
                "user.device.ip_address",
                &["security"],
                "2023-06-01T10:00:00Z",
            ),
            (
                "user.device.ip_address",
                &["security"],
                "2024-01-15T10:00:00Z",
            ),
        ],
        &[],
    );
    // A prospect past its review date (15 February) but within the month's grace: kept, and
    // counted as due for review.
    let prospect = world.person(
        "prospect@example.fi",
        &[("user.contact.email", &["prospects"], "2024-05-01T10:00:00Z")],
        &[(LastInteraction, "2025-08-15T10:00:00Z")],
    );
    // A prospect nobody reviewed, due on 1 November 2024: a month later it went, as the
    // policy's `then_if_unreviewed` default says.
    let forgotten = world.person(
        "forgotten@example.fi",
        &[("user.contact.email", &["prospects"], "2024-05-01T10:00:00Z")],
        &[],
    );
    // Same as `former`, but the person asked for restriction: kept whatever the rules say.
    let restricted = world.person(
        "restricted@example.fi",
        &[(
            "user.contact.phone_number",
            &["service-delivery"],
            "2024-02-01T10:00:00Z",
        )],
        &[
            (ContractStart, "2024-01-01T00:00:00Z"),
            (ContractEnd, "2025-01-10T00:00:00Z"),
            (Restriction, "2025-02-01T00:00:00Z"),
        ],
    );

    let (planned, listed) = world.sweep(true);
    assert_eq!(planned.records, 4, "{planned:?}");
    assert_eq!(listed.len(), 4);
    assert_eq!(
        world.categories(former).len(),
        2,
        "a dry run removes nothing"
    );
    assert_eq!(world.categories(visitor).len(), 2);

    // Everything was written on 2024-01-01; the log is kept 2 years ([audit] keep), the sweep
    // runs on 2026-03-01: those entries go, and the dry run counted them without pruning.
    let written = world
        .store
        .audit_prunable(world.tenant, at("2025-01-01T00:00:00Z"))
        .expect("count");
    assert!(written > 10, "{written}");
    assert_eq!(planned.audit_pruned, written);
    let (report, removals) = world.sweep(false);
    assert_eq!(report.audit_pruned, written);
    assert_eq!((report.records, report.subjects), (4, 2), "{report:?}");
    assert_eq!(report.by_rule.get("prospect-review"), Some(&1));
    assert_eq!(report.by_rule.get("customer-relationship"), Some(&1));
    assert_eq!(report.by_rule.get("security-logs"), Some(&2));
    assert_eq!(report.due_for_review, 1);
    assert_eq!(report.restricted, 1);
    let gone: Vec<(SubjectId, &str)> = removals
        .iter()
        .map(|r| (r.subject, r.rule.as_str()))
        .collect();
    assert!(gone.contains(&(former, "customer-relationship")));
    assert_eq!(
        removals
            .iter()
            .find(|r| r.subject == former)
            .map(|r| r.ended_at.to_string()),
        Some("2025-07-08T23:00:00Z".to_owned()),
        "180 days after 02:00 on 10 January in Helsinki: 02:00 summer time, 23:00 UTC the day before"
    );

    assert_eq!(world.categories(former), ["user.financial"]);
    assert_eq!(world.categories(current), ["user.contact.phone_number"]);
    assert!(
        !world
            .store
            .subject_exists(world.tenant, visitor)
            .expect("exists")
    );
    assert_eq!(world.categories(prospect), ["user.contact.email"]);
    assert!(
        !world
            .store
            .subject_exists(world.tenant, forgotten)
            .expect("exists")
    );
    assert_eq!(world.categories(restricted), ["user.contact.phone_number"]);

    let metrics = ombud_app::metrics::Metrics::new();
    ombud_app::jobs::count_sweep(&metrics, &[(world.tenant, report.clone())]);
    let rendered = metrics.render();
    assert!(
        rendered.contains("ombud_records_expired_total{rule=\"security-logs\"} 2"),
        "{rendered}"
    );
    assert!(
        rendered.contains(&format!("ombud_audit_entries_pruned_total {written}")),
        "{rendered}"
    );
    assert!(
        rendered.contains("ombud_records_review_overdue 1"),
        "{rendered}"
    );

    let (again, _) = world.sweep(false);
    assert_eq!(again.records, 0, "a second run finds nothing more");
    let audited = world
        .store
        .audit_entries(
            world.tenant,
            &AuditFilter {
                action: Some("records.expire".into()),
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    assert_eq!(audited.len(), 3, "one entry per subject the sweep touched");
    assert!(audited.iter().all(|e| e.actor == "system"));
    assert!(matches!(
        world.store.verify_audit(world.tenant).expect("verify"),
        Verification::Intact {
            pruned_through: Some(_),
            ..
        }
    ));
    assert_eq!(again.audit_pruned, 0);
}

#[test]
fn the_forecast_says_what_leaves_when_under_which_rule_and_removes_nothing() {
    let world = World::new();
    use EventKind::*;
    // Contract ended 1 February 2026: contact data leaves 180 days later, 31 July.
    let leaving = world.person(
        "leaving@example.fi",
        &[
            (
                "user.contact.phone_number",
                &["service-delivery"],
                "2024-02-01T10:00:00Z",
            ),
            (
                "user.contact.address",
                &["service-delivery"],
                "2024-02-01T10:00:00Z",
            ),
        ],
        &[(ContractEnd, "2026-02-01T08:00:00Z")],
    );
    // Security logs from 2024-04-01: two years end 1 April 2026, a month from now.
    world.person(
        "logged@example.fi",
        &[(
            "user.device.ip_address",
            &["security"],
            "2024-04-01T06:00:00Z",
        )],
        &[],
    );
    // Past their end already.
    world.person(
        "gone@example.fi",
        &[(
            "user.device.ip_address",
            &["security"],
            "2023-06-01T06:00:00Z",
        )],
        &[],
    );
    // A customer whose contract runs: kept with no end yet, and the forecast says why.
    world.person(
        "customer@example.fi",
        &[("user.contact.phone_number", &[], "2024-02-01T10:00:00Z")],
        &[(ContractStart, "2024-01-01T00:00:00Z")],
    );
    // A password stored for someone with no account ever recorded: no activity applies, so
    // the policy's fallback rule ends it 3 months after the last interaction (here, its
    // collection), on 10 May.
    world.person(
        "stray@example.fi",
        &[("user.authorization.password", &[], "2026-02-10T10:00:00Z")],
        &[],
    );
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let tz = TimeZone::get(&policy.controller.time_zone).expect("zone");
    let sweep = Sweep {
        store: &world.store,
        policy: &policy,
        time_zone: &tz,
        tenant: world.tenant,
        data_role: DataRole::Controller,
        now: at("2026-03-01T10:00:00Z"),
        dry_run: true,
    };
    let month = sweep.forecast(60).expect("forecast");
    assert_eq!(month.expired, 1);
    let rows: Vec<(String, &str, &str, u64)> = month
        .rows
        .iter()
        .map(|r| {
            (
                r.date.to_string(),
                r.category.as_str(),
                r.rule.as_str(),
                r.records,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(
            "2026-04-01".to_owned(),
            "user.device.ip_address",
            "security-logs",
            1
        )],
        "30 July is outside 60 days"
    );
    let no_end: Vec<_> = month
        .kept_with_no_end
        .iter()
        .map(|r| {
            (
                r.category.as_str(),
                r.reason.as_str(),
                r.purpose.as_deref(),
                r.records,
            )
        })
        .collect();
    assert_eq!(
        no_end,
        [(
            "user.contact.phone_number",
            "pending_event",
            Some("service-delivery"),
            1
        )]
    );
    assert!(
        month.kept_with_no_end[0]
            .explanation
            .contains("until the contract ends"),
        "{:?}",
        month.kept_with_no_end
    );
    let half_year = sweep.forecast(183).expect("forecast");
    assert_eq!(half_year.rows.len(), 4, "{:?}", half_year.rows);
    let stray: Vec<_> = half_year
        .rows
        .iter()
        .filter(|r| r.category == "user.authorization.password")
        .map(|r| (r.date.to_string(), r.rule.as_str(), r.purpose.as_str()))
        .collect();
    assert_eq!(
        stray,
        [(
            "2026-05-10".to_owned(),
            "no-purpose-left",
            "no-activity-applies"
        )]
    );
    let july: Vec<_> = half_year
        .rows
        .iter()
        .filter(|r| r.date.to_string() == "2026-07-31")
        .map(|r| {
            (
                r.category.as_str(),
                r.rule.as_str(),
                r.purpose.as_str(),
                r.action.as_str(),
            )
        })
        .collect();
    assert_eq!(
        july,
        [
            (
                "user.contact.address",
                "customer-relationship",
                "service-delivery",
                "delete"
            ),
            (
                "user.contact.phone_number",
                "customer-relationship",
                "service-delivery",
                "delete"
            ),
        ]
    );
    assert_eq!(
        world.categories(leaving).len(),
        2,
        "a forecast removes nothing"
    );
}
