//! Warnings: a policy that parses and resolves can still be legally weak. Each lint looks at the
//! validated policy and points back into the file through the raw one.

use crate::finding::Code;
use crate::model::{Activity, ClockStart, LegalBasis, Policy, Role, Safeguard};
use crate::raw::{RawPolicy, Text};
use crate::taxonomy;
use crate::validate::Ctx;

/// Runs every lint. Only called on a policy without errors, so raw and validated lists line up
/// index by index.
pub(crate) fn lint(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    unused(ctx, raw, policy);
    activities(ctx, raw, policy);
    retention_grounds(ctx, raw, policy);
    national_ids(ctx, raw, policy);
    derogations(ctx, raw, policy);
    clock_start(ctx, raw, policy);
    kept_with_no_end(ctx, raw, policy);
    security_measures(ctx, raw, policy);
    controller_recipients(ctx, raw, policy);
}

/// What one kind of declaration is called, and how an activity refers to it.
struct Declaration {
    code: Code,
    table: &'static str,
    referenced_by: fn(&Activity) -> &Vec<String>,
    message: fn(&str) -> String,
    hint: &'static str,
}

const UNUSED: [Declaration; 4] = [
    Declaration {
        code: Code::UnusedCategory,
        table: "category",
        referenced_by: |a| &a.categories,
        message: |key| format!("the category `{key}` is collected by no processing activity"),
        hint: "name it in the `categories` of the activity that uses it, or remove it: data with no purpose may not be kept (Art. 5(1)(b))",
    },
    Declaration {
        code: Code::UnusedSubject,
        table: "subject",
        referenced_by: |a| &a.subjects,
        message: |key| format!("no processing activity concerns the subject kind `{key}`"),
        hint: "name it in the `subjects` of an activity, or remove it",
    },
    Declaration {
        code: Code::UnusedRecipient,
        table: "recipient",
        referenced_by: |a| &a.recipients,
        message: |id| format!("the recipient `{id}` receives data for no processing activity"),
        hint: "name it in the `recipients` of the activity it serves, or remove it from the list people are told about",
    },
    Declaration {
        code: Code::UnusedRetention,
        table: "retention",
        referenced_by: |a| &a.retention,
        message: |id| format!("no processing activity uses the retention rule `{id}`"),
        hint: "name it in the `retention` of the activity it governs, or remove it",
    },
];

fn unused(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    let declared: [Vec<&Text>; 4] = [
        raw.categories.iter().map(|c| &c.get_ref().key).collect(),
        raw.subjects.iter().map(|s| &s.get_ref().key).collect(),
        raw.recipients.iter().map(|r| &r.get_ref().id).collect(),
        raw.retention_rules
            .iter()
            .map(|r| &r.get_ref().id)
            .collect(),
    ];
    for (declaration, ids) in UNUSED.iter().zip(declared) {
        for id in ids {
            let key = id.get_ref().as_str();
            let used = policy
                .activities
                .iter()
                .any(|a| (declaration.referenced_by)(a).iter().any(|x| x == key))
                || (declaration.code == Code::UnusedRetention
                    && (policy.fallback_rule().is_some_and(|r| r.id == key)
                        || policy.ledger_retention.as_deref() == Some(key)));
            if !used {
                ctx.report(
                    declaration.code,
                    id.span(),
                    format!("{}[{key}]", declaration.table),
                    (declaration.message)(key),
                    Some(declaration.hint.into()),
                );
            }
        }
    }
}

fn activities(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    for (activity, raw_activity) in policy.activities.iter().zip(&raw.activities) {
        let path = format!("activity[{}]", activity.id);
        if activity.retention.is_empty() {
            ctx.report(
                Code::ActivityWithoutRetention,
                raw_activity.span(),
                path.clone(),
                format!("the activity `{}` has no retention rule, so its data would be kept forever", activity.id),
                Some("add `retention = [\"…\"]` naming a [[retention]] rule (Art. 5(1)(e), Art. 13(2)(a))".into()),
            );
        } else {
            let raw_categories = raw_activity
                .get_ref()
                .categories
                .as_ref()
                .map(|c| c.get_ref());
            for (i, category) in activity.categories.iter().enumerate() {
                if policy.rules_for(activity, category).next().is_none() {
                    let span = raw_categories
                        .and_then(|c| c.get(i))
                        .map_or(raw_activity.span(), |c| c.span());
                    ctx.report(
                        Code::ActivityWithoutRetention,
                        span,
                        format!("{path}.categories[{i}]"),
                        format!("none of the retention rules of `{}` covers `{category}`", activity.id),
                        Some("add a rule without `categories`, or add this category to one of the rules the activity names".into()),
                    );
                }
            }
        }
        if activity.basis == Some(LegalBasis::Consent)
            && activity.withdrawal.is_none()
            && policy.rights.consent_withdrawal.is_none()
        {
            ctx.report(
                Code::ConsentWithoutWithdrawal,
                raw_activity.get_ref().basis.as_ref().map_or(raw_activity.span(), |b| b.span()),
                format!("{path}.basis"),
                format!("the activity `{}` relies on consent but says nowhere how to withdraw it", activity.id),
                Some("add `withdrawal = \"…\"` to the activity, or `consent_withdrawal = \"…\"` under [rights]: withdrawing must be as easy as giving (Art. 7(3))".into()),
            );
        }
        if activity.basis == Some(LegalBasis::LegalObligation)
            && activity.law.as_deref().is_some_and(cites_article_32)
        {
            ctx.report(
                Code::SecurityIsNotARetentionLaw,
                raw_activity.get_ref().basis.as_ref().map_or(raw_activity.span(), |b| b.span()),
                format!("{path}.law"),
                format!("the activity `{}` rests on Art. 32 GDPR as a legal obligation, but Art. 32 requires security measures and obliges no one to keep any data", activity.id),
                Some("rest it on legitimate interests (network and information security, Recital 49) and keep Art. 32 in its description, or name the law that requires keeping the data".into()),
            );
        }
        if activity.basis == Some(LegalBasis::LegalObligation) && activity.law.is_none() {
            ctx.report(
                Code::LegalObligationWithoutLaw,
                raw_activity.get_ref().basis.as_ref().map_or(raw_activity.span(), |b| b.span()),
                format!("{path}.basis"),
                format!("the activity `{}` relies on a legal obligation but does not name the law", activity.id),
                Some("add `law = \"…\"` naming the act and section (Art. 6(3) requires the obligation to be laid down by law)".into()),
            );
        }
    }
}

fn retention_grounds(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    for (rule, raw_rule) in policy.retention_rules.iter().zip(&raw.retention_rules) {
        let Some(law_period) = rule.law_period else {
            continue;
        };
        if rule.keep.is_longer_than(&law_period) {
            ctx.report(
                Code::RetentionExceedsLegalGround,
                raw_rule.get_ref().keep.span(),
                format!("retention[{}].keep", rule.id),
                format!(
                    "the rule `{}` keeps data for {} but the law it cites sets {}",
                    rule.id, rule.keep, law_period
                ),
                Some(format!(
                    "shorten `keep` to `{law_period}`, or state the further ground in `law`"
                )),
            );
        }
    }
}

fn national_ids(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    for (category, raw_category) in policy.categories.iter().zip(&raw.categories) {
        let is_national_id = taxonomy::is_within(&category.key, taxonomy::NATIONAL_ID)
            || category
                .parent
                .as_deref()
                .is_some_and(|p| taxonomy::is_within(p, taxonomy::NATIONAL_ID));
        if is_national_id
            && category
                .ground
                .as_deref()
                .is_none_or(|g| g.trim().is_empty())
        {
            ctx.report(
                Code::NationalIdWithoutGround,
                raw_category.get_ref().key.span(),
                format!("category[{}]", category.key),
                "national identity numbers are collected without a stated ground",
                Some("add `ground = \"…\"` saying when and under which law they are needed (Art. 87 GDPR lets member states set conditions, e.g. section 29 of the Finnish Data Protection Act)".into()),
            );
        }
    }
}

/// Art. 49 derogations are for occasional transfers in specific situations (EDPB Guidelines
/// 2/2018); a recipient named in an activity receives data as a matter of course and needs an
/// adequacy decision or an Art. 46 safeguard instead.
fn derogations(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    for (recipient, raw_recipient) in policy.recipients.iter().zip(&raw.recipients) {
        if recipient.safeguard != Some(Safeguard::Derogation) {
            continue;
        }
        let Some(activity) = policy
            .activities
            .iter()
            .find(|a| a.recipients.contains(&recipient.id))
        else {
            continue;
        };
        let span = raw_recipient
            .get_ref()
            .safeguard
            .as_ref()
            .map_or_else(|| raw_recipient.get_ref().id.span(), |s| s.span());
        ctx.report(
            Code::DerogationForRegularTransfer,
            span,
            format!("recipient[{}].safeguard", recipient.id),
            format!(
                "`{}` receives data regularly (activity `{}`), but its transfer rests on an Art. 49 derogation, which covers occasional transfers only",
                recipient.id, activity.id
            ),
            Some("put the transfer under standard contractual clauses (`scc_2021_914`) or binding corporate rules (`bcr`), or keep it out of regular activities".into()),
        );
    }
}

/// Art. 12(3) counts the month from receipt. Starting it at verification is accepted only where
/// the controller has reasonable doubts about who asks (Art. 12(6); EDPB Guidelines 01/2022 on
/// the right of access), not as the rule for every request.
fn clock_start(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    if policy.rights.clock_starts != ClockStart::Verification {
        return;
    }
    let Some(value) = raw
        .rights
        .as_ref()
        .and_then(|r| r.get_ref().clock_starts.as_ref())
    else {
        return;
    };
    ctx.report(
        Code::ClockStartsAtVerification,
        value.span(),
        "rights.clock_starts",
        "every request's period starts only once the person's identity is confirmed, but Art. 12(3) GDPR counts it from receipt",
        Some("use `receipt` (the default); confirming identity is part of the month, and only a request with reasonable doubts about who asks (Art. 12(6)) waits for it".into()),
    );
}

/// A category whose every activity keeps data only for people with a relationship (consent, a
/// contract, an account): the records of someone for whom none was ever recorded have no end
/// of life the engine can date. The sweeper leaves them and the forecast lists them; the policy
/// should rather give one activity a period that needs no such event.
fn kept_with_no_end(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    use crate::model::Anchor;
    if policy.fallback_rule().is_some() {
        return;
    }
    for raw_category in &raw.categories {
        let key = raw_category.get_ref().key.get_ref().as_str();
        let mut users = policy.activities.iter().filter(|a| {
            a.role == Role::Controller && a.categories.iter().any(|c| taxonomy::is_within(key, c))
        });
        let mut any = false;
        let dated = users.any(|a| {
            any = true;
            a.basis != Some(LegalBasis::Consent)
                && policy.rules_for(a, key).any(|rule| {
                    // An opt-out keeps data until the person opts out: it applies to everyone.
                    matches!(
                        rule.after,
                        Anchor::Collected | Anchor::LastInteraction | Anchor::Unsubscribe
                    )
                })
        });
        if any && !dated {
            ctx.report(
                Code::KeptWithNoEnd,
                raw_category.span(),
                format!("category[{key}]"),
                format!("records of `{key}` have no end for a person to whom none of its activities applies (no consent, contract or account recorded)"),
                Some("add a `[[retention]]` rule with `fallback = true` for such records, give one of its activities a rule counted from `collected` or `last_interaction`, or always record the events (`account_opened`, `contract_start`, `consent_given`) that make an activity apply; `ombud retention forecast` lists such records as kept with no end".into()),
            );
        }
    }
}

/// Whether a law reference is Art. 32 GDPR ("Article 32(1) GDPR", "Art. 32 GDPR").
fn cites_article_32(law: &str) -> bool {
    let law = law.to_lowercase();
    let gdpr = law.contains("gdpr") || law.contains("2016/679");
    let article = ["article 32", "art. 32", "art 32"].iter().any(|a| {
        law.match_indices(a).any(|(i, _)| {
            // "Article 32" but not "Article 320".
            !law[i + a.len()..].starts_with(|c: char| c.is_ascii_digit())
        })
    });
    gdpr && article
}

/// Art. 30(1)(g) and 30(2)(d): the record describes the security measures of every activity;
/// a policy with activities and no measures leaves that column empty.
fn security_measures(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    if policy.activities.is_empty() || !policy.security.measures.is_empty() {
        return;
    }
    ctx.report(
        Code::NoSecurityMeasures,
        raw.controller.span(),
        "security.measures",
        "the policy describes no technical and organisational security measures, so its record of processing (Art. 30(1)(g), 30(2)(d)) and its notice say nothing about them",
        Some("add `[security] measures = [\"…\"]` with a general description of the measures".into()),
    );
}

/// Art. 30(1)(d) beside Art. 13(1)(e): where the notice tells people of recipients but the
/// controller's own activities name none, the record and the notice disagree. A recipient used
/// only for customers' data (a sub-processor) is in the processor's record, not this one; the
/// operator's own data usually reaches some of them too (hosting, mail).
fn controller_recipients(ctx: &mut Ctx, raw: &RawPolicy, policy: &Policy) {
    let mut controller = policy
        .activities
        .iter()
        .zip(&raw.activities)
        .filter(|(a, _)| a.role == Role::Controller);
    let Some((first, raw_first)) = controller.clone().next() else {
        return;
    };
    if policy.recipients.is_empty() || controller.any(|(a, _)| !a.recipients.is_empty()) {
        return;
    }
    let named: Vec<&str> = policy.recipients.iter().map(|r| r.name.as_str()).collect();
    ctx.report(
        Code::ControllerRecordWithoutRecipients,
        raw_first.span(),
        format!("activity[{}].recipients", first.id),
        format!(
            "the notice names {} recipient(s) ({}), but none of the controller's own activities discloses to one, so the record of processing lists no recipients (Art. 30(1)(d))",
            named.len(),
            named.join(", ")
        ),
        Some("add the recipients that receive your own data (hosting, mail, payment, authorities) to the `recipients` of the activities they serve".into()),
    );
}
