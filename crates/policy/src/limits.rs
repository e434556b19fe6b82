//! Limits the law sets on what a policy may say: deadlines no longer than the GDPR allows, and
//! the keys a kind of processing makes necessary. Each check reports a finding through the
//! validation context; none of them reads anything but the policy.

use crate::duration::Duration;
use crate::finding::Code;
use crate::raw::{RawPolicy, Text};
use crate::validate::Ctx;

/// A processor must let its customers object to a new sub-processor before it starts
/// (Art. 28(2)): a policy with a processor activity has to say for how long they may.
pub(crate) fn objection_window_required(ctx: &mut Ctx, raw: &RawPolicy) {
    let processor = raw.activities.iter().find_map(|activity| {
        let role = activity.get_ref().role.as_ref()?;
        (role.get_ref() == "processor")
            .then(|| (activity.get_ref().id.get_ref().clone(), role.span()))
    });
    let Some((id, span)) = processor else { return };
    ctx.report(
        Code::MissingKey,
        span,
        "changes.objection_window",
        format!(
            "activity `{id}` processes data for customers, who may object to a new sub-processor before it starts (Art. 28(2) GDPR), but the policy does not say for how long"
        ),
        Some("add `objection_window = \"30 days\"` (or the period your agreements give) under `[changes]`".into()),
    );
}

/// The longest a deadline may be: `months` calendar months, or as many hours as the shortest
/// such span (a month can be 28 days, two months 59).
pub(crate) struct Limit {
    pub(crate) path: &'static str,
    pub(crate) months: u32,
    pub(crate) shortest_hours: u64,
    pub(crate) law: &'static str,
    pub(crate) fix: &'static str,
}

/// Reports a deadline the policy sets longer than the law allows; a deadline counted in days or
/// weeks is too long when it can end after the calendar months the law counts in.
pub(crate) fn legal_limit(ctx: &mut Ctx, value: Option<&Text>, duration: Duration, limit: Limit) {
    let Some(value) = value else { return };
    if duration.fits_within(limit.months, limit.shortest_hours) {
        return;
    }
    let calendar = matches!(
        duration.unit,
        crate::duration::Unit::Month | crate::duration::Unit::Year
    ) || limit.months == 0;
    let message = if calendar {
        format!("`{duration}` is longer than the law allows: {}", limit.law)
    } else {
        format!(
            "`{duration}` can end after the calendar months the law counts in (a month can be 28 days): {}",
            limit.law
        )
    };
    ctx.report(
        Code::BeyondLegalLimit,
        value.span(),
        limit.path,
        message,
        Some(limit.fix.to_owned()),
    );
}

/// Data survives an erasure request under a legal obligation only for as long as a law
/// requires (Art. 17(3)(b)); a legal-obligation activity none of whose rules names that law
/// could keep nothing past erasure, and says nothing true about why it keeps data at all.
pub(crate) fn legal_retention_names_a_law(
    ctx: &mut Ctx,
    raw: &RawPolicy,
    activities: &[crate::model::Activity],
    rules: &[crate::model::RetentionRule],
) {
    use crate::model::LegalBasis;
    for (activity, raw_activity) in activities.iter().zip(&raw.activities) {
        if activity.basis != Some(LegalBasis::LegalObligation) || activity.retention.is_empty() {
            continue;
        }
        let named = activity
            .retention
            .iter()
            .filter_map(|id| rules.iter().find(|r| &r.id == id))
            .any(|r| r.law.as_deref().is_some_and(|l| !l.trim().is_empty()));
        if named {
            continue;
        }
        let span = raw_activity
            .get_ref()
            .retention
            .first()
            .map_or(raw_activity.span(), |r| r.span());
        ctx.report(
            Code::LegalRetentionWithoutLaw,
            span,
            format!("activity[{}].retention", activity.id),
            format!(
                "the activity `{}` keeps data under a legal obligation, but none of its retention rules names the law that sets the period",
                activity.id
            ),
            Some("add `law = \"…\"` (the act and section) to the rule that keeps its data; only a rule that names a law keeps data past an erasure request (Art. 17(3)(b) GDPR)".into()),
        );
    }
}
