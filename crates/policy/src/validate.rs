//! The second parsing stage: from [`RawPolicy`] to a validated [`Policy`]. Every error is
//! collected (not just the first), each with its position, the offending path and the fix.

use crate::countries;
use crate::duration::Duration;
use crate::finding::{Code, Finding, LineIndex};
use crate::limits::{Limit, legal_limit, objection_window_required};
use crate::model::*;
use crate::raw::*;
use crate::suggest::nearest;
use crate::taxonomy::{self, Sensitivity};
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;

pub(crate) struct Ctx<'s> {
    source: &'s str,
    lines: LineIndex,
    pub(crate) findings: Vec<Finding>,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Ctx {
            source,
            lines: LineIndex::new(source),
            findings: Vec::new(),
        }
    }

    pub(crate) fn report(
        &mut self,
        code: Code,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (line, column) = self.lines.position(self.source, span.start);
        self.findings.push(Finding {
            code,
            severity: code.severity(),
            path: path.into(),
            line,
            column,
            message: message.into(),
            hint,
            span,
        });
    }

    fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == crate::Severity::Error)
    }

    fn choice<T: Choice + PartialEq>(&mut self, value: &Text, path: &str) -> Option<T> {
        let text = value.get_ref();
        if let Some(parsed) = T::parse(text) {
            return Some(parsed);
        }
        let choices = T::names()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let hint = match nearest(text, T::names()) {
            Some(best) => format!("did you mean `{best}`? {} is one of {choices}", T::WHAT),
            None => format!("a {} is one of {choices}", T::WHAT),
        };
        self.report(
            Code::InvalidValue,
            value.span(),
            path,
            format!("`{text}` is not a {}", T::WHAT),
            Some(hint),
        );
        None
    }

    fn choices<T: Choice + PartialEq>(&mut self, values: &[Text], path: &str) -> Vec<T> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, value)| self.choice(value, &format!("{path}[{i}]")))
            .collect()
    }

    fn duration(&mut self, value: &Text, path: &str) -> Option<Duration> {
        match value.get_ref().parse::<Duration>() {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.report(
                    Code::InvalidDuration,
                    value.span(),
                    path,
                    format!("`{}` is not a duration", value.get_ref()),
                    Some(error.to_string()),
                );
                None
            }
        }
    }

    fn country(&mut self, value: &Text, path: &str) -> Option<String> {
        let code = value.get_ref().trim().to_uppercase();
        if countries::name(&code).is_some() && value.get_ref().len() == 2 {
            return Some(code);
        }
        let hint = match nearest(&code, countries::all_codes()) {
            Some(best) if code.len() == 2 => format!(
                "write the two-letter ISO 3166-1 code, e.g. `{best}` ({})",
                countries::name(best).unwrap_or_default()
            ),
            _ => "write the two-letter ISO 3166-1 code, e.g. `FI` for Finland or `US` for the United States".into(),
        };
        self.report(
            Code::InvalidCountry,
            value.span(),
            path,
            format!(
                "`{}` is not an ISO 3166-1 alpha-2 country code",
                value.get_ref()
            ),
            Some(hint),
        );
        None
    }

    fn email(&mut self, value: &Text, path: &str) -> String {
        let text = value.get_ref().trim();
        let plausible = text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }) && !text.contains(char::is_whitespace);
        if !plausible {
            self.report(
                Code::InvalidEmail,
                value.span(),
                path,
                format!("`{text}` is not an email address"),
                Some("write a full address people can write to, like `privacy@example.com`".into()),
            );
        }
        text.to_owned()
    }

    /// A list that must name at least one thing; returns its items (none when absent).
    fn non_empty<'l>(
        &mut self,
        list: Option<&'l Spanned<TextList>>,
        table_span: Range<usize>,
        path: &str,
        what: &str,
    ) -> &'l [Text] {
        let items = list.map_or(&[][..], |l| l.get_ref().as_slice());
        if items.is_empty() {
            self.report(
                Code::EmptyList,
                list.map_or(table_span, |l| l.span()),
                path,
                format!("`{path}` is empty or missing"),
                Some(format!("list the {what}")),
            );
        }
        items
    }
}

/// `activity[invoicing]`, or `activity[3]` when the id itself is unusable.
fn item_path(table: &str, index: usize, id: &str) -> String {
    if id.is_empty() || id.contains(|c: char| c == ']' || c.is_whitespace()) {
        format!("{table}[{index}]")
    } else {
        format!("{table}[{id}]")
    }
}

fn check_duplicates<'a>(
    ctx: &mut Ctx,
    table: &str,
    ids: impl IntoIterator<Item = (usize, &'a Text)>,
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, id) in ids {
        if let Some(first) = seen.get(id.get_ref().as_str()) {
            let (line, _) = ctx.lines.position(ctx.source, *first);
            ctx.report(
                Code::DuplicateId,
                id.span(),
                item_path(table, index, id.get_ref()),
                format!("`{}` is declared twice in [[{table}]]", id.get_ref()),
                Some(format!(
                    "the first declaration is on line {line}; rename or remove one of them"
                )),
            );
        } else {
            seen.insert(id.get_ref(), id.span().start);
        }
    }
}

fn check_identifier(ctx: &mut Ctx, id: &Text, path: &str) {
    let text = id.get_ref();
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !valid {
        ctx.report(
            Code::InvalidValue,
            id.span(),
            path,
            format!("`{text}` is not a valid id"),
            Some("ids use lowercase letters, digits, `-`, `_` and `.`, like `customer-after-termination`".into()),
        );
    }
}

/// Checks a policy source and builds the validated policy when it has no errors.
pub(crate) fn validate(source: &str) -> (Option<(RawPolicy, Policy)>, Vec<Finding>) {
    let mut ctx = Ctx::new(source);
    // Every unknown key is reported in one run: each is blanked out (offsets kept, so every
    // later finding still points into the file as written) and the file parsed again.
    let mut text = std::borrow::Cow::Borrowed(source);
    let mut rounds = 0;
    let raw: RawPolicy = loop {
        match toml::from_str(&text) {
            // The rest is checked once the keys are right: a misspelt `basiss` would otherwise
            // also read as an activity with no basis.
            Ok(_) if rounds > 0 => return (None, ctx.findings),
            Ok(raw) => break raw,
            Err(error) => {
                crate::toml_error::report(&mut ctx, source, &error);
                let unknown = error.message().starts_with("unknown field `");
                let blank = error
                    .span()
                    .filter(|_| unknown && rounds < 200)
                    .and_then(|span| crate::toml_error::entry_at(&text, span.start));
                let Some(range) = blank else {
                    return (None, ctx.findings);
                };
                text = std::borrow::Cow::Owned(crate::toml_error::blanked(&text, range));
                rounds += 1;
            }
        }
    };
    let policy = build(&mut ctx, &raw, source);
    if ctx.has_errors() {
        (None, ctx.findings)
    } else {
        (Some((raw, policy)), ctx.findings)
    }
}

fn build(ctx: &mut Ctx, raw: &RawPolicy, source: &str) -> Policy {
    let notice = notice(ctx, raw.notice.get_ref());
    let controller = controller(ctx, raw.controller.get_ref());
    let authority = authority(ctx, raw.authority.get_ref());
    let subjects = subjects(ctx, &raw.subjects);
    let categories = categories(ctx, &raw.categories);
    let category_keys: Vec<&str> = categories.iter().map(|c| c.key.as_str()).collect();
    let retention_rules = retention_rules(ctx, &raw.retention_rules, &category_keys);
    let recipients = recipients(ctx, &raw.recipients);
    let notice_kinds = notice_kinds(ctx, &raw.notice_kinds, &raw.activities);
    let declared = Declared {
        subjects: &subjects,
        categories: &categories,
        retention: raw
            .retention_rules
            .iter()
            .map(|r| r.get_ref().id.get_ref().as_str())
            .collect(),
        recipients: raw
            .recipients
            .iter()
            .map(|r| r.get_ref().id.get_ref().as_str())
            .collect(),
    };
    let activities = activities(ctx, &raw.activities, &declared);
    crate::limits::legal_retention_names_a_law(ctx, raw, &activities, &retention_rules);
    let rights = rights(ctx, raw.rights.as_ref().map(|r| r.get_ref()), &controller);
    let breach = breach(ctx, raw.breach.as_ref().map(|b| b.get_ref()));
    let children = raw.children.as_ref().and_then(|c| children(ctx, c));
    let cookies = raw.cookies.as_ref().map(|c| Cookies {
        used: c.used,
        purposes: ctx.choices(&c.purposes, "cookies.purposes"),
        consent: c.consent.clone(),
        policy_url: c.policy_url.clone(),
    });
    let backups = raw.backups.as_ref().and_then(|b| {
        Some(Backups {
            keep: match &b.keep {
                Some(keep) => Some(ctx.duration(keep, "backups.keep")?),
                None => None,
            },
            statement: b.statement.clone(),
        })
    });
    let audit = raw.audit.as_ref().and_then(|a| {
        let keep = ctx.duration(&a.keep, "audit.keep")?;
        // The log proves what was done about requests, erasures and holds; pruning it within
        // months would destroy that proof while complaints about it can still come.
        let floor = Duration::new(6, crate::duration::Unit::Month);
        if floor.is_longer_than(&keep) {
            ctx.report(
                Code::InvalidValue,
                a.keep.span(),
                "audit.keep",
                format!("the audit log would be kept only {keep}"),
                Some("keep the audit log at least `6 months`; `2 years` is common for logs with identifiers".into()),
            );
            return None;
        }
        Some(AuditLog { keep })
    });
    let changes = raw.changes.as_ref().map_or(
        Changes {
            how: None,
            objection_window: None,
        },
        |c| Changes {
            how: c.how.clone(),
            objection_window: c
                .objection_window
                .as_ref()
                .and_then(|w| ctx.duration(w, "changes.objection_window")),
        },
    );
    if changes.objection_window.is_none() {
        objection_window_required(ctx, raw);
    }
    let ledger_retention = raw
        .ledger
        .as_ref()
        .and_then(|l| ledger_rule(ctx, &l.retention, &retention_rules));
    let datasets = datasets(ctx, &raw.datasets, &activities);
    Policy {
        version: PolicyVersion(blake3::hash(source.as_bytes()).to_hex().to_string()),
        notice,
        controller,
        authority,
        subjects,
        categories,
        activities,
        retention_rules,
        recipients,
        notice_kinds,
        sharing: raw.sharing.as_ref().map(|s| Sharing {
            sells_data: s.sells_data,
            statement: s.statement.clone(),
        }),
        rights,
        breach,
        security: Security {
            measures: raw
                .security
                .as_ref()
                .map(|s| s.measures.clone())
                .unwrap_or_default(),
        },
        children,
        cookies,
        automated_decisions: raw
            .automated_decisions
            .as_ref()
            .map(|a| AutomatedDecisions {
                used: a.used,
                description: a.description.clone(),
            }),
        backups,
        audit,
        changes,
        ledger_retention,
        datasets,
    }
}

fn datasets(
    ctx: &mut Ctx,
    raw: &[Spanned<RawDatasetRef>],
    activities: &[Activity],
) -> Vec<DatasetRef> {
    let mut out = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let entry = entry.get_ref();
        let path = format!("dataset[{i}]");
        if entry.file.get_ref().trim().is_empty() {
            ctx.report(
                Code::InvalidValue,
                entry.file.span(),
                format!("{path}.file"),
                "the dataset's file is empty".to_owned(),
                Some(
                    "give the path of a dataset file, relative to this policy: `datasets/app.toml`"
                        .into(),
                ),
            );
        }
        for purpose in &entry.purposes {
            if !activities.iter().any(|a| &a.id == purpose.get_ref()) {
                ctx.report(
                    Code::InvalidValue,
                    purpose.span(),
                    format!("{path}.purposes"),
                    format!("`{}` is not an activity of the policy", purpose.get_ref()),
                    crate::suggest::nearest(
                        purpose.get_ref(),
                        activities.iter().map(|a| a.id.as_str()),
                    )
                    .map(|s| format!("did you mean `{s}`?")),
                );
            }
        }
        out.push(DatasetRef {
            file: entry.file.get_ref().clone(),
            purposes: entry.purposes.iter().map(|p| p.get_ref().clone()).collect(),
            connection: entry.connection.clone(),
            tenant: entry.tenant.clone(),
        });
    }
    out
}

fn notice(ctx: &mut Ctx, raw: &RawNotice) -> NoticeInfo {
    let date_text = match raw.last_updated.get_ref() {
        toml::Value::Datetime(datetime) => datetime.to_string(),
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let last_updated = match date_text.parse::<jiff::civil::Date>() {
        Ok(date) => date,
        Err(_) => {
            ctx.report(
                Code::InvalidDate,
                raw.last_updated.span(),
                "notice.last_updated",
                format!("`{date_text}` is not a date"),
                Some("write the date as YYYY-MM-DD, like `last_updated = 2026-04-26`".into()),
            );
            jiff::civil::Date::default()
        }
    };
    let language = raw
        .language
        .as_ref()
        .map_or_else(|| "en".to_owned(), |l| l.get_ref().clone());
    if let Some(text) = &raw.language {
        let valid = (2..=3).contains(&text.get_ref().len())
            && text.get_ref().chars().all(|c| c.is_ascii_lowercase());
        if !valid {
            ctx.report(
                Code::InvalidValue,
                text.span(),
                "notice.language",
                format!("`{}` is not a language code", text.get_ref()),
                Some("write an ISO 639-1 code in lowercase, like `en` or `fi`".into()),
            );
        }
    }
    NoticeInfo {
        title: raw.title.clone().unwrap_or_else(|| "Privacy notice".into()),
        last_updated,
        language,
        laws: raw.laws.clone(),
        covers: raw.covers.clone(),
        not_covered: raw.not_covered.clone(),
    }
}

fn contact(ctx: &mut Ctx, raw: &RawContact, path: &str) -> Contact {
    Contact {
        name: raw.name.clone(),
        email: raw
            .email
            .as_ref()
            .map(|e| ctx.email(e, &format!("{path}.email"))),
        phone: raw.phone.clone(),
        address: raw.address.clone(),
    }
}

fn controller(ctx: &mut Ctx, raw: &RawController) -> Controller {
    let time_zone = raw.time_zone.get_ref().clone();
    if jiff::tz::db().get(&time_zone).is_err() {
        let zones: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        let hint = match nearest(&time_zone, zones.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`? Use an IANA time zone name"),
            None => "use an IANA time zone name, like `Europe/Helsinki`".into(),
        };
        ctx.report(
            Code::InvalidTimeZone,
            raw.time_zone.span(),
            "controller.time_zone",
            format!("`{time_zone}` is not a time zone"),
            Some(hint),
        );
    }
    Controller {
        name: raw.name.clone(),
        address: raw.address.clone(),
        country: ctx
            .country(&raw.country, "controller.country")
            .unwrap_or_default(),
        registration: raw.registration.clone(),
        email: ctx.email(&raw.email, "controller.email"),
        phone: raw.phone.clone(),
        website: raw.website.clone(),
        time_zone,
        description: raw.description.clone(),
        dpo: raw
            .dpo
            .as_ref()
            .map(|d| contact(ctx, d.get_ref(), "controller.dpo")),
        representative: raw
            .representative
            .as_ref()
            .map(|r| contact(ctx, r.get_ref(), "controller.representative")),
    }
}

fn authority(ctx: &mut Ctx, raw: &RawAuthority) -> Authority {
    Authority {
        name: raw.name.clone(),
        country: ctx
            .country(&raw.country, "authority.country")
            .unwrap_or_default(),
        address: raw.address.clone(),
        postal_address: raw.postal_address.clone(),
        phone: raw.phone.clone(),
        email: raw.email.as_ref().map(|e| ctx.email(e, "authority.email")),
        website: raw.website.clone(),
    }
}

fn subjects(ctx: &mut Ctx, raw: &[Spanned<RawSubject>]) -> Vec<SubjectKind> {
    check_duplicates(
        ctx,
        "subject",
        raw.iter().enumerate().map(|(i, s)| (i, &s.get_ref().key)),
    );
    let known = &taxonomy::taxonomy().subjects;
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.get_ref();
            let key = s.key.get_ref();
            let path = item_path("subject", i, key);
            check_identifier(ctx, &s.key, &format!("{path}.key"));
            let name = match (known.get(key), &s.name) {
                (_, Some(name)) => name.clone(),
                (Some(entry), None) => entry.name.clone(),
                (None, None) => {
                    let hint = match nearest(key, known.keys().map(String::as_str)) {
                        Some(best) => format!(
                            "did you mean the taxonomy subject `{best}`? To declare a kind of your own, give it a `name`"
                        ),
                        None => "give a subject kind of your own a `name`".into(),
                    };
                    ctx.report(
                        Code::UnknownSubject,
                        s.key.span(),
                        format!("{path}.key"),
                        format!("`{key}` is not a data subject of the taxonomy"),
                        Some(hint),
                    );
                    String::new()
                }
            };
            SubjectKind {
                key: key.clone(),
                name,
                description: s.description.clone(),
            }
        })
        .collect()
}

fn categories(ctx: &mut Ctx, raw: &[Spanned<RawCategory>]) -> Vec<Category> {
    check_duplicates(
        ctx,
        "category",
        raw.iter().enumerate().map(|(i, c)| (i, &c.get_ref().key)),
    );
    let known = &taxonomy::taxonomy().categories;
    let mut out = Vec::new();
    for (i, spanned) in raw.iter().enumerate() {
        let c = spanned.get_ref();
        let key = c.key.get_ref();
        let path = item_path("category", i, key);
        let from_taxonomy = known.get(key);
        let mut sensitivity = taxonomy::sensitivity(key);
        let name = match (from_taxonomy, &c.parent) {
            (Some(entry), None) => c.name.clone().unwrap_or_else(|| entry.name.clone()),
            (Some(_), Some(parent)) => {
                ctx.report(
                    Code::InvalidValue,
                    parent.span(),
                    format!("{path}.parent"),
                    format!("`{key}` is already a taxonomy category; it takes no `parent`"),
                    Some(
                        "remove `parent`, or give the category a key of your own beneath it".into(),
                    ),
                );
                String::new()
            }
            (None, None) => {
                let hint = match nearest(key, known.keys().map(String::as_str)) {
                    Some(best) => format!(
                        "did you mean `{best}`? To declare a category of your own, add `parent = \"<taxonomy key>\"` and a `name`"
                    ),
                    None => "use a fideslang taxonomy key, or add `parent = \"<taxonomy key>\"` and a `name` to declare your own".into(),
                };
                ctx.report(
                    Code::UnknownCategory,
                    c.key.span(),
                    format!("{path}.key"),
                    format!("`{key}` is not a data category of the taxonomy"),
                    Some(hint),
                );
                String::new()
            }
            (None, Some(parent)) => {
                let parent_key = parent.get_ref();
                if !known.contains_key(parent_key) {
                    let hint = nearest(parent_key, known.keys().map(String::as_str))
                        .map(|best| format!("did you mean `{best}`?"))
                        .unwrap_or_else(|| {
                            "a parent is a key of the fideslang taxonomy, like `user.contact`"
                                .into()
                        });
                    ctx.report(
                        Code::UnknownCategory,
                        parent.span(),
                        format!("{path}.parent"),
                        format!("`{parent_key}` is not a data category of the taxonomy"),
                        Some(hint),
                    );
                } else if !taxonomy::is_within(key, parent_key) || key == parent_key {
                    let leaf = key.rsplit('.').next().unwrap_or(key);
                    ctx.report(
                        Code::InvalidValue,
                        c.key.span(),
                        format!("{path}.key"),
                        format!("`{key}` does not lie beneath its parent `{parent_key}`"),
                        Some(format!(
                            "a category of your own extends its parent's key: `{parent_key}.{leaf}`"
                        )),
                    );
                }
                sensitivity = sensitivity.or(taxonomy::sensitivity(parent_key));
                match &c.name {
                    Some(name) => name.clone(),
                    None => {
                        ctx.report(
                            Code::MissingKey,
                            spanned.span(),
                            path.clone(),
                            format!("the category `{key}` of your own has no `name`"),
                            Some("add `name = \"…\"`: it is what the privacy notice shows".into()),
                        );
                        String::new()
                    }
                }
            }
        };
        if c.special {
            sensitivity = sensitivity.or(Some(Sensitivity::SpecialCategory));
        }
        out.push(Category {
            key: key.clone(),
            name,
            description: c
                .description
                .clone()
                .or_else(|| from_taxonomy.map(|e| e.description.clone())),
            parent: c.parent.as_ref().map(|p| p.get_ref().clone()),
            sensitivity,
            ground: c.ground.clone(),
        });
    }
    out
}

fn retention_rules(
    ctx: &mut Ctx,
    raw: &[Spanned<RawRetention>],
    declared_categories: &[&str],
) -> Vec<RetentionRule> {
    check_duplicates(
        ctx,
        "retention",
        raw.iter().enumerate().map(|(i, r)| (i, &r.get_ref().id)),
    );
    let mut fallbacks = 0;
    raw.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let r = r.get_ref();
            let path = item_path("retention", i, r.id.get_ref());
            check_identifier(ctx, &r.id, &format!("{path}.id"));
            let keep = ctx.duration(&r.keep, &format!("{path}.keep"));
            let after = ctx.choice(&r.after, &format!("{path}.after"));
            let then = match &r.then {
                Some(then) => ctx.choice(then, &format!("{path}.then")),
                None => Some(Action::Delete),
            };
            let law_period = r
                .law_period
                .as_ref()
                .map(|p| ctx.duration(p, &format!("{path}.law_period")));
            let categories = r.categories.as_ref().map_or_else(Vec::new, |list| {
                activity_categories(
                    ctx,
                    list,
                    &format!("{path}.categories"),
                    declared_categories,
                )
            });
            let grace = r
                .grace
                .as_ref()
                .map(|g| ctx.duration(g, &format!("{path}.grace")));
            let if_unreviewed = r
                .then_if_unreviewed
                .as_ref()
                .map(|t| ctx.choice::<Unreviewed>(t, &format!("{path}.then_if_unreviewed")));
            if then != Some(Action::Review) {
                let keys = [("grace", r.grace.as_ref()), ("then_if_unreviewed", r.then_if_unreviewed.as_ref())];
                for (key, value) in keys {
                    if let Some(value) = value {
                        ctx.report(
                            Code::InvalidValue,
                            value.span(),
                            format!("{path}.{key}"),
                            format!("`{key}` belongs to rules with `then = \"review\"`"),
                            Some(format!("remove `{key}`, or make the rule a review rule")),
                        );
                    }
                }
            }
            let fallback = r.fallback.as_ref().is_some_and(|f| *f.get_ref());
            if let Some(flag) = r.fallback.as_ref().filter(|f| *f.get_ref()) {
                if fallbacks > 0 {
                    ctx.report(
                        Code::InvalidValue,
                        flag.span(),
                        format!("{path}.fallback"),
                        "only one retention rule can be the fallback",
                        Some("keep `fallback = true` on one rule".into()),
                    );
                }
                fallbacks += 1;
                let anchored = matches!(after, Some(Anchor::Collected | Anchor::LastInteraction));
                if after.is_some() && !anchored || then == Some(Action::Review) {
                    ctx.report(
                        Code::InvalidValue,
                        flag.span(),
                        format!("{path}.fallback"),
                        "a fallback rule must end records without any event of a relationship",
                        Some("count it `after = \"collected\"` or `after = \"last_interaction\"`, and `then` delete or anonymise".into()),
                    );
                }
            }
            Some(RetentionRule {
                id: r.id.get_ref().clone(),
                fallback,
                keep: keep?,
                after: after?,
                then: then?,
                grace: grace.unwrap_or(Some(DEFAULT_REVIEW_GRACE))?,
                if_unreviewed: if_unreviewed.unwrap_or(Some(Unreviewed::Delete))?,
                description: r.description.clone(),
                law: r.law.clone(),
                law_period: law_period.flatten(),
                categories,
                from_end_of_year: r.from_end_of_year,
            })
        })
        .collect()
}

/// `[ledger] retention` names a rule counted from when a notice was sent, which ends lines
/// rather than reviewing them.
fn ledger_rule(ctx: &mut Ctx, id: &Text, rules: &[RetentionRule]) -> Option<String> {
    let Some(rule) = rules.iter().find(|r| &r.id == id.get_ref()) else {
        ctx.report(
            Code::UndeclaredRetention,
            id.span(),
            "ledger.retention",
            format!(
                "`{}` is not a [[retention]] rule of the policy",
                id.get_ref()
            ),
            Some("name the rule for message records, e.g. `message-records`".into()),
        );
        return None;
    };
    if rule.after != Anchor::Collected || rule.then == Action::Review {
        ctx.report(
            Code::InvalidValue,
            id.span(),
            "ledger.retention",
            format!(
                "the rule `{}` does not count from when the data was collected, or reviews rather than ends",
                rule.id
            ),
            Some("a ledger line's period runs from when its notice was sent: use a rule with `after = \"collected\"` that deletes".into()),
        );
        return None;
    }
    Some(rule.id.clone())
}

fn recipients(ctx: &mut Ctx, raw: &[Spanned<RawRecipient>]) -> Vec<Recipient> {
    check_duplicates(
        ctx,
        "recipient",
        raw.iter().enumerate().map(|(i, r)| (i, &r.get_ref().id)),
    );
    raw.iter()
        .enumerate()
        .filter_map(|(i, spanned)| {
            let r = spanned.get_ref();
            let path = item_path("recipient", i, r.id.get_ref());
            check_identifier(ctx, &r.id, &format!("{path}.id"));
            let role = ctx.choice(&r.role, &format!("{path}.role"));
            let country = r.country.as_ref().and_then(|c| ctx.country(c, &format!("{path}.country")));
            if r.country.is_none() && r.named {
                ctx.report(
                    Code::MissingKey,
                    spanned.span(),
                    path.clone(),
                    format!("the recipient `{}` has no `country`", r.id.get_ref()),
                    Some("add `country = \"..\"` (ISO 3166-1 alpha-2) where it processes the data; a category of recipients that is not one organisation takes `named = false`".into()),
                );
            }
            let safeguard = r
                .safeguard
                .as_ref()
                .and_then(|s| ctx.choice::<Safeguard>(s, &format!("{path}.safeguard")));
            if let Some(code) = &country {
                transfer(ctx, r, spanned.span(), &path, code, safeguard);
            }
            Some(Recipient {
                id: r.id.get_ref().clone(),
                name: r.name.clone(),
                role: role?,
                purpose: r.purpose.clone(),
                country,
                safeguard,
                chosen_by_customer: r.chosen_by_customer,
                named: r.named,
                note: r.note.clone(),
                contact: r.contact.as_ref().map(|c| ctx.email(c, &format!("{path}.contact"))),
                hosts: r
                    .hosts
                    .iter()
                    .enumerate()
                    .filter_map(|(j, h)| host_pattern(ctx, h, &format!("{path}.hosts[{j}]")))
                    .collect(),
            })
        })
        .collect()
}

/// A recipient's host: a DNS name, or `*.` and a domain of at least two labels; no scheme,
/// port or path. Returned lower case.
fn host_pattern(ctx: &mut Ctx, value: &Text, path: &str) -> Option<String> {
    let text = value.get_ref().trim().to_ascii_lowercase();
    let name = text.strip_prefix("*.").unwrap_or(&text);
    let labels: Vec<&str> = name.split('.').collect();
    let valid = labels.len() >= 2
        && name.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        return Some(text);
    }
    ctx.report(
        Code::InvalidValue,
        value.span(),
        path,
        format!("`{}` is not a host name", value.get_ref()),
        Some("write the name only, like `smtp.postmarkapp.com`, or `*.postmarkapp.com` for any name beneath it; no scheme, port or path".into()),
    );
    None
}

/// Chapter V: a transfer outside the EEA needs a ground, and the ground must fit the country.
fn transfer(
    ctx: &mut Ctx,
    r: &RawRecipient,
    table_span: Range<usize>,
    path: &str,
    country: &str,
    safeguard: Option<Safeguard>,
) {
    let country_name = countries::name(country).unwrap_or(country);
    if countries::in_eea(country) {
        return;
    }
    let span = r.safeguard.as_ref().map_or(table_span, |s| s.span());
    match (safeguard, r.safeguard.as_ref()) {
        (None, None) => {
            let suggestion = if countries::has_adequacy_decision(country) {
                "`adequacy`"
            } else if country == "US" {
                "`eu_us_dpf` (if the provider is certified) or `scc_2021_914`"
            } else {
                "`scc_2021_914`"
            };
            ctx.report(
                Code::TransferWithoutSafeguard,
                r.country.as_ref().map_or(span, |c| c.span()),
                format!("{path}.country"),
                format!(
                    "`{}` is in {country_name}, outside the EEA, and no transfer safeguard is given",
                    r.id.get_ref()
                ),
                Some(format!("add `safeguard = …`; for {country_name} that is {suggestion}")),
            );
        }
        (Some(Safeguard::Adequacy), _) if !countries::has_adequacy_decision(country) => {
            ctx.report(
                Code::SafeguardNotApplicable,
                span,
                format!("{path}.safeguard"),
                format!("{country_name} has no general adequacy decision of the European Commission"),
                Some(if country == "US" {
                    "for a US provider certified under the Data Privacy Framework use `eu_us_dpf`, otherwise `scc_2021_914`".into()
                } else {
                    "use `scc_2021_914`, `bcr` or `derogation`".into()
                }),
            );
        }
        (Some(Safeguard::EuUsDpf), _) if country != "US" => {
            ctx.report(
                Code::SafeguardNotApplicable,
                span,
                format!("{path}.safeguard"),
                format!("the EU-US Data Privacy Framework covers only US organisations, not {country_name}"),
                Some("use `adequacy` where the country has an adequacy decision, otherwise `scc_2021_914`".into()),
            );
        }
        _ => {}
    }
}

fn notice_kinds(
    ctx: &mut Ctx,
    raw: &[Spanned<RawNoticeKind>],
    activities: &[Spanned<RawActivity>],
) -> Vec<NoticeKind> {
    check_duplicates(
        ctx,
        "notice_kind",
        raw.iter().enumerate().map(|(i, k)| (i, &k.get_ref().key)),
    );
    raw.iter()
        .enumerate()
        .map(|(i, k)| {
            let k = k.get_ref();
            check_identifier(
                ctx,
                &k.key,
                &format!("{}.key", item_path("notice_kind", i, k.key.get_ref())),
            );
            let path = item_path("notice_kind", i, k.key.get_ref());
            let activity = notice_kind_activity(ctx, k, activities, &path);
            NoticeKind {
                key: k.key.get_ref().clone(),
                name: k.name.clone(),
                mandatory: k.mandatory,
                description: k.description.clone(),
                activity,
            }
        })
        .collect()
}

/// The activity an opt-out kind is sent for: required, so that opting out of or objecting to
/// that activity stops the messages (Art. 21(2)); it must be an activity of the policy.
fn notice_kind_activity(
    ctx: &mut Ctx,
    kind: &RawNoticeKind,
    activities: &[Spanned<RawActivity>],
    path: &str,
) -> Option<String> {
    let ids = || activities.iter().map(|a| a.get_ref().id.get_ref().as_str());
    match &kind.activity {
        Some(activity) if ids().any(|id| id == activity.get_ref()) => {
            Some(activity.get_ref().clone())
        }
        Some(activity) => {
            let hint = match nearest(activity.get_ref(), ids()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "name the `[[activity]]` these messages are sent for".to_owned(),
            };
            ctx.report(
                Code::InvalidValue,
                activity.span(),
                format!("{path}.activity"),
                format!("`{}` is not an activity of the policy", activity.get_ref()),
                Some(hint),
            );
            None
        }
        None if !kind.mandatory => {
            ctx.report(
                Code::MissingKey,
                kind.key.span(),
                format!("{path}.activity"),
                format!(
                    "the opt-out kind `{}` names no activity, so an opt-out from or objection to the processing it serves would not stop it",
                    kind.key.get_ref()
                ),
                Some("add `activity = \"…\"` naming the activity these messages are sent for (one with `opt_out = true`)".into()),
            );
            None
        }
        None => None,
    }
}

struct Declared<'a> {
    subjects: &'a [SubjectKind],
    categories: &'a [Category],
    retention: Vec<&'a str>,
    recipients: Vec<&'a str>,
}

/// Resolves the references in one list, reporting each unknown one with the nearest declared id.
fn resolve(
    ctx: &mut Ctx,
    values: &[Text],
    path: &str,
    declared: &[&str],
    code: Code,
    table: &str,
    key_field: &str,
) -> Vec<String> {
    for (i, value) in values.iter().enumerate() {
        let id = value.get_ref();
        if declared.contains(&id.as_str()) {
            continue;
        }
        let hint = match nearest(id, declared.iter().copied()) {
            Some(best) => {
                format!("did you mean `{best}`? Otherwise declare it in a [[{table}]] table")
            }
            None => format!("declare it in a [[{table}]] table with `{key_field} = \"{id}\"`"),
        };
        ctx.report(
            code,
            value.span(),
            format!("{path}[{i}]"),
            format!("`{id}` is not declared in any [[{table}]] table"),
            Some(hint),
        );
    }
    values.iter().map(|v| v.get_ref().clone()).collect()
}

fn activities(ctx: &mut Ctx, raw: &[Spanned<RawActivity>], declared: &Declared) -> Vec<Activity> {
    check_duplicates(
        ctx,
        "activity",
        raw.iter().enumerate().map(|(i, a)| (i, &a.get_ref().id)),
    );
    let declared_categories: Vec<&str> =
        declared.categories.iter().map(|c| c.key.as_str()).collect();
    let declared_subjects: Vec<&str> = declared.subjects.iter().map(|s| s.key.as_str()).collect();
    let mut out = Vec::new();
    for (i, spanned) in raw.iter().enumerate() {
        let a = spanned.get_ref();
        let path = item_path("activity", i, a.id.get_ref());
        check_identifier(ctx, &a.id, &format!("{path}.id"));
        let role = match &a.role {
            Some(role) => ctx.choice::<Role>(role, &format!("{path}.role")),
            None => {
                ctx.report(
                    Code::MissingKey,
                    spanned.span(),
                    path.clone(),
                    format!("the activity `{}` has no `role`", a.id.get_ref()),
                    Some("add `role = \"controller\"` where you decide the purpose, or `role = \"processor\"` where you act for a customer".into()),
                );
                None
            }
        };
        let basis = match &a.basis {
            Some(basis) => ctx
                .choice::<LegalBasis>(basis, &format!("{path}.basis"))
                .map(Some),
            // A processor relies on its customer's basis and the processing agreement.
            None if role == Some(Role::Processor) => Some(None),
            None => {
                ctx.report(
                    Code::MissingBasis,
                    spanned.span(),
                    path.clone(),
                    format!("the activity `{}` has no legal basis", a.id.get_ref()),
                    Some("add `basis = …`, one of the six of Art. 6(1): consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests".into()),
                );
                None
            }
        };
        if basis == Some(Some(LegalBasis::LegitimateInterests))
            && a.legitimate_interest
                .as_deref()
                .is_none_or(|t| t.trim().is_empty())
        {
            ctx.report(
                Code::MissingLegitimateInterest,
                a.basis.as_ref().map_or(spanned.span(), |b| b.span()),
                format!("{path}.basis"),
                format!("the activity `{}` relies on legitimate interests but does not say which", a.id.get_ref()),
                Some("add `legitimate_interest = \"…\"` stating the interest pursued (Art. 13(1)(d) GDPR)".into()),
            );
        }
        let raw_subjects = ctx.non_empty(
            a.subjects.as_ref(),
            spanned.span(),
            &format!("{path}.subjects"),
            "kinds of people whose data this activity uses",
        );
        let raw_categories = ctx.non_empty(
            a.categories.as_ref(),
            spanned.span(),
            &format!("{path}.categories"),
            "data categories this activity uses",
        );
        let raw_sources = ctx.non_empty(
            a.sources.as_ref(),
            spanned.span(),
            &format!("{path}.sources"),
            "sources of the data (subject, customer, service_use, public, third_party)",
        );
        let subjects = resolve(
            ctx,
            raw_subjects,
            &format!("{path}.subjects"),
            &declared_subjects,
            Code::UndeclaredSubject,
            "subject",
            "key",
        );
        let categories = activity_categories(
            ctx,
            raw_categories,
            &format!("{path}.categories"),
            &declared_categories,
        );
        let sources = ctx.choices::<Source>(raw_sources, &format!("{path}.sources"));
        let recipients = resolve(
            ctx,
            &a.recipients,
            &format!("{path}.recipients"),
            &declared.recipients,
            Code::UndeclaredRecipient,
            "recipient",
            "id",
        );
        let retention = resolve(
            ctx,
            &a.retention,
            &format!("{path}.retention"),
            &declared.retention,
            Code::UndeclaredRetention,
            "retention",
            "id",
        );
        let special_condition = a
            .special_condition
            .as_ref()
            .and_then(|s| ctx.choice::<SpecialCondition>(s, &format!("{path}.special_condition")));
        let sensitive: Vec<&Category> = categories
            .iter()
            .filter_map(|key| declared.categories.iter().find(|c| &c.key == key))
            .filter(|c| c.sensitivity.is_some())
            .collect();
        if let (Some(first), None) = (sensitive.first(), &a.special_condition) {
            let article = match first.sensitivity {
                Some(Sensitivity::CriminalOffence) => "Art. 10",
                _ => "Art. 9(2)",
            };
            let at = raw_categories
                .iter()
                .position(|c| c.get_ref() == &first.key)
                .unwrap_or(0);
            ctx.report(
                Code::SpecialCategoryWithoutCondition,
                raw_categories.get(at).map_or(spanned.span(), |c| c.span()),
                format!("{path}.categories[{at}]"),
                format!("`{}` is special-category data and the activity `{}` gives no {article} condition", first.key, a.id.get_ref()),
                Some(format!(
                    "add `special_condition = …`, one of {}",
                    SpecialCondition::names().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )),
            );
        }
        if let Some(data_use) = &a.data_use {
            let uses = &taxonomy::taxonomy().data_uses;
            if !uses.contains_key(data_use.get_ref()) {
                let hint = nearest(data_use.get_ref(), uses.keys().map(String::as_str))
                    .map(|best| format!("did you mean `{best}`?"))
                    .unwrap_or_else(|| {
                        "use a fideslang data use key, like `essential.service`".into()
                    });
                ctx.report(
                    Code::UnknownDataUse,
                    data_use.span(),
                    format!("{path}.data_use"),
                    format!("`{}` is not a data use of the taxonomy", data_use.get_ref()),
                    Some(hint),
                );
            }
        }
        let (Some(basis), Some(role)) = (basis, role) else {
            continue;
        };
        out.push(Activity {
            id: a.id.get_ref().clone(),
            purpose: a.purpose.clone(),
            description: a.description.clone(),
            basis,
            legitimate_interest: a.legitimate_interest.clone(),
            law: a.law.clone(),
            role,
            on_behalf_of: a.on_behalf_of.clone(),
            subjects,
            categories,
            sources,
            recipients,
            retention,
            special_condition,
            withdrawal: a.withdrawal.clone(),
            opt_out: a.opt_out,
            restriction_exempt: a.restriction_exempt,
            data_use: a.data_use.as_ref().map(|d| d.get_ref().clone()),
        });
    }
    out
}

/// A category named by an activity must be declared. A taxonomy key that is not declared gets
/// the hint to declare it; anything else is unknown, with the nearest key as the suggestion.
fn activity_categories(
    ctx: &mut Ctx,
    values: &[Text],
    path: &str,
    declared: &[&str],
) -> Vec<String> {
    let known = &taxonomy::taxonomy().categories;
    for (i, value) in values.iter().enumerate() {
        let key = value.get_ref();
        if declared.contains(&key.as_str()) {
            continue;
        }
        if known.contains_key(key) {
            ctx.report(
                Code::UndeclaredCategory,
                value.span(),
                format!("{path}[{i}]"),
                format!("`{key}` is a taxonomy category but this policy does not declare it"),
                Some(format!("add a [[category]] table with `key = \"{key}\"`")),
            );
        } else {
            let best = nearest(key, declared.iter().copied())
                .or_else(|| nearest(key, known.keys().map(String::as_str)));
            let hint = match best {
                Some(best) => format!("did you mean `{best}`?"),
                None => "use a declared category key; see `[[category]]` in docs/policy.md".into(),
            };
            ctx.report(
                Code::UnknownCategory,
                value.span(),
                format!("{path}[{i}]"),
                format!("`{key}` is not a data category"),
                Some(hint),
            );
        }
    }
    values.iter().map(|v| v.get_ref().clone()).collect()
}

fn rights(ctx: &mut Ctx, raw: Option<&RawRights>, controller: &Controller) -> Rights {
    let duration_or = |ctx: &mut Ctx, value: Option<&Text>, path: &str, default: Duration| {
        value.and_then(|v| ctx.duration(v, path)).unwrap_or(default)
    };
    let response_time = duration_or(
        ctx,
        raw.and_then(|r| r.response_time.as_ref()),
        "rights.response_time",
        Duration::new(1, crate::duration::Unit::Month),
    );
    let extension = duration_or(
        ctx,
        raw.and_then(|r| r.extension.as_ref()),
        "rights.extension",
        Duration::new(2, crate::duration::Unit::Month),
    );
    if let Some(raw) = raw {
        let month = "Art. 12(3) GDPR gives one month to answer";
        let extension_law = "Art. 12(3) GDPR allows extending by at most two further months";
        legal_limit(
            ctx,
            raw.response_time.as_ref(),
            response_time,
            Limit {
                path: "rights.response_time",
                months: 1,
                shortest_hours: 28 * 24,
                law: month,
                fix: "write `1 month` (or less); where a request is complex, extend it with `rights.extension`",
            },
        );
        legal_limit(
            ctx,
            raw.extension.as_ref(),
            extension,
            Limit {
                path: "rights.extension",
                months: 2,
                shortest_hours: 59 * 24,
                law: extension_law,
                fix: "write `2 months` (or less)",
            },
        );
    }
    let clock_starts = raw
        .and_then(|r| r.clock_starts.as_ref())
        .and_then(|c| ctx.choice(c, "rights.clock_starts"))
        .unwrap_or(ClockStart::Receipt);
    let verification = match raw.and_then(|r| r.verification.as_ref()) {
        Some(list) => ctx.choices(list, "rights.verification"),
        None => vec![Verification::EmailCode],
    };
    let offered = match raw.and_then(|r| r.offered.as_ref()) {
        Some(list) => ctx.choices(list, "rights.offered"),
        None => Right::CHOICES.iter().map(|(_, right)| *right).collect(),
    };
    Rights {
        response_time,
        extension,
        clock_starts,
        verification,
        contact: raw
            .and_then(|r| r.contact.clone())
            .unwrap_or_else(|| controller.email.clone()),
        offered,
        consent_withdrawal: raw.and_then(|r| r.consent_withdrawal.clone()),
        processor_requests: raw.and_then(|r| r.processor_requests.clone()),
    }
}

fn breach(ctx: &mut Ctx, raw: Option<&RawBreach>) -> Breach {
    let notify_within = raw
        .and_then(|b| b.notify_within.as_ref())
        .and_then(|n| ctx.duration(n, "breach.notify_within"))
        .unwrap_or(Duration::new(72, crate::duration::Unit::Hour));
    legal_limit(
        ctx,
        raw.and_then(|b| b.notify_within.as_ref()),
        notify_within,
        Limit {
            path: "breach.notify_within",
            months: 0,
            shortest_hours: 72,
            law: "Art. 33(1) GDPR requires notice of a breach within 72 hours of becoming aware of it",
            fix: "write `72 hours` (or less)",
        },
    );
    let notify = match raw {
        Some(b) if !b.notify.is_empty() => ctx.choices(&b.notify, "breach.notify"),
        _ => vec![BreachParty::Customers, BreachParty::Authority],
    };
    Breach {
        notify_within,
        notify,
        statement: raw.and_then(|b| b.statement.clone()),
    }
}

fn children(ctx: &mut Ctx, raw: &RawChildren) -> Option<Children> {
    let age = *raw.minimum_age.get_ref();
    match u8::try_from(age) {
        Ok(minimum_age) if (13..=18).contains(&minimum_age) => Some(Children {
            minimum_age,
            statement: raw.statement.clone(),
        }),
        _ => {
            ctx.report(
                Code::InvalidValue,
                raw.minimum_age.span(),
                "children.minimum_age",
                format!("`{age}` is not an age of digital consent"),
                Some("Art. 8 GDPR sets it at 16, and lets a member state lower it to no less than 13".into()),
            );
            None
        }
    }
}
