//! The mails a request sends, as plain text in the controller's name. Each names its template,
//! which the outbox keeps after sending as the record of what the person was told. It writes texts
//! only and must not send: a step queues its mails in its own transaction.

use crate::rights::Outcome;
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

fn date(at: Option<Timestamp>, tz: &TimeZone) -> String {
    match at {
        Some(at) => last_day(at, tz),
        None => "one month after you confirm who you are".into(),
    }
}

fn signature(policy: &Policy) -> String {
    format!(
        "\n-- \n{}\n{}\nPrivacy contact: {}\n",
        policy.controller.name, policy.controller.address, policy.rights.contact
    )
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
    policy: &Policy,
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
            signature(policy)
        ),
    )
}

pub fn acknowledgement(
    policy: &Policy,
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
            "We received your request for {}. We will answer by {}.\n{}",
            request.kind.label(),
            date(request.due_at, tz),
            signature(policy)
        ),
    )
}

pub fn extended(policy: &Policy, request: &DsRequest, to: &Identity, tz: &TimeZone) -> NewMail {
    mail(
        "request_extended",
        request,
        to,
        format!(
            "More time is needed for your request (reference {})",
            request.id
        ),
        format!(
            "We need more time to answer your request for {}, as Art. 12(3) GDPR allows: {}\n\nWe will answer by {}.\n{}",
            request.kind.label(),
            request.extension_reason.as_deref().unwrap_or(""),
            date(request.due_at, tz),
            signature(policy)
        ),
    )
}

fn complaint(policy: &Policy) -> String {
    format!(
        "You may lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular {}{}, and seek a judicial remedy.",
        policy.authority.name,
        policy
            .authority
            .website
            .as_deref()
            .map_or(String::new(), |w| format!(" ({w})"))
    )
}

pub fn refused(policy: &Policy, request: &DsRequest, to: &Identity) -> NewMail {
    mail(
        "request_refused",
        request,
        to,
        format!("Your request (reference {})", request.id),
        format!(
            "We cannot carry out your request for {}. The reason: {}\n\n{}\n{}",
            request.kind.label(),
            request.refusal_reason.as_deref().unwrap_or(""),
            complaint(policy),
            signature(policy)
        ),
    )
}

pub fn fulfilled(
    policy: &Policy,
    request: &DsRequest,
    to: &Identity,
    outcome: &Outcome,
    download: Option<&str>,
) -> NewMail {
    let mut body = format!(
        "We have carried out your request for {}: {}.\n",
        request.kind.label(),
        outcome.summary
    );
    if let Some(url) = download {
        body.push_str(&format!(
            "\nDownload your data here: {url}\nThe file can be downloaded once, until {}.\n",
            outcome.export_expires_at.map_or_else(String::new, |t| t
                .strftime("%-d %B %Y %H:%M UTC")
                .to_string())
        ));
    }
    if !outcome.kept.is_empty() {
        body.push_str("\nThe law requires us to keep some data; it is used for nothing else:\n");
        for item in &outcome.kept {
            body.push_str(&format!(
                "- {} ({} records), for {}, under {}{}\n",
                policy
                    .category(&item.category)
                    .map_or_else(|| item.category.clone(), |c| c.name.clone()),
                item.records,
                item.purposes.join(", "),
                item.law.as_deref().unwrap_or(&item.rule),
                item.until.map_or_else(
                    || " until the period starts and runs out".to_owned(),
                    |u| format!(", until {}", u.strftime("%-d %B %Y"))
                )
            ));
        }
    }
    body.push_str(&format!("\n{}\n{}", complaint(policy), signature(policy)));
    mail(
        "request_fulfilled",
        request,
        to,
        format!("Your request is done (reference {})", request.id),
        body,
    )
}
