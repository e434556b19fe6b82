//! The sweeper: removes what has outlived every purpose it was kept for. It walks a tenant's
//! subjects in batches, decides each record's end of life in the core from privacy.toml and the
//! subject's events, and removes the expired records of a batch in one transaction. A batch takes
//! whole subjects, so a crash leaves none half-removed; a run repeated after a crash finds what is
//! left and finishes it. It must not delete because the policy is silent, nor what a legal hold
//! covers, nor half a subject.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::access::DataRole;
use ombud_core::facts::SubjectFacts;
use ombud_core::requests::RecordFacts;
use ombud_core::retention::{Life, Unbounded, end_of_life};
use ombud_policy::Policy;
use ombud_store::model::{RecordId, SubjectId, TenantId};
use ombud_store::retention::{
    Expiry, HoldReason, LegalHold, NewHold, RecordMeta, RetentionSubject,
};
use ombud_store::{Actor, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Subjects read and decided per batch. A batch is one write transaction: short enough that
/// readers and other writers are not kept waiting.
pub const BATCH_SUBJECTS: usize = 500;

/// One record the sweep removes (or, in a dry run, would remove), and why.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub subject: SubjectId,
    pub record: RecordId,
    pub category: String,
    pub purpose: String,
    pub rule: String,
    pub ended_at: Timestamp,
}

/// The hold that keeps a record of `category` of `subject` at `now`, if any: the core decides
/// whether a hold covers a category (and those beneath it) and is still in force.
pub fn hold_for<'h>(
    holds: &'h [LegalHold],
    subject: SubjectId,
    category: &str,
    now: Timestamp,
) -> Option<&'h LegalHold> {
    holds.iter().find(|h| {
        h.subject.is_none_or(|s| s == subject)
            && ombud_core::retention::Hold {
                category: h.category.as_deref(),
                ends_at: h.ends_at,
            }
            .keeps(category, now)
    })
}

/// A hold's longest note: enough for a case reference and a sentence, not for documents.
pub const HOLD_NOTE_MAX: usize = 1000;

/// Checks a hold as the API and the console take it. A refusal names the field (`reason`,
/// `note`, `category`, `ends_at`, `subject`) and the fix. `known_category` says whether the
/// policy declares a category; whether the subject exists in the tenant is the caller's to check.
pub fn check_hold(
    known_category: impl Fn(&str) -> bool,
    reason: &str,
    note: &str,
    subject: Option<&str>,
    category: Option<String>,
    ends_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<NewHold, (&'static str, String)> {
    let reason = HoldReason::parse(reason.trim()).ok_or((
        "reason",
        "a hold's reason is legal_obligation, legal_claim or security_investigation".to_owned(),
    ))?;
    let note = note.trim().to_owned();
    if note.is_empty() || note.chars().count() > HOLD_NOTE_MAX {
        return Err((
            "note",
            format!(
                "say why in 1 to {HOLD_NOTE_MAX} characters (a case reference, not personal data)"
            ),
        ));
    }
    if let Some(category) = &category
        && !known_category(category)
    {
        return Err((
            "category",
            format!("`{category}` is not a category of the policy"),
        ));
    }
    if ends_at.is_some_and(|e| e <= now) {
        return Err((
            "ends_at",
            "a hold ends in the future; leave the end out for an open-ended hold".to_owned(),
        ));
    }
    let subject = subject
        .map(|s| {
            s.trim()
                .parse()
                .map(SubjectId)
                .map_err(|_| ("subject", "a subject id is a UUID".to_owned()))
        })
        .transpose()?;
    Ok(NewHold {
        reason,
        subject,
        category,
        note,
        ends_at,
    })
}

/// The rule a sweep names for records an erasure kept only for a hold that has ended.
pub const HOLD_ENDED: &str = "legal-hold-ended";

/// For a record kept only for holds (its purposes are `hold:<id>`): whether all of them have
/// ended. `None` for every other record.
fn hold_only(purposes: &[String], active: &[LegalHold]) -> Option<bool> {
    if purposes.is_empty() || !purposes.iter().all(|p| p.starts_with("hold:")) {
        return None;
    }
    Some(!purposes.iter().any(|p| {
        active
            .iter()
            .any(|h| p.strip_prefix("hold:") == Some(h.id.to_string().as_str()))
    }))
}

fn subject_facts(subject: &RetentionSubject) -> SubjectFacts {
    SubjectFacts::new(subject.events.iter().map(|e| e.fact()).collect())
}

/// What a sweep of one tenant did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    pub records: u64,
    pub subjects: u64,
    /// Records per retention rule.
    pub by_rule: BTreeMap<String, u64>,
    /// Records kept only until someone reviews them (prospects), past their review date.
    pub due_for_review: u64,
    /// Records nothing dates the end of yet (the forecast lists them with the reason).
    pub unbounded: u64,
    /// Records of subjects who asked for restriction (Art. 18): kept, whatever their rules say.
    pub restricted: u64,
    /// Expired records a legal hold keeps.
    pub held: u64,
    /// Audit entries older than the policy's `[audit] keep`, pruned behind a checkpoint.
    pub audit_pruned: u64,
    /// Notice-ledger lines removed with the addresses their mails went to: older than the
    /// policy's rule for message records, or of people erased or expired.
    pub ledger_pruned: u64,
}

/// How far back the ledger pass looks for people erased or expired: the rights desk prunes
/// their lines at once, so this only finishes what a crash interrupted.
const GONE_LOOKBACK: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 7);

/// The ledger lines of a person who is gone may stay only while a rule that names a law keeps
/// message records (Art. 17(3)(b)); otherwise they go with the person.
pub fn ledger_kept_past_erasure(policy: &Policy) -> bool {
    policy
        .ledger_rule()
        .is_some_and(|rule| rule.law.as_deref().is_some_and(|l| !l.trim().is_empty()))
}

pub struct Sweep<'a> {
    pub store: &'a dyn Store,
    pub policy: &'a Policy,
    pub time_zone: &'a TimeZone,
    pub tenant: TenantId,
    pub data_role: DataRole,
    pub now: Timestamp,
    /// Decide and report, remove nothing.
    pub dry_run: bool,
}

impl Sweep<'_> {
    /// Hands the tenant's subjects to `visit`, a batch at a time, in id order.
    fn batches(
        &self,
        mut visit: impl FnMut(&[RetentionSubject]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut after = None;
        loop {
            let batch = self
                .store
                .retention_batch(self.tenant, after, BATCH_SUBJECTS)?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            after = Some(last.subject);
            visit(&batch)?;
        }
    }

    /// A record's end of life as the core decides it, for this tenant's role and now.
    fn life(&self, facts: &SubjectFacts, record: &RecordMeta) -> Life {
        let record = RecordFacts {
            category: &record.category,
            purposes: &record.purposes,
            source: &record.source,
            collected_at: record.collected_at,
        };
        end_of_life(
            self.policy,
            facts,
            &record,
            self.data_role,
            self.now,
            self.time_zone,
        )
    }

    /// The moment `keep` before now, on the controller's calendar: what is older has outlived
    /// a period of that length.
    fn kept_since(&self, keep: ombud_policy::Duration) -> Timestamp {
        self.now
            .to_zoned(self.time_zone.clone())
            .checked_sub(ombud_core::retention::span(keep))
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN)
    }

    /// The end of a window of `days` days from now, on the controller's calendar.
    fn window_end(&self, days: i64) -> Timestamp {
        self.now
            .to_zoned(self.time_zone.clone())
            .checked_add(jiff::Span::new().days(days))
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// Runs the sweep to the end of the tenant, calling `each` for every record removed (or
    /// that would be).
    pub fn run(&self, mut each: impl FnMut(&Removal)) -> Result<SweepReport, StoreError> {
        // A sweep deletes by subject; the planner needs current statistics to use the
        // per-subject indexes.
        self.store.maintain()?;
        let holds = self.store.holds(self.tenant, Some(self.now))?;
        let mut report = SweepReport::default();
        self.batches(|batch| self.sweep_batch(batch, &holds, &mut report, &mut each))?;
        report.audit_pruned = self.prune_audit()?;
        report.ledger_pruned = self.prune_ledger()?;
        if (report.records > 0 || report.audit_pruned > 0) && !self.dry_run {
            self.store.purge_deleted()?;
        }
        Ok(report)
    }

    /// The notice ledger's retention: lines of notices older than the rule for message
    /// records, and lines of people erased or expired lately (unless a law keeps them). Counts
    /// stay on each notice. A dry run removes nothing and counts the lines past the rule (a
    /// person's lines go with the erasure itself; only a crash leaves them to this pass).
    fn prune_ledger(&self) -> Result<u64, StoreError> {
        let before = self
            .policy
            .ledger_rule()
            .map(|rule| self.kept_since(rule.keep));
        if self.dry_run {
            return match before {
                Some(before) => self.store.ledger_prunable(self.tenant, before),
                None => Ok(0),
            };
        }
        let since = self
            .now
            .checked_sub(GONE_LOOKBACK)
            .unwrap_or(Timestamp::MIN);
        let gone: Vec<SubjectId> = if ledger_kept_past_erasure(self.policy) {
            vec![]
        } else {
            self.store
                .tombstones(self.tenant)?
                .into_iter()
                .filter(|t| t.erased_at >= since)
                .map(|t| t.subject)
                .collect()
        };
        if before.is_none() && gone.is_empty() {
            return Ok(0);
        }
        self.store
            .prune_ledger(self.tenant, before, &gone, &Actor::System, self.now)
    }

    /// The audit log's own retention: entries written more than `[audit] keep` ago go, in
    /// steps, each leaving the checkpoint the rest verifies from. Kept for good without it.
    fn prune_audit(&self) -> Result<u64, StoreError> {
        let Some(audit) = &self.policy.audit else {
            return Ok(0);
        };
        let before = self.kept_since(audit.keep);
        if self.dry_run {
            return self.store.audit_prunable(self.tenant, before);
        }
        // A receipt's chain head points into the log; once the log has let go of that part,
        // the store lets go of the receipt (whoever was handed it keeps their copy).
        self.store.prune_receipts(self.tenant, before)?;
        let mut pruned = 0;
        loop {
            let step = self.store.prune_audit(
                self.tenant,
                before,
                ombud_store::audit::PRUNE_BATCH,
                &Actor::System,
                self.now,
            )?;
            if step.entries == 0 {
                return Ok(pruned);
            }
            pruned += step.entries;
        }
    }

    /// Decides every record of a batch and removes the expired ones in one transaction.
    fn sweep_batch(
        &self,
        batch: &[RetentionSubject],
        holds: &[LegalHold],
        report: &mut SweepReport,
        each: &mut impl FnMut(&Removal),
    ) -> Result<(), StoreError> {
        let mut expiries = Vec::new();
        for subject in batch {
            let facts = subject_facts(subject);
            if facts.restricted(self.now).is_some() {
                report.restricted += subject.records.len() as u64;
                continue;
            }
            let mut records = Vec::new();
            let mut remove = |record: &RecordMeta, purpose: String, rule: String, ended_at| {
                each(&Removal {
                    subject: subject.subject,
                    record: record.id,
                    category: record.category.clone(),
                    purpose,
                    rule: rule.clone(),
                    ended_at,
                });
                *report.by_rule.entry(rule.clone()).or_default() += 1;
                records.push((record.id, rule));
            };
            for record in &subject.records {
                // Kept past an erasure only for a hold: once no such hold is in force, the
                // erasure the person asked for is finished.
                if let Some(ended) = hold_only(&record.purposes, holds) {
                    if ended {
                        remove(
                            record,
                            record.purposes.join(","),
                            HOLD_ENDED.to_owned(),
                            self.now,
                        );
                    } else {
                        report.held += 1;
                    }
                    continue;
                }
                let life = self.life(&facts, record);
                match life {
                    Life::Until {
                        until: ended,
                        purpose,
                        rule,
                        ..
                    }
                    | Life::Review {
                        lapses: Some(ended),
                        purpose,
                        rule,
                        ..
                    } if ended <= self.now => {
                        if hold_for(holds, subject.subject, &record.category, self.now).is_some() {
                            report.held += 1;
                        } else {
                            remove(record, purpose, rule, ended);
                        }
                    }
                    Life::Review { due, .. } if due <= self.now => report.due_for_review += 1,
                    Life::Open(_) => report.unbounded += 1,
                    _ => {}
                }
            }
            if !records.is_empty() {
                expiries.push(Expiry {
                    subject: subject.subject,
                    subject_may_go: records.len() == subject.records.len(),
                    records,
                });
            }
        }
        if expiries.is_empty() {
            return Ok(());
        }
        if self.dry_run {
            report.records += expiries.iter().map(|e| e.records.len() as u64).sum::<u64>();
            report.subjects += expiries.iter().filter(|e| e.subject_may_go).count() as u64;
        } else {
            let swept =
                self.store
                    .expire_records(self.tenant, &expiries, &Actor::System, self.now)?;
            report.records += swept.records;
            report.subjects += swept.subjects;
        }
        Ok(())
    }
}

/// Sweeps every tenant: the operator's own data by its controller activities, the customers'
/// by the processor activities done for them.
pub fn sweep_all(
    store: &dyn Store,
    policy: &Policy,
    time_zone: &TimeZone,
    now: Timestamp,
    dry_run: bool,
    mut each: impl FnMut(TenantId, &Removal),
) -> Result<Vec<(TenantId, SweepReport)>, StoreError> {
    let mut reports = Vec::new();
    for tenant in store.tenants()? {
        let sweep = Sweep {
            store,
            policy,
            time_zone,
            tenant: tenant.id,
            data_role: DataRole::of_tenant(tenant.operator),
            now,
            dry_run,
        };
        let report = sweep.run(|removal| each(tenant.id, removal))?;
        reports.push((tenant.id, report));
    }
    Ok(reports)
}

/// Records leaving on one day, of one category, under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastRow {
    /// The day, in the controller's time zone, on which their retention ends.
    pub date: jiff::civil::Date,
    pub category: String,
    pub rule: String,
    /// The purpose whose period ends last, and so ends the record.
    pub purpose: String,
    /// delete or anonymise, as the rule says.
    pub action: String,
    pub records: u64,
}

/// What leaves when over the coming days: the policy at work before the sweeper acts.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forecast {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Past their end already: the next sweep removes them.
    pub expired: u64,
    pub rows: Vec<ForecastRow>,
    /// Records whose review falls in the window (kept until reviewed).
    pub reviews: u64,
    /// Records of subjects under restriction, kept whatever their rules say.
    pub restricted: u64,
    /// Records a legal hold keeps past their end.
    pub held: u64,
    /// Records nothing dates the end of yet, by category and reason.
    pub kept_with_no_end: Vec<NoEndRow>,
}

/// Records of one category that nothing dates the end of yet, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoEndRow {
    pub category: String,
    /// `pending_event` (kept until an event such as the end of the contract),
    /// `no_rule` (an activity with no retention rule for the category), `unused_category`
    /// (no activity uses it) or `no_activity_applies` (none applies to the person).
    pub reason: String,
    /// The purpose that keeps it, where one does.
    pub purpose: Option<String>,
    /// The reason in words.
    pub explanation: String,
    pub records: u64,
}

impl Sweep<'_> {
    /// Forecasts the next `days` days; removes nothing.
    pub fn forecast(&self, days: i64) -> Result<Forecast, StoreError> {
        let until = self.window_end(days);
        let mut forecast = Forecast {
            from: Some(self.now),
            until: Some(until),
            ..Forecast::default()
        };
        let holds = self.store.holds(self.tenant, Some(self.now))?;
        let mut rows: BTreeMap<(jiff::civil::Date, String, String, String, String), u64> =
            BTreeMap::new();
        let mut open: BTreeMap<(String, &'static str, Option<String>, String), u64> =
            BTreeMap::new();
        self.batches(|batch| {
            for subject in batch {
                let facts = subject_facts(subject);
                if facts.restricted(self.now).is_some() {
                    forecast.restricted += subject.records.len() as u64;
                    continue;
                }
                for record in &subject.records {
                    let life = self.life(&facts, record);
                    if life.ends().is_some_and(|end| end <= until)
                        && hold_for(&holds, subject.subject, &record.category, self.now).is_some()
                    {
                        forecast.held += 1;
                        continue;
                    }
                    if life.expired_at(self.now) {
                        forecast.expired += 1;
                        continue;
                    }
                    let leaving = |end: Timestamp, purpose: String, rule: String, action: &str| {
                        let date = end.to_zoned(self.time_zone.clone()).date();
                        (
                            date,
                            record.category.clone(),
                            rule,
                            purpose,
                            action.to_owned(),
                        )
                    };
                    match life {
                        Life::Until {
                            until: end,
                            purpose,
                            rule,
                            action,
                        } if end <= until => {
                            use ombud_policy::model::Choice;
                            *rows
                                .entry(leaving(end, purpose, rule, action.as_str()))
                                .or_default() += 1;
                        }
                        // Unreviewed past its grace period: it goes as if a review declined it.
                        Life::Review {
                            lapses: Some(end),
                            purpose,
                            rule,
                            ..
                        } if end <= until => {
                            *rows
                                .entry(leaving(end, purpose, rule, "delete"))
                                .or_default() += 1;
                        }
                        Life::Review { due, .. } if due <= until => forecast.reviews += 1,
                        Life::Open(reason) => {
                            let purpose = match &reason {
                                Unbounded::Pending { purpose, .. }
                                | Unbounded::NoRule { purpose } => Some(purpose.clone()),
                                Unbounded::Unused | Unbounded::NoActivityApplies => None,
                            };
                            *open
                                .entry((
                                    record.category.clone(),
                                    reason.key(),
                                    purpose,
                                    reason.reason(),
                                ))
                                .or_default() += 1;
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        })?;
        forecast.rows = rows
            .into_iter()
            .map(
                |((date, category, rule, purpose, action), records)| ForecastRow {
                    date,
                    category,
                    rule,
                    purpose,
                    action,
                    records,
                },
            )
            .collect();
        forecast.kept_with_no_end = open
            .into_iter()
            .map(
                |((category, reason, purpose, explanation), records)| NoEndRow {
                    category,
                    reason: reason.to_owned(),
                    purpose,
                    explanation,
                    records,
                },
            )
            .collect();
        Ok(forecast)
    }
}

/// A record a review rule keeps until someone decides on it (prospects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewDue {
    pub subject: SubjectId,
    pub record: RecordId,
    pub category: String,
    pub purpose: String,
    pub rule: String,
    pub due: Timestamp,
    /// When it goes unless someone decides first (the rule's grace period after `due`);
    /// absent where the policy keeps unreviewed data (`then_if_unreviewed = "keep"`).
    pub lapses: Option<Timestamp>,
}

impl Sweep<'_> {
    /// The records whose review falls due within `days` days (or is past), oldest first.
    pub fn reviews(&self, days: i64) -> Result<Vec<ReviewDue>, StoreError> {
        let until = self.window_end(days);
        let mut due = Vec::new();
        self.batches(|batch| {
            for subject in batch {
                let facts = subject_facts(subject);
                for record in &subject.records {
                    if let Life::Review {
                        due: at,
                        purpose,
                        rule,
                        lapses,
                    } = self.life(&facts, record)
                        && at <= until
                    {
                        due.push(ReviewDue {
                            subject: subject.subject,
                            record: record.id,
                            category: record.category.clone(),
                            purpose,
                            rule,
                            due: at,
                            lapses,
                        });
                    }
                }
            }
            Ok(())
        })?;
        due.sort_by_key(|r| (r.due, r.subject));
        Ok(due)
    }
}

/// What a review decided about a subject whose data a review rule keeps (a prospect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Still needed: the review period starts again from now.
    Keep,
    /// No longer needed: what no other purpose or hold keeps is removed at once.
    Delete,
}

/// What a review decision did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewOutcome {
    pub subject: SubjectId,
    pub decision: ReviewDecision,
    /// Records removed now (delete).
    pub removed: u64,
    /// Whether the subject is gone with them (a tombstone remains).
    pub subject_deleted: bool,
    /// Records of the subject that a legal hold or a restriction (Art. 18) keeps past the
    /// decision; the sweeper removes what the decision let go of once that ends.
    pub still_kept: u64,
    /// When the kept data is due for review again (keep).
    pub next_review: Option<Timestamp>,
}

/// Why a review decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("no subject with that id in this tenant")]
    NoSubject,
    #[error("{0}")]
    NotUnderReview(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sweep<'_> {
    /// Records a review decision about `subject` (for `purpose`, or every purpose a review
    /// rule keeps its data for) and carries it out: keeping restarts the review period;
    /// deleting removes at once what no other purpose or hold keeps. A subject none of whose
    /// data a review rule keeps is refused, so a mistyped id cannot delete a customer.
    pub fn decide_review(
        &self,
        subject: SubjectId,
        purpose: Option<&str>,
        decision: ReviewDecision,
        actor: &Actor,
    ) -> Result<ReviewOutcome, ReviewRefusal> {
        let before = self
            .store
            .retention_subject(self.tenant, subject)?
            .ok_or(ReviewRefusal::NoSubject)?;
        let facts = subject_facts(&before);
        let reviewed = before.records.iter().any(|record| {
            matches!(self.life(&facts, record), Life::Review { purpose: p, .. }
                if purpose.is_none_or(|wanted| wanted == p))
        });
        if !reviewed {
            return Err(ReviewRefusal::NotUnderReview(match purpose {
                Some(purpose) => format!(
                    "no data of this subject is kept for review under `{purpose}`; `ombud retention review` lists who is"
                ),
                None => "no data of this subject is kept for review; `ombud retention review` lists who is".into(),
            }));
        }
        let event = ombud_store::model::NewEvent {
            id: None,
            kind: match decision {
                ReviewDecision::Keep => ombud_core::EventKind::ReviewKept,
                ReviewDecision::Delete => ombud_core::EventKind::ReviewDeclined,
            },
            purpose: purpose.map(str::to_owned),
            occurred_at: self.now,
            channel: Some("review".into()),
            policy_version: Some(self.policy.version.0.clone()),
        };
        self.store
            .add_event(self.tenant, subject, &event, actor, self.now)?;
        let mut outcome = ReviewOutcome {
            subject,
            decision,
            removed: 0,
            subject_deleted: false,
            still_kept: 0,
            next_review: None,
        };
        match decision {
            ReviewDecision::Keep => {
                let after = self
                    .store
                    .retention_subject(self.tenant, subject)?
                    .ok_or(ReviewRefusal::NoSubject)?;
                let facts = subject_facts(&after);
                outcome.next_review = after
                    .records
                    .iter()
                    .filter_map(|record| match self.life(&facts, record) {
                        Life::Review { due, .. } => Some(due),
                        _ => None,
                    })
                    .min();
            }
            ReviewDecision::Delete => {
                let holds = self.store.holds(self.tenant, Some(self.now))?;
                let mut report = SweepReport::default();
                if let Some(after) = self.store.retention_subject(self.tenant, subject)? {
                    self.sweep_batch(&[after], &holds, &mut report, &mut |_| {})?;
                }
                if report.records > 0 && !self.dry_run {
                    self.store.purge_deleted()?;
                }
                outcome.removed = report.records;
                outcome.subject_deleted = report.subjects > 0;
                outcome.still_kept = report.held + report.restricted;
            }
        }
        Ok(outcome)
    }
}
