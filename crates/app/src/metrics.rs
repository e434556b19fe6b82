//! Prometheus metrics of the engine: requests by route and status, access decisions, request
//! queues, mails, and what the sweeper removed. Registered here, served by the server; a label must
//! never carry personal data (ids and kinds only).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub allowed: bool,
}

/// Data-subject requests by state; `overdue` is true for open requests past their deadline.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubjectRequestLabels {
    pub status: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MailLabels {
    pub outcome: String,
}

/// Records the sweeper removed, by the retention rule that ended them.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExpiredLabels {
    pub rule: String,
}

/// Which deadline a breach gauge gives: only ever the soonest, so no series names an incident
/// (its id would tell which tenant had a breach).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DueLabels {
    pub of: String,
}

/// Open incidents by whether their notification clock still runs.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpenLabels {
    pub clock: String,
}

/// A promise of the notice, by the name the promise check gives it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PromiseLabels {
    pub promise: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub decisions: Family<DecisionLabels, Counter>,
    pub subject_requests: Family<SubjectRequestLabels, Gauge>,
    pub mails: Family<MailLabels, Counter>,
    pub records_expired: Family<ExpiredLabels, Counter>,
    pub audit_pruned: Counter,
    pub breach_due: Family<DueLabels, Gauge>,
    pub breach_open: Family<OpenLabels, Gauge>,
    /// Records past their review date at the last sweep (`ombud retention review` lists them).
    pub reviews_overdue: Gauge,
    /// Records nothing dated the end of at the last sweep (the forecast says why).
    pub kept_with_no_end: Gauge,
    /// What the last promise check found broken, per promise (0 when kept).
    pub promises_broken: Family<PromiseLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ombud");
        let requests = Family::<RequestLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "access_decisions",
            "Purpose-bound access decisions",
            decisions.clone(),
        );
        let subject_requests = Family::<SubjectRequestLabels, Gauge>::default();
        registry.register(
            "subject_requests",
            "Data-subject requests by status; overdue=true counts open requests past their deadline",
            subject_requests.clone(),
        );
        let mails = Family::<MailLabels, Counter>::default();
        registry.register("mails", "Mails sent or failed", mails.clone());
        let records_expired = Family::<ExpiredLabels, Counter>::default();
        registry.register(
            "records_expired",
            "Records the sweeper removed, by the retention rule that ended them",
            records_expired.clone(),
        );
        let audit_pruned = Counter::default();
        registry.register(
            "audit_entries_pruned",
            "Audit entries the sweeper pruned under the policy's [audit] keep",
            audit_pruned.clone(),
        );
        let breach_due = Family::<DueLabels, Gauge>::default();
        registry.register(
            "breach_notice_due_seconds",
            "Seconds left until the soonest notice of an open breach is due (Art. 33(1)); negative once overdue; absent while no clock runs",
            breach_due.clone(),
        );
        let breach_open = Family::<OpenLabels, Gauge>::default();
        registry.register(
            "breach_incidents_open",
            "Open incidents, by whether their notification clock still runs",
            breach_open.clone(),
        );
        let reviews_overdue = Gauge::default();
        registry.register(
            "records_review_overdue",
            "Records past their review date at the last sweep, kept until someone decides or the rule's grace runs out",
            reviews_overdue.clone(),
        );
        let kept_with_no_end = Gauge::default();
        registry.register(
            "records_kept_with_no_end",
            "Records nothing dated the end of at the last sweep; `ombud retention forecast` says why",
            kept_with_no_end.clone(),
        );
        let promises_broken = Family::<PromiseLabels, Gauge>::default();
        registry.register(
            "promises_broken",
            "What the last promise check found breaking each promise of the notice (records, entries, requests, incidents, rows or columns); 0 when kept",
            promises_broken.clone(),
        );
        Metrics {
            promises_broken,
            reviews_overdue,
            kept_with_no_end,
            breach_due,
            breach_open,
            audit_pruned,
            registry,
            requests,
            decisions,
            subject_requests,
            mails,
            records_expired,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
