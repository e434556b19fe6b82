//! Every retention promise of the three example policies (modelled on the seeds) as a table:
//! a record, the events recorded about its subject, and when it reaches its end of life, in the
//! controller's own wall-clock time.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::access::DataRole;
use ombud_core::facts::{Event, EventKind, SubjectFacts};
use ombud_core::requests::RecordFacts;
use ombud_core::retention::{Hold, Life, Unbounded, end_of_life};
use ombud_policy::Policy;
use ombud_policy::model::Choice;

fn policy(name: &str) -> Policy {
    let source = match name {
        "invoicing-saas" => include_str!("../../../examples/invoicing-saas.toml"),
        "managed-erp-hosting" => include_str!("../../../examples/managed-erp-hosting.toml"),
        "public-cloud" => include_str!("../../../examples/public-cloud.toml"),
        other => panic!("no example {other}"),
    };
    ombud_policy::check(source)
        .policy
        .expect("the example is valid")
}

/// A wall-clock time in the controller's zone.
fn local(text: &str, tz: &TimeZone) -> Timestamp {
    text.parse::<jiff::civil::DateTime>()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_zoned(tz.clone())
        .expect("exists")
        .timestamp()
}

struct Case {
    name: &'static str,
    example: &'static str,
    category: &'static str,
    purposes: &'static [&'static str],
    /// How the record was obtained (a `Source`).
    source: &'static str,
    role: DataRole,
    collected: &'static str,
    /// (kind, purpose, when it happened, when it was recorded is irrelevant: facts count by
    /// occurred_at).
    events: &'static [(EventKind, Option<&'static str>, &'static str)],
    /// Legal holds on the subject: (category or all, end or open-ended).
    holds: &'static [(Option<&'static str>, Option<&'static str>)],
    now: &'static str,
    expect: &'static str,
}

fn describe(life: &Life, tz: &TimeZone) -> String {
    let wall = |t: Timestamp| {
        t.to_zoned(tz.clone())
            .datetime()
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    match life {
        Life::Open(why) => format!("open: {}", why.key()),
        Life::Until {
            until,
            purpose,
            rule,
            action,
        } => {
            format!(
                "{} {} by {rule} of {purpose}",
                action.as_str(),
                wall(*until)
            )
        }
        Life::Review {
            due,
            purpose,
            rule,
            lapses,
        } => {
            let lapses = lapses.map_or("kept if unreviewed".into(), |at| {
                format!("deleted unreviewed {}", wall(at))
            });
            format!("review {} by {rule} of {purpose}, {lapses}", wall(*due))
        }
    }
}

const C: DataRole = DataRole::Controller;
use EventKind::*;

const CASES: &[Case] = &[
    // invoicing-saas: "180 days after termination"
    Case {
        name: "customer contact data: 180 days after the contract ends",
        example: "invoicing-saas",
        category: "user.contact.phone_number",
        purposes: &["service-delivery"],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ContractEnd, None, "2026-01-15T12:00"),
        ],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2026-07-14 12:00 by customer-relationship of service-delivery",
    },
    Case {
        name: "while the contract runs, nothing ends",
        example: "invoicing-saas",
        category: "user.contact.phone_number",
        purposes: &["service-delivery"],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[(ContractStart, None, "2025-03-01T09:00")],
        holds: &[],
        now: "2030-01-01T00:00",
        expect: "open: pending_event",
    },
    Case {
        name: "an end of contract recorded late counts from when it happened",
        example: "invoicing-saas",
        category: "user.contact.phone_number",
        purposes: &["support"],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ContractEnd, None, "2025-09-01T12:00"),
        ],
        holds: &[],
        now: "2026-05-02T00:00",
        expect: "delete 2026-02-28 12:00 by customer-relationship of support",
    },
    // Storage limitation: only activities that apply to the person keep what was stored
    // without purposes.
    Case {
        name: "a former customer's email stored without purposes goes 180 days after the contract",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &[],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ContractEnd, None, "2026-01-15T12:00"),
        ],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2026-07-14 12:00 by customer-relationship of service-delivery",
    },
    Case {
        name: "a former customer's name stays only for the accounting law",
        example: "invoicing-saas",
        category: "user.name",
        purposes: &[],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ContractEnd, None, "2026-01-15T12:00"),
        ],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2032-01-01 00:00 by accounting-vouchers of accounting",
    },
    Case {
        name: "consent given once keeps marketing data until it is withdrawn",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &[],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ConsentGiven, Some("consent-marketing"), "2025-03-01T09:00"),
            (ContractEnd, None, "2026-01-15T12:00"),
        ],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "open: pending_event",
    },
    Case {
        name: "a password with no account ever recorded goes under the fallback rule",
        example: "invoicing-saas",
        category: "user.authorization.password",
        purposes: &[],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2025-06-01 09:00 by no-purpose-left of no-activity-applies",
    },
    Case {
        name: "a user's password goes when the account closes",
        example: "invoicing-saas",
        category: "user.authorization.password",
        purposes: &[],
        source: "subject",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[
            (AccountOpened, None, "2025-03-01T09:00"),
            (AccountClosed, None, "2026-02-28T23:30"),
        ],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2026-02-28 23:30 by while-account-active of user-accounts",
    },
    Case {
        name: "what the service observed is not kept by activities that take only what people give",
        example: "invoicing-saas",
        category: "user.contact.phone_number",
        purposes: &[],
        source: "service_use",
        role: C,
        collected: "2025-03-01T09:00",
        events: &[(ContractStart, None, "2025-03-01T09:00")],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2025-06-01 09:00 by no-purpose-left of no-activity-applies",
    },
    // "at least every 6 months" for prospects
    Case {
        name: "a prospect is due for review 6 months after the last interaction",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[(LastInteraction, None, "2026-01-10T15:00")],
        holds: &[],
        now: "2026-02-01T00:00",
        expect: "review 2026-07-10 15:00 by prospect-review of prospects, deleted unreviewed 2026-08-10 15:00",
    },
    Case {
        name: "a prospect never contacted again counts from collection",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[],
        holds: &[],
        now: "2026-02-01T00:00",
        expect: "review 2026-05-01 10:00 by prospect-review of prospects, deleted unreviewed 2026-06-01 10:00",
    },
    Case {
        name: "a prospect kept at review is due again 6 months after the decision",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[(ReviewKept, Some("prospects"), "2026-05-04T09:30")],
        holds: &[],
        now: "2026-05-05T00:00",
        expect: "review 2026-11-04 09:30 by prospect-review of prospects, deleted unreviewed 2026-12-04 09:30",
    },
    Case {
        name: "a prospect declined at review is deleted from the decision on",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[(ReviewDeclined, None, "2026-05-04T09:30")],
        holds: &[],
        now: "2026-05-05T00:00",
        expect: "delete 2026-05-04 09:30 by prospect-review of prospects",
    },
    Case {
        name: "a decision taken early still decides: declined before the due date",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[(ReviewDeclined, Some("prospects"), "2026-01-15T08:00")],
        holds: &[],
        now: "2026-01-16T00:00",
        expect: "delete 2026-01-15 08:00 by prospect-review of prospects",
    },
    Case {
        name: "a prospect who comes back after a decline is reviewed again, not deleted",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[
            (ReviewDeclined, None, "2026-01-15T08:00"),
            (LastInteraction, None, "2026-01-20T11:00"),
        ],
        holds: &[],
        now: "2026-01-21T00:00",
        expect: "review 2026-07-20 11:00 by prospect-review of prospects, deleted unreviewed 2026-08-20 11:00",
    },
    Case {
        name: "a decision about another purpose leaves the prospect's review as it was",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["prospects"],
        source: "subject",
        role: C,
        collected: "2025-11-01T10:00",
        events: &[(ReviewDeclined, Some("newsletter"), "2026-01-15T08:00")],
        holds: &[],
        now: "2026-01-16T00:00",
        expect: "review 2026-05-01 10:00 by prospect-review of prospects, deleted unreviewed 2026-06-01 10:00",
    },
    // "2 years" for logs with identifiers
    Case {
        name: "security logs: 2 years after collection",
        example: "invoicing-saas",
        category: "user.device.ip_address",
        purposes: &["security"],
        source: "subject",
        role: C,
        collected: "2025-03-01T08:00",
        events: &[],
        holds: &[],
        now: "2026-01-01T00:00",
        expect: "delete 2027-03-01 08:00 by security-logs of security",
    },
    // accounting law: six years from the end of the financial year
    Case {
        name: "vouchers: 6 years from the end of the year they were made in",
        example: "invoicing-saas",
        category: "user.financial",
        purposes: &["accounting"],
        source: "subject",
        role: C,
        collected: "2025-05-20T10:00",
        events: &[],
        holds: &[],
        now: "2026-01-01T00:00",
        expect: "delete 2032-01-01 00:00 by accounting-vouchers of accounting",
    },
    Case {
        name: "two purposes, two periods: the longer decides",
        example: "invoicing-saas",
        category: "user.financial",
        purposes: &["invoicing", "accounting"],
        source: "subject",
        role: C,
        collected: "2025-05-20T10:00",
        events: &[
            (ContractStart, None, "2025-03-01T09:00"),
            (ContractEnd, None, "2026-01-15T12:00"),
        ],
        holds: &[],
        now: "2026-08-01T00:00",
        expect: "delete 2032-01-01 00:00 by accounting-vouchers of accounting",
    },
    Case {
        name: "consent marketing ends when consent is withdrawn",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["consent-marketing"],
        source: "subject",
        role: C,
        collected: "2025-05-20T10:00",
        events: &[
            (ConsentGiven, Some("consent-marketing"), "2025-05-20T10:00"),
            (
                ConsentWithdrawn,
                Some("consent-marketing"),
                "2026-02-01T09:00",
            ),
        ],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2026-02-01 09:00 by until-consent-withdrawn of consent-marketing",
    },
    Case {
        name: "a review later than every deletion keeps the record for review",
        example: "invoicing-saas",
        category: "user.contact.email",
        purposes: &["b2b-marketing"],
        source: "subject",
        role: C,
        collected: "2025-05-20T10:00",
        events: &[
            (ContractEnd, None, "2026-01-15T12:00"),
            (LastInteraction, None, "2026-03-01T10:00"),
        ],
        holds: &[],
        now: "2026-03-02T00:00",
        expect: "review 2026-09-01 10:00 by prospect-review of b2b-marketing, deleted unreviewed 2026-10-01 10:00",
    },
    Case {
        name: "a customer's records follow the processor activity, not the operator's",
        example: "invoicing-saas",
        category: "user.contact.phone_number",
        purposes: &[],
        source: "customer",
        role: DataRole::Processor,
        collected: "2025-03-01T09:00",
        events: &[(ContractEnd, None, "2026-01-15T12:00")],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2026-07-14 12:00 by customer-relationship of customer-data",
    },
    // managed-erp-hosting: "7 years after termination"
    Case {
        name: "billing: 7 years after the contract ends",
        example: "managed-erp-hosting",
        category: "user.financial.vat_number",
        purposes: &["billing"],
        source: "subject",
        role: C,
        collected: "2024-01-01T10:00",
        events: &[(ContractEnd, None, "2026-01-31T17:00")],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2033-01-31 17:00 by account-and-billing of billing",
    },
    // "3 years after the last interaction"
    Case {
        name: "support records: 3 years after the last interaction",
        example: "managed-erp-hosting",
        category: "user.content.support_records",
        purposes: &["customer-support"],
        source: "subject",
        role: C,
        collected: "2025-06-01T10:00",
        events: &[(LastInteraction, None, "2026-02-10T11:00")],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2029-02-10 11:00 by communication-and-support of customer-support",
    },
    // "until you unsubscribe and a short period thereafter"
    Case {
        name: "service updates: 30 days after unsubscribing",
        example: "managed-erp-hosting",
        category: "user.privacy_preferences",
        purposes: &["service-updates"],
        source: "subject",
        role: C,
        collected: "2025-06-01T10:00",
        events: &[(Unsubscribe, Some("service-updates"), "2026-03-05T08:00")],
        holds: &[],
        now: "2026-03-06T00:00",
        expect: "delete 2026-04-04 08:00 by marketing-after-unsubscribe of service-updates",
    },
    Case {
        name: "subscribed, the address stays",
        example: "managed-erp-hosting",
        category: "user.privacy_preferences",
        purposes: &["service-updates"],
        source: "subject",
        role: C,
        collected: "2025-06-01T10:00",
        events: &[],
        holds: &[],
        now: "2030-03-06T00:00",
        expect: "open: pending_event",
    },
    // "12 months", "14 months"
    Case {
        name: "telemetry: 12 months after collection",
        example: "managed-erp-hosting",
        category: "user.telemetry",
        purposes: &["service-improvement"],
        source: "subject",
        role: C,
        collected: "2026-01-31T10:00",
        events: &[],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2027-01-31 10:00 by technical-and-usage of service-improvement",
    },
    Case {
        name: "analytics cookies: 14 months, to the last day of a shorter month",
        example: "managed-erp-hosting",
        category: "user.device.cookie_id",
        purposes: &["web-analytics"],
        source: "subject",
        role: C,
        collected: "2025-12-31T10:00",
        events: &[],
        holds: &[],
        now: "2026-03-01T00:00",
        expect: "delete 2027-02-28 10:00 by website-analytics of web-analytics",
    },
    // "within 30 days of termination", for the customers' production data
    Case {
        name: "hosted production data: 30 days after the contract ends",
        example: "managed-erp-hosting",
        category: "user.contact.email",
        purposes: &[],
        source: "customer",
        role: DataRole::Processor,
        collected: "2025-01-01T10:00",
        events: &[(ContractEnd, None, "2026-06-30T23:59")],
        holds: &[],
        now: "2026-07-01T00:00",
        expect: "delete 2026-07-30 23:59 by production-data-after-termination of hosted-environments",
    },
    // public-cloud: accounting 7 years from the end of the year, messages 2 years, cases 1 year
    Case {
        name: "accounting records: 7 years from the end of the year",
        example: "public-cloud",
        category: "user.contact.address",
        purposes: &["accounting"],
        source: "subject",
        role: C,
        collected: "2026-03-10T10:00",
        events: &[],
        holds: &[],
        now: "2026-04-01T00:00",
        expect: "delete 2034-01-01 00:00 by accounting-records of accounting",
    },
    Case {
        name: "messages sent: 2 years",
        example: "public-cloud",
        category: "user.behavior.messages_received",
        purposes: &["service-messages"],
        source: "subject",
        role: C,
        collected: "2026-04-01T06:30",
        events: &[],
        holds: &[],
        now: "2026-04-02T00:00",
        expect: "delete 2028-04-01 06:30 by message-records of service-messages",
    },
    Case {
        name: "service cases: a year after the last interaction",
        example: "public-cloud",
        category: "user.content.service_case",
        purposes: &["service-cases"],
        source: "subject",
        role: C,
        collected: "2026-01-05T10:00",
        events: &[(LastInteraction, None, "2026-05-05T14:00")],
        holds: &[],
        now: "2026-06-01T00:00",
        expect: "delete 2027-05-05 14:00 by service-case-closed of service-cases",
    },
    Case {
        name: "an account ends with the services",
        example: "public-cloud",
        category: "user.unique_id",
        purposes: &["main-account"],
        source: "subject",
        role: C,
        collected: "2020-01-05T10:00",
        events: &[(ContractEnd, None, "2026-05-05T14:00")],
        holds: &[],
        now: "2026-06-01T00:00",
        expect: "delete 2026-05-05 14:00 by while-services-provided of main-account",
    },
    // A legal hold outranks the rule, for as long as it lasts
    Case {
        name: "security logs under an open-ended investigation hold outlive their 2 years",
        example: "invoicing-saas",
        category: "user.device.ip_address",
        purposes: &["security"],
        source: "subject",
        role: C,
        collected: "2024-04-15T09:00",
        events: &[],
        holds: &[(Some("user.device"), None)],
        now: "2026-06-01T00:00",
        expect: "held past delete 2026-04-15 09:00 by security-logs of security",
    },
    Case {
        name: "once the hold ends, the rule applies again",
        example: "invoicing-saas",
        category: "user.device.ip_address",
        purposes: &["security"],
        source: "subject",
        role: C,
        collected: "2024-04-15T09:00",
        events: &[],
        holds: &[(None, Some("2026-05-01T00:00"))],
        now: "2026-06-01T00:00",
        expect: "delete 2026-04-15 09:00 by security-logs of security",
    },
    Case {
        name: "a hold on another category keeps nothing here",
        example: "invoicing-saas",
        category: "user.device.ip_address",
        purposes: &["security"],
        source: "subject",
        role: C,
        collected: "2024-04-15T09:00",
        events: &[],
        holds: &[(Some("user.financial"), None)],
        now: "2026-06-01T00:00",
        expect: "delete 2026-04-15 09:00 by security-logs of security",
    },
];

#[test]
fn every_retention_promise_of_the_examples_ends_records_when_it_says() {
    let mut failures = vec![];
    for case in CASES {
        let policy = policy(case.example);
        let tz = TimeZone::get(&policy.controller.time_zone).expect("zone");
        let facts = SubjectFacts::new(
            case.events
                .iter()
                .map(|(kind, purpose, when)| Event {
                    kind: *kind,
                    purpose: purpose.map(str::to_owned),
                    occurred_at: local(when, &tz),
                })
                .collect(),
        );
        let purposes: Vec<String> = case.purposes.iter().map(|p| (*p).to_owned()).collect();
        let record = RecordFacts {
            category: case.category,
            purposes: &purposes,
            source: case.source,
            collected_at: local(case.collected, &tz),
        };
        let life = end_of_life(
            &policy,
            &facts,
            &record,
            case.role,
            local(case.now, &tz),
            &tz,
        );
        let now = local(case.now, &tz);
        let holds: Vec<Hold> = case
            .holds
            .iter()
            .map(|(category, ends)| Hold {
                category: *category,
                ends_at: ends.map(|e| local(e, &tz)),
            })
            .collect();
        let held = life.expired_at(now) && holds.iter().any(|h| h.keeps(case.category, now));
        let got = if held {
            format!("held past {}", describe(&life, &tz))
        } else {
            describe(&life, &tz)
        };
        if got != case.expect {
            failures.push(format!(
                "{}:\n  expected {}\n  got      {got}",
                case.name, case.expect
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn only_an_ended_life_lets_the_sweeper_act() {
    let at: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let until = Life::Until {
        until: at,
        purpose: "p".into(),
        rule: "r".into(),
        action: ombud_policy::model::Action::Delete,
    };
    assert!(until.expired_at(at));
    assert!(!until.expired_at(at - jiff::SignedDuration::from_secs(1)));
    assert!(!Life::Open(Unbounded::NoActivityApplies).expired_at(Timestamp::MAX));
    let review = Life::Review {
        due: at,
        purpose: "p".into(),
        rule: "r".into(),
        lapses: None,
    };
    assert!(!review.expired_at(at), "a review is not a deletion");
    let lapsing = Life::Review {
        due: at,
        purpose: "p".into(),
        rule: "r".into(),
        lapses: Some(at),
    };
    assert!(lapsing.expired_at(at), "unreviewed past its grace, it goes");
}

#[test]
fn a_review_rule_chooses_what_happens_to_data_nobody_reviewed() {
    let tz = TimeZone::get("Europe/Helsinki").expect("zone");
    let source = include_str!("../../../examples/invoicing-saas.toml");
    let facts = SubjectFacts::new(vec![]);
    let purposes = vec!["prospects".to_owned()];
    let record = RecordFacts {
        category: "user.contact.email",
        purposes: &purposes,
        source: "subject",
        // Collected on 31 August: due on the last day of February, a leap day in 2028.
        collected_at: local("2027-08-31T10:00", &tz),
    };
    let life_under = |extra: &str, now: &str| {
        let text = source.replace(
            "after = \"last_interaction\"\nthen = \"review\"",
            &format!("after = \"last_interaction\"\nthen = \"review\"\n{extra}"),
        );
        assert_ne!(text, source, "the example's review rule moved");
        let policy = ombud_policy::check(&text).policy.expect("valid");
        describe(
            &end_of_life(&policy, &facts, &record, C, local(now, &tz), &tz),
            &tz,
        )
    };
    assert_eq!(
        life_under("", "2028-03-01T00:00"),
        "review 2028-02-29 10:00 by prospect-review of prospects, deleted unreviewed 2028-03-29 10:00"
    );
    assert_eq!(
        life_under("grace = \"2 weeks\"", "2028-03-01T00:00"),
        "review 2028-02-29 10:00 by prospect-review of prospects, deleted unreviewed 2028-03-14 10:00"
    );
    assert_eq!(
        life_under("then_if_unreviewed = \"keep\"", "2030-01-01T00:00"),
        "review 2028-02-29 10:00 by prospect-review of prospects, kept if unreviewed"
    );
}

#[test]
fn grace_belongs_to_review_rules_only() {
    let source = include_str!("../../../examples/invoicing-saas.toml").replace(
        "after = \"collected\"\nthen = \"delete\"",
        "after = \"collected\"\nthen = \"delete\"\ngrace = \"1 week\"",
    );
    let report = ombud_policy::check(&source);
    let finding = report
        .findings
        .iter()
        .find(|f| f.path.ends_with(".grace"))
        .expect("a finding on grace");
    assert!(
        finding.message.contains("then = \"review\""),
        "{}",
        finding.message
    );
    assert!(report.policy.is_none());
}

#[test]
fn without_a_fallback_rule_nothing_dates_what_no_activity_applies_to_and_the_check_says_so() {
    let tz = TimeZone::get("Europe/Helsinki").expect("zone");
    let source =
        include_str!("../../../examples/invoicing-saas.toml").replace("fallback = true\n", "");
    let report = ombud_policy::check(&source);
    let warned: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code.as_str() == "kept-with-no-end")
        .map(|f| f.path.as_str())
        .collect();
    assert!(
        warned.contains(&"category[user.authorization.password]"),
        "{warned:?}"
    );
    let policy = report.policy.expect("warnings only");
    let record = RecordFacts {
        category: "user.authorization.password",
        purposes: &[],
        source: "subject",
        collected_at: local("2025-03-01T09:00", &tz),
    };
    let life = end_of_life(
        &policy,
        &SubjectFacts::new(vec![]),
        &record,
        C,
        local("2030-01-01T00:00", &tz),
        &tz,
    );
    assert_eq!(life, Life::Open(Unbounded::NoActivityApplies));
}
