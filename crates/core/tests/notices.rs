//! Who an opt-out notice skips, and that mandatory notices skip no one with an address.

use jiff::Timestamp;
use ombud_core::notices::{Delivery, decide};
use ombud_core::{Event, EventKind, SubjectFacts};

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn event(kind: EventKind, purpose: Option<&str>, when: &str) -> Event {
    Event {
        kind,
        purpose: purpose.map(str::to_owned),
        occurred_at: at(when),
    }
}

const NOW: &str = "2026-06-01T12:00:00Z";

#[test]
fn an_unsubscribed_person_gets_security_notices_and_not_news() {
    let facts = SubjectFacts::new(vec![event(
        EventKind::Unsubscribe,
        None,
        "2026-01-10T09:00:00Z",
    )]);
    assert_eq!(
        decide("security", None, true, &facts, true, at(NOW)),
        Delivery::Send
    );
    assert_eq!(
        decide("news", None, false, &facts, true, at(NOW)),
        Delivery::SkipUnsubscribed {
            since: at("2026-01-10T09:00:00Z")
        }
    );
}

#[test]
fn an_unsubscribe_from_one_kind_leaves_the_others() {
    let facts = SubjectFacts::new(vec![event(
        EventKind::Unsubscribe,
        Some("survey"),
        "2026-01-10T09:00:00Z",
    )]);
    assert_eq!(
        decide("news", None, false, &facts, true, at(NOW)),
        Delivery::Send
    );
    assert!(matches!(
        decide("survey", None, false, &facts, true, at(NOW)),
        Delivery::SkipUnsubscribed { .. }
    ));
}

#[test]
fn an_objection_skips_opt_out_kinds() {
    let facts = SubjectFacts::new(vec![event(
        EventKind::Objection,
        Some("news"),
        "2026-02-01T00:00:00Z",
    )]);
    assert!(matches!(
        decide("news", None, false, &facts, true, at(NOW)),
        Delivery::SkipObjected { .. }
    ));
    assert_eq!(
        decide("survey", None, false, &facts, true, at(NOW)),
        Delivery::Send
    );
    let reason = decide("news", None, false, &facts, true, at(NOW))
        .skip_reason()
        .expect("a reason");
    assert!(reason.starts_with("objected at 2026-02-01"), "{reason}");
}

#[test]
fn an_unsubscribe_dated_after_the_notice_does_not_count() {
    let facts = SubjectFacts::new(vec![event(
        EventKind::Unsubscribe,
        None,
        "2026-07-01T00:00:00Z",
    )]);
    assert_eq!(
        decide("news", None, false, &facts, true, at(NOW)),
        Delivery::Send
    );
}

#[test]
fn without_an_address_no_one_is_sent_anything() {
    let facts = SubjectFacts::default();
    assert_eq!(
        decide("security", None, true, &facts, false, at(NOW)),
        Delivery::SkipNoAddress
    );
    assert_eq!(
        decide("news", None, false, &facts, false, at(NOW)),
        Delivery::SkipNoAddress
    );
}

#[test]
fn an_opt_out_from_the_activity_a_kind_serves_skips_it() {
    let objected = SubjectFacts::new(vec![event(
        EventKind::Objection,
        Some("news-and-surveys"),
        "2026-02-01T00:00:00Z",
    )]);
    for kind in ["news", "survey"] {
        assert_eq!(
            decide(
                kind,
                Some("news-and-surveys"),
                false,
                &objected,
                true,
                at(NOW)
            ),
            Delivery::SkipObjected {
                since: at("2026-02-01T00:00:00Z")
            },
            "{kind}"
        );
    }
    assert_eq!(
        decide(
            "news",
            Some("product-updates"),
            false,
            &objected,
            true,
            at(NOW)
        ),
        Delivery::Send,
        "another activity's objection"
    );
    let unsubscribed = SubjectFacts::new(vec![event(
        EventKind::Unsubscribe,
        Some("news-and-surveys"),
        "2026-03-01T00:00:00Z",
    )]);
    assert!(matches!(
        decide(
            "news",
            Some("news-and-surveys"),
            false,
            &unsubscribed,
            true,
            at(NOW)
        ),
        Delivery::SkipUnsubscribed { .. }
    ));
    assert_eq!(
        decide(
            "security",
            Some("news-and-surveys"),
            true,
            &objected,
            true,
            at(NOW)
        ),
        Delivery::Send,
        "mandatory kinds go"
    );
}
