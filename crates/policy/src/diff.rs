//! Compares two versions of a policy. Each change is material (people or customers must be told
//! before it applies: a new purpose, category, recipient or third-country transfer, a longer
//! retention, a changed legal basis, a removed right) or editorial. Where anything is material,
//! a draft change notice for customers comes with it.

use crate::countries;
use crate::model::*;
use crate::render::capitalise;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Material,
    Editorial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: Kind,
    pub code: &'static str,
    pub path: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub old_version: String,
    pub new_version: String,
    pub material: bool,
    pub changes: Vec<Change>,
    /// A draft notice to customers, present when any change is material.
    pub change_notice: Option<String>,
}

struct Changes(Vec<Change>);

impl Changes {
    fn material(
        &mut self,
        code: &'static str,
        path: impl Into<String>,
        summary: impl Into<String>,
    ) {
        self.0.push(Change {
            kind: Kind::Material,
            code,
            path: path.into(),
            summary: summary.into(),
        });
    }

    fn editorial(
        &mut self,
        code: &'static str,
        path: impl Into<String>,
        summary: impl Into<String>,
    ) {
        self.0.push(Change {
            kind: Kind::Editorial,
            code,
            path: path.into(),
            summary: summary.into(),
        });
    }

    /// Every changed field of two serialised values that no specific rule has looked at.
    fn fields(&mut self, path: &str, old: &impl Serialize, new: &impl Serialize, skip: &[&str]) {
        let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
            return;
        };
        self.values(path, &old, &new, skip);
    }

    fn values(&mut self, path: &str, old: &Value, new: &Value, skip: &[&str]) {
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => {
                let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
                for key in keys.into_iter().filter(|k| !skip.contains(&k.as_str())) {
                    let (a, b) = (
                        old.get(key).unwrap_or(&Value::Null),
                        new.get(key).unwrap_or(&Value::Null),
                    );
                    self.values(&format!("{path}.{key}"), a, b, &[]);
                }
            }
            (a, b) if a != b => self.editorial(
                "changed",
                path.trim_start_matches('.'),
                describe(path, a, b),
            ),
            _ => {}
        }
    }
}

fn describe(path: &str, old: &Value, new: &Value) -> String {
    let show = |v: &Value| match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => format!("\"{}\"", shorten(s)),
        other => shorten(&other.to_string()),
    };
    format!(
        "{} changed from {} to {}",
        path.trim_start_matches('.'),
        show(old),
        show(new)
    )
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Compares `old` (the published version) with `new`.
pub fn diff(old: &Policy, new: &Policy) -> DiffReport {
    let mut changes = Changes(Vec::new());
    subjects(&mut changes, old, new);
    categories(&mut changes, old, new);
    activities(&mut changes, old, new);
    retention(&mut changes, old, new);
    recipients(&mut changes, old, new);
    rights(&mut changes, old, new);
    sections(&mut changes, old, new);
    let mut changes = changes.0;
    changes.sort_by_key(|c| c.kind);
    let material = changes.iter().any(|c| c.kind == Kind::Material);
    DiffReport {
        old_version: old.version.0.clone(),
        new_version: new.version.0.clone(),
        material,
        change_notice: material.then(|| change_notice(new, &changes)),
        changes,
    }
}

fn subjects(changes: &mut Changes, old: &Policy, new: &Policy) {
    for subject in &new.subjects {
        match old.subject(&subject.key) {
            None => changes.material(
                "new-subject-kind",
                format!("subject[{}]", subject.key),
                format!("data about a new group of people: {}", subject.name),
            ),
            Some(before) => {
                changes.fields(&format!("subject[{}]", subject.key), before, subject, &[])
            }
        }
    }
    for subject in old
        .subjects
        .iter()
        .filter(|s| new.subject(&s.key).is_none())
    {
        changes.editorial(
            "removed-subject-kind",
            format!("subject[{}]", subject.key),
            format!("no longer processes data about {}", subject.name),
        );
    }
}

fn categories(changes: &mut Changes, old: &Policy, new: &Policy) {
    for category in &new.categories {
        match old.category(&category.key) {
            None => changes.material(
                "new-category",
                format!("category[{}]", category.key),
                format!(
                    "a new category of personal data is collected: {}",
                    category.name
                ),
            ),
            Some(before) => changes.fields(
                &format!("category[{}]", category.key),
                before,
                category,
                &[],
            ),
        }
    }
    for category in old
        .categories
        .iter()
        .filter(|c| new.category(&c.key).is_none())
    {
        changes.editorial(
            "removed-category",
            format!("category[{}]", category.key),
            format!("{} is no longer collected", category.name),
        );
    }
}

fn activities(changes: &mut Changes, old: &Policy, new: &Policy) {
    for activity in &new.activities {
        let path = format!("activity[{}]", activity.id);
        let Some(before) = old.activity(&activity.id) else {
            let basis = activity
                .basis
                .map_or("the customer's instructions".to_owned(), |b| {
                    b.label().to_lowercase()
                });
            changes.material(
                "new-purpose",
                path,
                format!(
                    "a new purpose: {} (on the basis of {basis})",
                    activity.purpose
                ),
            );
            continue;
        };
        if before.basis != activity.basis {
            let label =
                |b: Option<LegalBasis>| b.map_or("the customer's instructions", LegalBasis::label);
            changes.material(
                "changed-legal-basis",
                format!("{path}.basis"),
                format!(
                    "the legal basis of \"{}\" changes from {} to {}",
                    activity.purpose,
                    label(before.basis),
                    label(activity.basis)
                ),
            );
        }
        if before.role != activity.role {
            changes.material(
                "changed-role",
                format!("{path}.role"),
                format!(
                    "for \"{}\" we now act as {} instead of {}",
                    activity.purpose,
                    activity.role.as_str(),
                    before.role.as_str()
                ),
            );
        }
        for key in added(&before.categories, &activity.categories) {
            // A category new to the whole policy is reported once, where it is declared.
            if old.category(key).is_some() {
                let name = new.category(key).map_or(key.as_str(), |c| c.name.as_str());
                changes.material(
                    "new-category",
                    format!("{path}.categories"),
                    format!("\"{}\" now also uses {name}", activity.purpose),
                );
            }
        }
        for key in added(&activity.categories, &before.categories) {
            changes.editorial(
                "removed-category",
                format!("{path}.categories"),
                format!("\"{}\" no longer uses {key}", activity.purpose),
            );
        }
        for key in added(&before.subjects, &activity.subjects) {
            if old.subject(key).is_some() {
                changes.material(
                    "new-subject-kind",
                    format!("{path}.subjects"),
                    format!("\"{}\" now also concerns {key}", activity.purpose),
                );
            }
        }
        for id in added(&before.recipients, &activity.recipients) {
            if old.recipient(id).is_some() {
                let name = new.recipient(id).map_or(id.as_str(), |r| r.name.as_str());
                changes.material(
                    "new-recipient",
                    format!("{path}.recipients"),
                    format!("data for \"{}\" now also goes to {name}", activity.purpose),
                );
            }
        }
        for id in added(&activity.recipients, &before.recipients) {
            changes.editorial(
                "removed-recipient",
                format!("{path}.recipients"),
                format!("data for \"{}\" no longer goes to {id}", activity.purpose),
            );
        }
        for id in added(&before.retention, &activity.retention) {
            changes.material(
                "longer-retention",
                format!("{path}.retention"),
                format!(
                    "\"{}\" gains the retention rule {id}, a further reason to keep its data",
                    activity.purpose
                ),
            );
        }
        for id in added(&activity.retention, &before.retention) {
            changes.editorial(
                "shorter-retention",
                format!("{path}.retention"),
                format!("\"{}\" no longer keeps data under {id}", activity.purpose),
            );
        }
        if activity.special_condition != before.special_condition
            && activity.special_condition.is_some()
        {
            changes.material(
                "changed-legal-basis",
                format!("{path}.special_condition"),
                format!(
                    "\"{}\" relies on a new condition for special-category data",
                    activity.purpose
                ),
            );
        }
        changes.fields(
            &path,
            before,
            activity,
            &[
                "basis",
                "role",
                "categories",
                "subjects",
                "recipients",
                "retention",
                "special_condition",
            ],
        );
    }
    for activity in old
        .activities
        .iter()
        .filter(|a| new.activity(&a.id).is_none())
    {
        changes.editorial(
            "removed-purpose",
            format!("activity[{}]", activity.id),
            format!("the purpose \"{}\" ends", activity.purpose),
        );
    }
}

fn added<'a>(before: &'a [String], after: &'a [String]) -> impl Iterator<Item = &'a String> {
    after.iter().filter(move |x| !before.contains(x))
}

fn retention(changes: &mut Changes, old: &Policy, new: &Policy) {
    for rule in &new.retention_rules {
        let path = format!("retention[{}]", rule.id);
        let Some(before) = old.retention_rule(&rule.id) else {
            continue;
        };
        let rendered = crate::render::retention_period(rule);
        if rule.keep.is_longer_than(&before.keep)
            || (rule.from_end_of_year && !before.from_end_of_year)
        {
            changes.material(
                "longer-retention",
                format!("{path}.keep"),
                format!(
                    "data under the retention rule {} is kept longer: {rendered} (was {})",
                    rule.id,
                    crate::render::retention_period(before)
                ),
            );
        } else if before.keep.is_longer_than(&rule.keep) {
            changes.editorial(
                "shorter-retention",
                format!("{path}.keep"),
                format!(
                    "data under the retention rule {} is kept for less time: {rendered}",
                    rule.id
                ),
            );
        }
        if rule.after != before.after {
            changes.material(
                "longer-retention",
                format!("{path}.after"),
                format!("the retention period now counts from a different event: {rendered}"),
            );
        }
        if rule.categories.len() > before.categories.len() && !before.categories.is_empty()
            || (rule.categories.is_empty() && !before.categories.is_empty())
        {
            changes.material(
                "longer-retention",
                format!("{path}.categories"),
                format!("the rule {} now covers more data", rule.id),
            );
        }
        changes.fields(
            &path,
            before,
            rule,
            &["keep", "after", "categories", "from_end_of_year"],
        );
    }
    let rules = |p: &Policy| {
        p.retention_rules
            .iter()
            .map(|r| r.id.clone())
            .collect::<BTreeSet<_>>()
    };
    let (before, after) = (rules(old), rules(new));
    for id in after.difference(&before) {
        changes.editorial(
            "new-retention-rule",
            format!("retention[{id}]"),
            format!("a new retention rule {id}; it matters where an activity uses it"),
        );
    }
    for id in before.difference(&after) {
        changes.editorial(
            "removed-retention-rule",
            format!("retention[{id}]"),
            format!("the retention rule {id} is gone"),
        );
    }
    if let (Some(before), Some(after)) = (
        old.backups.as_ref().and_then(|b| b.keep),
        new.backups.as_ref().and_then(|b| b.keep),
    ) && after.is_longer_than(&before)
    {
        changes.material(
            "longer-retention",
            "backups.keep",
            format!("backups are kept longer: {after} (was {before})"),
        );
    }
    match (old.audit.as_ref(), new.audit.as_ref()) {
        (Some(before), Some(after)) if after.keep.is_longer_than(&before.keep) => {
            changes.material(
                "longer-retention",
                "audit.keep",
                format!(
                    "the audit log is kept longer: {} (was {})",
                    after.keep, before.keep
                ),
            );
        }
        (Some(before), None) => changes.material(
            "longer-retention",
            "audit.keep",
            format!("the audit log is kept for good (was {})", before.keep),
        ),
        (None, Some(after)) => changes.editorial(
            "changed",
            "audit.keep",
            format!("the audit log is now deleted after {}", after.keep),
        ),
        (Some(before), Some(after)) if before.keep != after.keep => changes.editorial(
            "changed",
            "audit.keep",
            format!(
                "the audit log is kept for a shorter time: {} (was {})",
                after.keep, before.keep
            ),
        ),
        _ => {}
    }
}

fn country_name(code: Option<&str>) -> &str {
    code.map_or("an unstated country", |c| countries::name(c).unwrap_or(c))
}

fn recipients(changes: &mut Changes, old: &Policy, new: &Policy) {
    for recipient in &new.recipients {
        let path = format!("recipient[{}]", recipient.id);
        match old.recipient(&recipient.id) {
            None => {
                changes.material(
                    "new-recipient",
                    path.clone(),
                    format!(
                        "a new recipient: {} ({}, {})",
                        recipient.name,
                        recipient.purpose,
                        country_name(recipient.country.as_deref())
                    ),
                );
                if recipient.transfers_outside_eea() {
                    changes.material(
                        "new-third-country-transfer",
                        format!("{path}.country"),
                        format!(
                            "data goes to {} in {}, outside the EEA",
                            recipient.name,
                            country_name(recipient.country.as_deref())
                        ),
                    );
                }
            }
            Some(before) => {
                if recipient.country != before.country && recipient.transfers_outside_eea() {
                    changes.material(
                        "new-third-country-transfer",
                        format!("{path}.country"),
                        format!(
                            "{} now processes data in {}, outside the EEA (was {})",
                            recipient.name,
                            country_name(recipient.country.as_deref()),
                            country_name(before.country.as_deref())
                        ),
                    );
                }
                changes.fields(&path, before, recipient, &["country"]);
                if recipient.country != before.country && !recipient.transfers_outside_eea() {
                    changes.editorial(
                        "changed",
                        format!("{path}.country"),
                        format!(
                            "{} now processes data in {}",
                            recipient.name,
                            country_name(recipient.country.as_deref())
                        ),
                    );
                }
            }
        }
    }
    for recipient in old
        .recipients
        .iter()
        .filter(|r| new.recipient(&r.id).is_none())
    {
        changes.editorial(
            "removed-recipient",
            format!("recipient[{}]", recipient.id),
            format!("{} no longer receives data", recipient.name),
        );
    }
}

fn rights(changes: &mut Changes, old: &Policy, new: &Policy) {
    let (before, after) = (&old.rights, &new.rights);
    for right in before.offered.iter().filter(|r| !after.offered.contains(r)) {
        changes.material(
            "removed-right",
            "rights.offered",
            format!(
                "the notice no longer offers the {}",
                right.label().to_lowercase()
            ),
        );
    }
    if after.response_time.is_longer_than(&before.response_time) {
        changes.material(
            "longer-response-time",
            "rights.response_time",
            format!(
                "requests are answered within {} (was {})",
                after.response_time, before.response_time
            ),
        );
    }
    if after.extension.is_longer_than(&before.extension) {
        changes.material(
            "longer-response-time",
            "rights.extension",
            format!(
                "the response time may be extended by {} (was {})",
                after.extension, before.extension
            ),
        );
    }
    if before.clock_starts == ClockStart::Receipt && after.clock_starts == ClockStart::Verification
    {
        changes.material(
            "longer-response-time",
            "rights.clock_starts",
            "the response time now counts from identity verification instead of receipt",
        );
    }
    changes.fields(
        "rights",
        before,
        after,
        &["offered", "response_time", "extension", "clock_starts"],
    );
}

fn sections(changes: &mut Changes, old: &Policy, new: &Policy) {
    if new
        .breach
        .notify_within
        .is_longer_than(&old.breach.notify_within)
    {
        changes.material(
            "longer-breach-notice",
            "breach.notify_within",
            format!(
                "breaches are notified within {} (was {})",
                new.breach.notify_within, old.breach.notify_within
            ),
        );
    }
    for party in old
        .breach
        .notify
        .iter()
        .filter(|p| !new.breach.notify.contains(p))
    {
        changes.material(
            "removed-breach-notification",
            "breach.notify",
            format!("breaches are no longer notified to {}", party.as_str()),
        );
    }
    changes.fields(
        "breach",
        &old.breach,
        &new.breach,
        &["notify_within", "notify"],
    );
    let cookies_used = |p: &Policy| p.cookies.as_ref().is_some_and(|c| c.used);
    if cookies_used(new) && !cookies_used(old) {
        changes.material(
            "new-purpose",
            "cookies.used",
            "the website starts to use cookies",
        );
    }
    if let (Some(before), Some(after)) = (&old.cookies, &new.cookies) {
        for purpose in after
            .purposes
            .iter()
            .filter(|p| !before.purposes.contains(p))
        {
            changes.material(
                "new-purpose",
                "cookies.purposes",
                format!("cookies are now also used for {}", purpose.as_str()),
            );
        }
    }
    changes.fields("cookies", &old.cookies, &new.cookies, &["used", "purposes"]);
    let automated = |p: &Policy| p.automated_decisions.as_ref().is_some_and(|a| a.used);
    if automated(new) && !automated(old) {
        changes.material(
            "new-purpose",
            "automated_decisions.used",
            "decisions based solely on automated processing begin",
        );
    }
    changes.fields(
        "automated_decisions",
        &old.automated_decisions,
        &new.automated_decisions,
        &["used"],
    );
    if let (Some(before), Some(after)) = (&old.children, &new.children)
        && after.minimum_age < before.minimum_age
    {
        changes.material(
            "new-subject-kind",
            "children.minimum_age",
            format!(
                "data of children from {} may be collected (was {})",
                after.minimum_age, before.minimum_age
            ),
        );
    }
    changes.fields("children", &old.children, &new.children, &["minimum_age"]);
    changes.fields("controller", &old.controller, &new.controller, &[]);
    changes.fields("authority", &old.authority, &new.authority, &[]);
    changes.fields("notice", &old.notice, &new.notice, &["last_updated"]);
    changes.fields("security", &old.security, &new.security, &[]);
    let sells = |p: &Policy| p.sharing.as_ref().is_some_and(|s| s.sells_data);
    if sells(new) && !sells(old) {
        changes.material(
            "new-recipient",
            "sharing.sells_data",
            "personal data may now be sold",
        );
    }
    changes.fields("sharing", &old.sharing, &new.sharing, &["sells_data"]);
    changes.fields("changes", &old.changes, &new.changes, &[]);
    changes.fields("backups", &old.backups, &new.backups, &["keep"]);
    for kind in &new.notice_kinds {
        match old.notice_kinds.iter().find(|k| k.key == kind.key) {
            None => changes.editorial(
                "new-notice-kind",
                format!("notice_kind[{}]", kind.key),
                format!("a new kind of service message: {}", kind.name),
            ),
            Some(before) => {
                if before.mandatory != kind.mandatory && kind.mandatory {
                    changes.material(
                        "new-purpose",
                        format!("notice_kind[{}].mandatory", kind.key),
                        format!("{} messages can no longer be opted out of", kind.name),
                    );
                }
                changes.fields(
                    &format!("notice_kind[{}]", kind.key),
                    before,
                    kind,
                    &["mandatory"],
                );
            }
        }
    }
}

fn change_notice(new: &Policy, changes: &[Change]) -> String {
    let c = &new.controller;
    let date = crate::render::long_date(new.notice.last_updated);
    let mut text = format!(
        "Subject: Changes to the {} of {} from {date}\n\nDear customer,\n\nWe are updating our {}. The new version applies from {date}. These changes may matter to you and to the people whose data you entrust to us:\n\n",
        new.notice.title.to_lowercase(),
        c.name,
        new.notice.title.to_lowercase()
    );
    for change in changes.iter().filter(|c| c.kind == Kind::Material) {
        text.push_str(&format!("- {}\n", capitalise(&change.summary)));
    }
    let recipients_changed = changes.iter().any(|c| {
        c.kind == Kind::Material && matches!(c.code, "new-recipient" | "new-third-country-transfer")
    });
    if recipients_changed {
        match new.changes.objection_window {
            Some(window) => text.push_str(&format!(
                "\nIf you object to a new sub-processor or transfer, tell us within {window} of this notice by writing to {}.\n",
                new.rights.contact
            )),
            None => text.push_str(&format!(
                "\nIf you object to a new sub-processor or transfer, tell us by writing to {}.\n",
                new.rights.contact
            )),
        }
    }
    text.push_str(&format!(
        "\nThe full text of the new version is available from us on request and where we publish it. Questions are welcome at {}.\n\nKind regards,\n{}\n",
        new.rights.contact, c.name
    ));
    text
}

impl DiffReport {
    /// The report for a terminal: material changes first, then editorial ones, then the draft.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.changes.is_empty() {
            out.push_str("no changes\n");
            return out;
        }
        for (kind, title) in [
            (Kind::Material, "material changes"),
            (Kind::Editorial, "editorial changes"),
        ] {
            let of_kind: Vec<&Change> = self.changes.iter().filter(|c| c.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            out.push_str(&format!("{title} ({}):\n", of_kind.len()));
            for change in of_kind {
                out.push_str(&format!(
                    "  [{}] {}: {}\n",
                    change.code, change.path, change.summary
                ));
            }
            out.push('\n');
        }
        if let Some(notice) = &self.change_notice {
            out.push_str("draft change notice for customers:\n\n");
            for line in notice.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }
}
