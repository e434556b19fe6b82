//! The mails a request sends, as plain text in the controller's name. Each names its template,
//! which the outbox keeps after sending as the record of what the person was told. It writes texts
//! only and must not send: a step queues its mails in its own transaction.

use crate::rights::Outcome;
use crate::tenants::Voice;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::Identity;
use ombud_policy::Policy;
use ombud_store::requests::{DsRequest, NewMail};

/// A day as people read it, in the controller's time zone: "1 April 2026".
pub fn day(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone()).strftime("%-d %B %Y").to_string()
}

/// The last day of a deadline. A deadline is the first instant after its last day; people
/// count the last day.
pub fn last_day(deadline: Timestamp, tz: &TimeZone) -> String {
    day(
        deadline
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap_or(deadline),
        tz,
    )
}

/// A deadline as every surface states it — mail, portal, console, API answers for people:
/// its last day in the controller's calendar with the zone named, "the end of 27 December 2026
/// (CET)". The zone is the one in force on that day, so a deadline in summer says CEST.
pub fn by_the_end_of(deadline: Timestamp, tz: &TimeZone) -> String {
    let last = deadline
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap_or(deadline)
        .to_zoned(tz.clone());
    format!(
        "the end of {} ({})",
        last.strftime("%-d %B %Y"),
        last.strftime("%Z")
    )
}

/// A moment as people read it, in the controller's zone with the zone named: "1 March 2026,
/// 10:00 EET" — as the portal's download page shows the same moment.
pub fn moment(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%-d %B %Y, %H:%M %Z")
        .to_string()
}

fn date(at: Option<Timestamp>, tz: &TimeZone) -> String {
    match at {
        Some(at) => by_the_end_of(at, tz),
        None => "one month after you confirm who you are".into(),
    }
}

/// The law's deadline for `request` under the controller's calendar (see
/// [`ombud_core::requests::legal_due`]): what the mails, the status page, the API and the
/// console all show.
pub fn legal_due(policy: &Policy, request: &DsRequest, tz: &TimeZone) -> Timestamp {
    ombud_core::requests::legal_due(
        request.received_at,
        request.extended_at.is_some(),
        tz,
        &policy.controller.country,
    )
}

/// " The law gives us until the end of …." where it differs from the promised day: the
/// policy's target may be stricter than the law, and the law's day moves past weekends and
/// public holidays (Reg. 1182/71 Art. 3(4)).
pub fn legal_last_day(policy: &Policy, request: &DsRequest, tz: &TimeZone) -> String {
    let legal = legal_due(policy, request, tz);
    let legal_day = last_day(legal, tz);
    match request.due_at {
        Some(due) if last_day(due, tz) == legal_day => String::new(),
        _ => format!(" The law gives us until {}.", by_the_end_of(legal, tz)),
    }
}

/// A receipt between markers, in lines short enough that no mail transfer rewraps them.
pub fn armored(jws: &str) -> String {
    let mut text = String::from(crate::receipts::BEGIN);
    text.push('\n');
    for line in jws.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(crate::receipts::END);
    text.push('\n');
    text
}

fn mail(
    template: &str,
    request: &DsRequest,
    to: &Identity,
    subject: String,
    body: String,
) -> NewMail {
    NewMail {
        to: to.clone(),
        template: template.into(),
        request: Some(request.id),
        subject,
        body,
    }
}

pub fn code(
    voice: &Voice,
    request: &DsRequest,
    to: &Identity,
    code: &str,
    status_link: &str,
) -> NewMail {
    mail(
        "request_code",
        request,
        to,
        format!("Your confirmation code: {code}"),
        format!(
            "We received your request for {}.\n\nTo confirm that the request is yours, enter this code: {code}\n\nThe code is valid for 30 minutes and can be tried three times. If you did not make this request, ignore this message; nothing will be done.\n\nFollow your request here: {status_link}\n{}",
            request.kind.label(),
            voice.signature()
        ),
    )
}

pub fn acknowledgement(
    policy: &Policy,
    voice: &Voice,
    request: &DsRequest,
    to: &Identity,
    tz: &TimeZone,
) -> NewMail {
    mail(
        "request_received",
        request,
        to,
        format!("We received your request (reference {})", request.id),
        format!(
            "We received your request for {}. We will answer by {}.{}\n{}",
            request.kind.label(),
            date(request.due_at, tz),
            legal_last_day(policy, request, tz),
            voice.signature()
        ),
    )
}

/// The template of the mail that tells a person their request was extended.
pub const EXTENDED: &str = "request_extended";

pub fn extended(
    policy: &Policy,
    voice: &Voice,
    request: &DsRequest,
    to: &Identity,
    tz: &TimeZone,
) -> NewMail {
    mail(
        EXTENDED,
        request,
        to,
        format!(
            "More time is needed for your request (reference {})",
            request.id
        ),
        format!(
            "We need more time to answer your request for {}, as Art. 12(3) GDPR allows: {}\n\nWe will answer by {}.{}\n{}",
            request.kind.label(),
            request.extension_reason.as_deref().unwrap_or(""),
            date(request.due_at, tz),
            legal_last_day(policy, request, tz),
            voice.signature()
        ),
    )
}

/// Art. 19: a recipient of the person's data is told that it was corrected, erased or
/// restricted, so it can do the same. It names the person only by the address they gave.
pub fn recipient_notice(
    voice: &Voice,
    request: &DsRequest,
    to: &Identity,
    recipient: &str,
    outcome: &Outcome,
) -> NewMail {
    let what = match request.kind {
        ombud_core::RequestKind::Rectification => "corrected some of their personal data",
        ombud_core::RequestKind::Erasure => "erased their personal data",
        _ => "restricted the processing of their personal data",
    };
    let person = request
        .contact
        .as_ref()
        .map_or("the person".to_owned(), |c| c.expose().to_owned());
    let kept = if outcome.kept.is_empty() {
        String::new()
    } else {
        "\nSome data is kept where a law requires it, for that purpose only.\n".to_owned()
    };
    mail(
        "recipient_notified",
        request,
        to,
        format!(
            "{}: a data subject's request (reference {})",
            voice.controller, request.id
        ),
        format!(
            "Dear {recipient},\n\nAt the request of {person}, {} has {what}: {}. You received data about this person from us; under Art. 19 GDPR we let you know so that you can do the same with the data you hold.\n{kept}\n{}",
            voice.controller,
            outcome.summary,
            voice.signature()
        ),
    )
}

pub fn refused(voice: &Voice, request: &DsRequest, to: &Identity) -> NewMail {
    mail(
        "request_refused",
        request,
        to,
        format!("Your request (reference {})", request.id),
        format!(
            "We cannot carry out your request for {}. The reason: {}\n\n{}\n{}",
            request.kind.label(),
            request.refusal_reason.as_deref().unwrap_or(""),
            voice.complaint(),
            voice.signature()
        ),
    )
}

pub fn fulfilled(
    policy: &Policy,
    voice: &Voice,
    request: &DsRequest,
    to: &Identity,
    outcome: &Outcome,
    download: Option<&str>,
    keys_url: &str,
) -> NewMail {
    let mut body = format!(
        "We have carried out your request for {}: {}.\n",
        request.kind.label(),
        outcome.summary
    );
    let tz = TimeZone::get(&policy.controller.time_zone).unwrap_or(TimeZone::UTC);
    if let Some(url) = download {
        body.push_str(&format!(
            "\nDownload your data here: {url}\nThe file can be downloaded once, until {}.\n",
            outcome
                .export_expires_at
                .map_or_else(String::new, |t| moment(t, &tz))
        ));
    }
    if !outcome.objection.is_empty() {
        body.push_str("\nWhat your objection changed (Art. 21 GDPR):\n");
        for decision in &outcome.objection {
            match &decision.grounds {
                Some(grounds) => body.push_str(&format!(
                    "- {}: goes on, because compelling legitimate grounds override your objection: {grounds}\n",
                    decision.name
                )),
                None => body.push_str(&format!("- {}: stopped\n", decision.name)),
            }
        }
    }
    if !outcome.recipients_notified.is_empty() {
        let names: Vec<&str> = outcome
            .recipients_notified
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        body.push_str(&format!(
            "\nWe have told those who received your data of this, as Art. 19 GDPR requires: {}.\n",
            names.join(", ")
        ));
    }
    if !outcome.kept.is_empty() {
        body.push_str(
            "\nSome data must be kept; it is used for nothing but the reason given, and deleted when that ends:\n",
        );
        for item in &outcome.kept {
            body.push_str(&format!("- {}\n", kept_line(policy, &tz, item)));
        }
    }
    if let Some(receipt) = &outcome.receipt {
        body.push_str(&format!(
            "\nBelow is a signed receipt of what we did. Keep it: anyone can check it against our published keys ({keys_url}), for example with `ombud receipt verify`, and it shows if a word of it was changed.\n\n{}",
            armored(receipt)
        ));
    }
    body.push_str(&format!("\n{}\n{}", voice.complaint(), voice.signature()));
    mail(
        "request_fulfilled",
        request,
        to,
        format!("Your request is done (reference {})", request.id),
        body,
    )
}

/// One kept item as the person reads it: what, why (the law in the policy's words, or a legal
/// hold), and until which day, or what starts the period when it has not started. Never an id.
fn kept_line(policy: &Policy, tz: &TimeZone, item: &crate::rights::KeptItem) -> String {
    let what = policy
        .category(&item.category)
        .map_or_else(|| item.category.clone(), |c| c.name.clone());
    let records = match item.records {
        1 => "1 record".to_owned(),
        n => format!("{n} records"),
    };
    let held = item.purposes.iter().any(|p| p.starts_with("hold:"));
    let why = if held {
        // The hold's reason is in its rule text: "legal hold (legal claim)".
        format!("because of a {}", item.rule)
    } else {
        let purposes: Vec<&str> = item
            .purposes
            .iter()
            .map(|p| {
                policy
                    .activity(p)
                    .map_or(p.as_str(), |a| a.purpose.as_str())
            })
            .collect();
        format!(
            "for {}, as {} requires",
            purposes.join("; "),
            item.law.as_deref().unwrap_or("the law")
        )
    };
    use ombud_policy::model::{Anchor, Choice};
    let starts_with = item.starts_with.as_deref().and_then(Anchor::parse);
    let when = match (item.until, starts_with) {
        (Some(until), _) => format!("until {}", last_day(until, tz)),
        (None, _) if held => "until the hold is lifted".to_owned(),
        (None, Some(anchor)) => {
            let keep = policy
                .retention_rule(&item.rule)
                .map_or_else(String::new, |r| format!("{} ", r.keep));
            format!(
                "for {keep}{}; that period has not started yet",
                anchor.label()
            )
        }
        (None, None) => "until the period the law sets ends".to_owned(),
    };
    format!("{what} ({records}) {why}, {when}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::KeptItem;

    fn example(name: &str) -> Policy {
        let source = match name {
            "invoicing" => include_str!("../../../examples/invoicing-saas.toml"),
            _ => include_str!("../../../examples/managed-erp-hosting.toml"),
        };
        ombud_policy::check(source).policy.expect("valid")
    }

    fn item(purposes: &[&str], rule: &str, law: Option<&str>) -> KeptItem {
        KeptItem {
            category: "user.financial".into(),
            records: 2,
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
            rule: rule.into(),
            law: law.map(str::to_owned),
            until: None,
            starts_with: None,
        }
    }

    #[test]
    fn a_moment_is_the_controllers_wall_clock_with_the_zone_named() {
        let helsinki = TimeZone::get("Europe/Helsinki").expect("zone");
        let at = |t: &str| t.parse::<Timestamp>().expect("time");
        // Either side of the spring change (03:00 EET becomes 04:00 EEST on 29 March 2026).
        assert_eq!(
            moment(at("2026-03-29T00:30:00Z"), &helsinki),
            "29 March 2026, 02:30 EET"
        );
        assert_eq!(
            moment(at("2026-03-29T01:30:00Z"), &helsinki),
            "29 March 2026, 04:30 EEST"
        );
        // 23:30 UTC on New Year's Eve is already the next year in Helsinki.
        assert_eq!(
            moment(at("2026-12-31T23:30:00Z"), &helsinki),
            "1 January 2027, 01:30 EET"
        );
    }

    #[test]
    fn a_deadline_reads_the_same_at_month_ends_leap_days_and_zone_changes() {
        let helsinki = TimeZone::get("Europe/Helsinki").expect("zone");
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let at = |text: &str| text.parse::<Timestamp>().expect("time");
        // Midnight starting 28 December in Berlin is 23:00 UTC on the 27th: the last day is
        // the 27th, as the person counts it.
        assert_eq!(
            by_the_end_of(at("2026-12-27T23:00:00Z"), &berlin),
            "the end of 27 December 2026 (CET)"
        );
        // A local date a day ahead of UTC: 22:00 UTC on 28 February is 00:00 on 1 March in
        // Helsinki, so the last day is 28 February (2026 is not a leap year) …
        assert_eq!(
            by_the_end_of(at("2026-02-28T22:00:00Z"), &helsinki),
            "the end of 28 February 2026 (EET)"
        );
        // … and 29 February in a leap year.
        assert_eq!(
            by_the_end_of(at("2028-02-29T22:00:00Z"), &helsinki),
            "the end of 29 February 2028 (EET)"
        );
        // The clocks go forward on 29 March 2026: the last day is summer time.
        assert_eq!(
            by_the_end_of(at("2026-03-29T22:00:00Z"), &berlin),
            "the end of 29 March 2026 (CEST)"
        );
        // And back on 25 October: that day ends in winter time.
        assert_eq!(
            by_the_end_of(at("2026-10-25T23:00:00Z"), &berlin),
            "the end of 25 October 2026 (CET)"
        );
        assert_eq!(
            by_the_end_of(at("2026-05-01T00:00:00Z"), &TimeZone::UTC),
            "the end of 30 April 2026 (UTC)"
        );
    }

    #[test]
    fn a_kept_item_names_the_law_and_its_last_day_in_the_controllers_calendar() {
        let policy = example("invoicing");
        let tz = TimeZone::get("Europe/Helsinki").expect("zone");
        let law = "Finnish Accounting Act (1336/1997), chapter 2, section 10";
        let mut kept = item(&["accounting"], "accounting-vouchers", Some(law));
        // Six years from the end of 2026 end at midnight in Helsinki: 22:00 UTC the day before.
        kept.until = Some("2032-12-31T22:00:00Z".parse().expect("time"));
        let line = kept_line(&policy, &tz, &kept);
        assert_eq!(
            line,
            format!(
                "Billing and payment information (2 records) for Keeping the accounting records the law requires, as {law} requires, until 31 December 2032"
            )
        );
        assert!(!line.contains("accounting-vouchers"), "no rule ids");
    }

    #[test]
    fn a_period_not_yet_started_says_what_starts_it() {
        let policy = example("erp");
        let tz = TimeZone::get("Europe/Brussels").expect("zone");
        let mut kept = item(
            &["invoicing-and-tax-records"],
            "account-and-billing",
            Some("Belgian tax and accounting obligations"),
        );
        kept.starts_with = Some("contract_end".into());
        let line = kept_line(&policy, &tz, &kept);
        assert!(
            line.ends_with("for 7 years after the contract ends; that period has not started yet"),
            "{line}"
        );
        assert!(!line.contains("until the period starts"), "{line}");
    }

    #[test]
    fn a_legal_hold_is_named_as_one_and_lasts_until_it_is_lifted() {
        let policy = example("invoicing");
        let tz = TimeZone::get("Europe/Helsinki").expect("zone");
        let kept = item(
            &["hold:0b7c2a1e-5f0d-4d8e-9a55-1f2f3e4d5c6b"],
            "legal hold (legal claim)",
            None,
        );
        let line = kept_line(&policy, &tz, &kept);
        assert_eq!(
            line,
            "Billing and payment information (2 records) because of a legal hold (legal claim), until the hold is lifted"
        );
    }
}
