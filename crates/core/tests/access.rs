//! Purpose-bound access as a table: for each case the events recorded about a subject, the read
//! asked for, and the decision expected.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::access::{DataRole, decide};
use ombud_core::facts::{Event, EventKind, SubjectFacts};

const POLICY: &str = r#"
[notice]
last_updated = 2026-01-01

[controller]
name = "Esimerkki Oy"
address = "Testikatu 1, 00100 Helsinki, Finland"
country = "FI"
email = "privacy@esimerkki.example"
time_zone = "Europe/Helsinki"

[authority]
name = "Data Protection Ombudsman"
country = "FI"

[[subject]]
key = "customer"

[[category]]
key = "user.name"
[[category]]
key = "user.contact.email"
[[category]]
key = "user.financial"
[[category]]
key = "user.device.ip_address"

[[activity]]
id = "billing"
purpose = "Invoicing"
basis = "contract"
role = "controller"
subjects = ["customer"]
categories = ["user.name", "user.contact.email", "user.financial"]
sources = ["subject"]
retention = ["after-contract"]

[[activity]]
id = "accounting"
purpose = "Accounting records"
basis = "legal_obligation"
law = "Finnish Accounting Act (1336/1997)"
role = "controller"
subjects = ["customer"]
categories = ["user.financial"]
sources = ["subject"]
retention = ["accounting"]

[[activity]]
id = "newsletter"
purpose = "Newsletter"
basis = "consent"
withdrawal = "Unsubscribe link"
role = "controller"
subjects = ["customer"]
categories = ["user.contact.email"]
sources = ["subject"]
retention = ["until-withdrawn"]

[[activity]]
id = "b2b-marketing"
purpose = "B2B marketing"
basis = "legitimate_interests"
legitimate_interest = "Marketing to business contacts"
opt_out = true
role = "controller"
subjects = ["customer"]
categories = ["user.contact.email"]
sources = ["subject"]
retention = ["after-last-interaction"]

[[activity]]
id = "security"
purpose = "Security"
basis = "legitimate_interests"
legitimate_interest = "Keeping the service secure"
role = "controller"
subjects = ["customer"]
categories = ["user.device.ip_address"]
sources = ["service_use"]
retention = ["logs"]

[[activity]]
id = "legal-claims"
purpose = "Legal claims"
basis = "legitimate_interests"
legitimate_interest = "Defending legal claims"
restriction_exempt = true
role = "controller"
subjects = ["customer"]
categories = ["user.name", "user.contact.email"]
sources = ["subject"]
retention = ["after-contract"]

[[activity]]
id = "customer-data"
purpose = "Data our customers keep in the service"
role = "processor"
subjects = ["customer"]
categories = ["user.name", "user.contact.email"]
sources = ["customer"]
retention = ["after-contract"]

[[retention]]
id = "after-contract"
keep = "180 days"
after = "contract_end"

[[retention]]
id = "accounting"
keep = "6 years"
after = "collected"
law = "Finnish Accounting Act (1336/1997), chapter 2, section 10"
from_end_of_year = true

[[retention]]
id = "until-withdrawn"
keep = "0 days"
after = "consent_withdrawn"

[[retention]]
id = "after-last-interaction"
keep = "2 years"
after = "last_interaction"

[[retention]]
id = "logs"
keep = "2 years"
after = "collected"

[changes]
objection_window = "30 days"
"#;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn event(kind: EventKind, purpose: Option<&str>, when: &str) -> Event {
    Event {
        kind,
        purpose: purpose.map(str::to_owned),
        occurred_at: at(when),
    }
}

struct Case {
    name: &'static str,
    events: Vec<Event>,
    purpose: &'static str,
    category: &'static str,
    collected: &'static str,
    role: DataRole,
    now: &'static str,
    expect: &'static str,
}

fn outcome(case: &Case) -> String {
    let policy = ombud_policy::check(POLICY)
        .policy
        .expect("the test policy checks clean");
    let tz = TimeZone::get("Europe/Helsinki").expect("known zone");
    let facts = SubjectFacts::new(case.events.clone());
    let decision = decide(
        &policy,
        &facts,
        case.purpose,
        case.category,
        at(case.collected),
        case.role,
        at(case.now),
        &tz,
    );
    let reason = serde_json::to_value(&decision.reason).expect("serialisable");
    let code = reason["code"].as_str().unwrap_or_default().to_owned();
    if decision.allowed {
        format!(
            "allowed {}",
            decision
                .basis
                .map_or("-", |b| ombud_policy::model::Choice::as_str(b))
        )
    } else {
        format!("denied {code}")
    }
}

use EventKind::*;

fn cases() -> Vec<Case> {
    let contract = || event(ContractStart, None, "2024-01-01T00:00:00Z");
    let base = |name, events, purpose, category, now, expect| Case {
        name,
        events,
        purpose,
        category,
        collected: "2024-01-02T00:00:00Z",
        role: DataRole::Controller,
        now,
        expect,
    };
    vec![
        base(
            "consent given",
            vec![event(
                ConsentGiven,
                Some("newsletter"),
                "2025-01-01T00:00:00Z",
            )],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "allowed consent",
        ),
        base(
            "consent never given",
            vec![],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied no_consent",
        ),
        base(
            "consent for another purpose does not count",
            vec![event(
                ConsentGiven,
                Some("b2b-marketing"),
                "2025-01-01T00:00:00Z",
            )],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied no_consent",
        ),
        base(
            "consent withdrawn",
            vec![
                event(ConsentGiven, Some("newsletter"), "2025-01-01T00:00:00Z"),
                event(ConsentWithdrawn, Some("newsletter"), "2025-03-01T00:00:00Z"),
            ],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied consent_withdrawn",
        ),
        base(
            "consent given again after withdrawing",
            vec![
                event(ConsentGiven, Some("newsletter"), "2025-01-01T00:00:00Z"),
                event(ConsentWithdrawn, Some("newsletter"), "2025-03-01T00:00:00Z"),
                event(ConsentGiven, Some("newsletter"), "2025-04-01T00:00:00Z"),
            ],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "allowed consent",
        ),
        base(
            "a withdrawal recorded late counts from when it happened",
            vec![
                event(ConsentWithdrawn, Some("newsletter"), "2025-02-01T00:00:00Z"),
                event(ConsentGiven, Some("newsletter"), "2025-01-01T00:00:00Z"),
            ],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied consent_withdrawn",
        ),
        base(
            "a withdrawal dated in the future does not count yet",
            vec![
                event(ConsentGiven, Some("newsletter"), "2025-01-01T00:00:00Z"),
                event(ConsentWithdrawn, Some("newsletter"), "2025-09-01T00:00:00Z"),
            ],
            "newsletter",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "allowed consent",
        ),
        base(
            "objection to a legitimate-interest purpose",
            vec![
                contract(),
                event(Objection, Some("security"), "2025-01-01T00:00:00Z"),
            ],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "denied objected",
        ),
        base(
            "an objection to one purpose leaves the others",
            vec![
                contract(),
                event(Objection, Some("b2b-marketing"), "2025-01-01T00:00:00Z"),
            ],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "allowed legitimate_interests",
        ),
        base(
            "compelling grounds recorded after the objection let the purpose go on",
            vec![
                contract(),
                event(Objection, None, "2025-01-01T00:00:00Z"),
                event(
                    ObjectionOverridden,
                    Some("security"),
                    "2025-02-01T00:00:00Z",
                ),
            ],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "allowed legitimate_interests",
        ),
        base(
            "a new objection after the grounds stops it again until it is weighed",
            vec![
                contract(),
                event(Objection, None, "2025-01-01T00:00:00Z"),
                event(
                    ObjectionOverridden,
                    Some("security"),
                    "2025-02-01T00:00:00Z",
                ),
                event(Objection, Some("security"), "2025-03-01T00:00:00Z"),
            ],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "denied objected",
        ),
        base(
            "grounds for one purpose leave the objection standing for the others",
            vec![
                contract(),
                event(Objection, None, "2025-01-01T00:00:00Z"),
                event(
                    ObjectionOverridden,
                    Some("b2b-marketing"),
                    "2025-02-01T00:00:00Z",
                ),
            ],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "denied objected",
        ),
        base(
            "an objection naming no purpose covers every legitimate interest",
            vec![contract(), event(Objection, None, "2025-01-01T00:00:00Z")],
            "security",
            "user.device.ip_address",
            "2025-06-01T00:00:00Z",
            "denied objected",
        ),
        base(
            "an objection does not touch a legal obligation",
            vec![contract(), event(Objection, None, "2025-01-01T00:00:00Z")],
            "accounting",
            "user.financial",
            "2025-06-01T00:00:00Z",
            "allowed legal_obligation",
        ),
        base(
            "an opt-out stops direct marketing",
            vec![event(
                Unsubscribe,
                Some("b2b-marketing"),
                "2025-01-01T00:00:00Z",
            )],
            "b2b-marketing",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied unsubscribed",
        ),
        base(
            "restriction stops a contract purpose",
            vec![contract(), event(Restriction, None, "2025-01-01T00:00:00Z")],
            "billing",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied restricted",
        ),
        base(
            "restriction leaves legal claims",
            vec![contract(), event(Restriction, None, "2025-01-01T00:00:00Z")],
            "legal-claims",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "allowed legitimate_interests",
        ),
        base(
            "a lifted restriction no longer applies",
            vec![
                contract(),
                event(Restriction, None, "2025-01-01T00:00:00Z"),
                event(RestrictionLifted, None, "2025-02-01T00:00:00Z"),
            ],
            "billing",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "allowed contract",
        ),
        base(
            "a contract purpose needs a contract",
            vec![],
            "billing",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied no_contract",
        ),
        base(
            "a running contract",
            vec![contract()],
            "billing",
            "user.financial",
            "2025-06-01T00:00:00Z",
            "allowed contract",
        ),
        base(
            "after the contract, while its retention runs",
            vec![contract(), event(ContractEnd, None, "2025-01-01T00:00:00Z")],
            "billing",
            "user.financial",
            "2025-06-29T00:00:00Z",
            "allowed contract",
        ),
        base(
            "after the contract, once its retention ended",
            vec![contract(), event(ContractEnd, None, "2025-01-01T00:00:00Z")],
            "billing",
            "user.financial",
            "2025-06-30T00:00:00Z",
            "denied retention_ended",
        ),
        base(
            "billing data past its purpose stays readable for accounting",
            vec![contract(), event(ContractEnd, None, "2025-01-01T00:00:00Z")],
            "accounting",
            "user.financial",
            "2025-06-30T00:00:00Z",
            "allowed legal_obligation",
        ),
        base(
            "a category the purpose does not list",
            vec![contract()],
            "security",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied category_not_in_purpose",
        ),
        base(
            "a category beneath a listed one",
            vec![contract()],
            "billing",
            "user.financial.bank_account",
            "2025-06-01T00:00:00Z",
            "allowed contract",
        ),
        base(
            "a purpose the policy does not have",
            vec![contract()],
            "profiling",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied unknown_purpose",
        ),
        Case {
            role: DataRole::Processor,
            ..base(
                "data held for a customer read for our own purpose",
                vec![contract()],
                "billing",
                "user.contact.email",
                "2025-06-01T00:00:00Z",
                "denied role_mismatch",
            )
        },
        Case {
            role: DataRole::Processor,
            ..base(
                "data held for a customer read on its behalf",
                vec![contract()],
                "customer-data",
                "user.contact.email",
                "2025-06-01T00:00:00Z",
                "allowed -",
            )
        },
        base(
            "our own data read as if for a customer",
            vec![contract()],
            "customer-data",
            "user.contact.email",
            "2025-06-01T00:00:00Z",
            "denied role_mismatch",
        ),
        // 6 years from the end of 2020 in Helsinki: 2027-01-01T00:00+02:00 = 2026-12-31T22:00Z.
        Case {
            collected: "2020-03-01T12:00:00Z",
            ..base(
                "accounting data on the last day of its period",
                vec![],
                "accounting",
                "user.financial",
                "2026-12-31T21:59:59Z",
                "allowed legal_obligation",
            )
        },
        Case {
            collected: "2020-03-01T12:00:00Z",
            ..base(
                "accounting data once the period ends at midnight in Helsinki",
                vec![],
                "accounting",
                "user.financial",
                "2026-12-31T22:00:00Z",
                "denied retention_ended",
            )
        },
        Case {
            collected: "2022-01-01T00:00:00Z",
            ..base(
                "the last interaction restarts the clock",
                vec![event(LastInteraction, None, "2024-06-01T00:00:00Z")],
                "b2b-marketing",
                "user.contact.email",
                "2026-05-31T00:00:00Z",
                "allowed legitimate_interests",
            )
        },
        Case {
            collected: "2022-01-01T00:00:00Z",
            ..base(
                "two years after the last interaction",
                vec![event(LastInteraction, None, "2024-06-01T00:00:00Z")],
                "b2b-marketing",
                "user.contact.email",
                "2026-06-02T00:00:00Z",
                "denied retention_ended",
            )
        },
        Case {
            collected: "2022-01-01T00:00:00Z",
            ..base(
                "with no interaction recorded, collection is the last one",
                vec![],
                "b2b-marketing",
                "user.contact.email",
                "2024-01-02T00:00:00Z",
                "denied retention_ended",
            )
        },
        base(
            "after consent is withdrawn, its data may not be read even once",
            vec![
                event(ConsentGiven, Some("newsletter"), "2025-01-01T00:00:00Z"),
                event(ConsentWithdrawn, Some("newsletter"), "2025-03-01T00:00:00Z"),
            ],
            "newsletter",
            "user.contact.email",
            "2025-03-01T00:00:00Z",
            "denied consent_withdrawn",
        ),
    ]
}

#[test]
fn access_decisions_follow_the_rules_of_the_policy() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = outcome(&case);
        if got != case.expect {
            failures.push(format!(
                "{}: expected `{}`, got `{got}`",
                case.name, case.expect
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_reason_explains_itself_in_words() {
    let policy = ombud_policy::check(POLICY).policy.expect("clean");
    let facts = SubjectFacts::new(vec![event(
        ConsentWithdrawn,
        Some("newsletter"),
        "2025-03-01T00:00:00Z",
    )]);
    let tz = TimeZone::get("Europe/Helsinki").expect("known zone");
    let decision = decide(
        &policy,
        &facts,
        "newsletter",
        "user.contact.email",
        at("2025-01-01T00:00:00Z"),
        DataRole::Controller,
        at("2025-06-01T00:00:00Z"),
        &tz,
    );
    assert_eq!(
        decision.message(),
        "consent to `newsletter` was withdrawn at 2025-03-01T00:00:00Z"
    );
}

/// Art. 21(1): a blanket objection stops every purpose on legitimate interests (here security
/// monitoring and the corporate transaction of the managed-ERP example) but not the defence of
/// legal claims; an objection naming that purpose does reach it.
#[test]
fn a_blanket_objection_does_not_stop_the_defence_of_legal_claims() {
    let policy = ombud_policy::check(include_str!("../../../examples/managed-erp-hosting.toml"))
        .policy
        .expect("the example is valid");
    let tz = TimeZone::get(&policy.controller.time_zone).expect("known zone");
    let now = at("2026-03-01T12:00:00Z");
    let allowed = |events: Vec<Event>, purpose: &str| {
        decide(
            &policy,
            &SubjectFacts::new(events),
            purpose,
            "user.contact.email",
            at("2026-01-15T09:00:00Z"),
            DataRole::Controller,
            now,
            &tz,
        )
        .allowed
    };
    let blanket = || vec![event(Objection, None, "2026-02-01T00:00:00Z")];
    assert!(!allowed(blanket(), "platform-security"));
    assert!(!allowed(blanket(), "corporate-transaction"));
    assert!(allowed(blanket(), "legal-claims"), "legal claims go on");
    let named = vec![event(
        Objection,
        Some("legal-claims"),
        "2026-02-01T00:00:00Z",
    )];
    assert!(
        !allowed(named, "legal-claims"),
        "an objection naming it reaches it"
    );
}
