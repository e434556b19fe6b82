//! Background work of a running system: the deadline watcher (overdue requests, expired exports,
//! request gauges, the breach clock) and the mailer that drains the outbox. Each round leases its
//! work in the store, so several replicas can run them side by side. They decide nothing a desk
//! decides: overdue, expired and due come from the store and the core.

use crate::metrics::{MailLabels, Metrics, SubjectRequestLabels};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use lettre::{FileTransport, Message, SmtpTransport, Transport};
use ombud_core::Clock;
use ombud_policy::Policy;
use ombud_store::Store;
use ombud_store::requests::{Mail, mail_backoff};
use std::path::PathBuf;
use std::sync::Arc;

/// How mail leaves: SMTP, or .eml files in a folder when no SMTP server is configured.
pub enum Mailer {
    Smtp(Box<SmtpTransport>),
    Files(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The URL may hold credentials; it is never printed.
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp"),
            Mailer::Files(dir) => write!(f, "Mailer::Files({})", dir.display()),
        }
    }
}

/// How the log names it: the way out, never the URL (it may hold credentials).
impl std::fmt::Display for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(_) => f.write_str("SMTP relay"),
            Mailer::Files(dir) => write!(f, ".eml files in {}", dir.display()),
        }
    }
}

impl Mailer {
    /// From an SMTP URL (`smtps://user:password@host:465`, `smtp://host:587?tls=required`), or
    /// a folder for .eml files.
    pub fn new(smtp_url: Option<&str>, outbox_dir: PathBuf) -> Result<Mailer, String> {
        match smtp_url {
            Some(url) => SmtpTransport::from_url(url)
                .map(|builder| Mailer::Smtp(Box::new(builder.build())))
                .map_err(|e| {
                    format!("the SMTP URL (--smtp-url or OMBUD_SMTP_URL) is not valid ({e}); write it as smtps://user:password@host:465 or smtp://host:587?tls=required")
                }),
            None => {
                private_dir(&outbox_dir).map_err(|e| {
                    format!("the outbox folder {} cannot be created: {e}", outbox_dir.display())
                })?;
                Ok(Mailer::Files(outbox_dir))
            }
        }
    }

    fn send(&self, from: &Mailbox, mail: &Mail, unsubscribe: Option<&str>) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .expose()
            .parse()
            .map_err(|e| format!("the address cannot be used: {e}"))?;
        let message = message(from, to, mail, unsubscribe)?;
        match self {
            Mailer::Smtp(transport) => transport
                .send(&message)
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}")),
            Mailer::Files(dir) => {
                let id = FileTransport::new(dir)
                    .send(&message)
                    .map_err(|e| format!("writing the .eml file: {e}"))?;
                // The message holds an address and maybe a code: its owner's alone.
                private_file(&dir.join(format!("{id}.eml")))
                    .map_err(|e| format!("restricting the .eml file: {e}"))
            }
        }
    }
}

/// A mail as it leaves: plain UTF-8 text, MIME 1.0, a Message-ID on the sender's domain (the
/// outbox id, so a retry of the same mail carries the same id and is recognised as one), and
/// `Auto-Submitted` so that auto-responders do not answer it (RFC 3834).
/// A notice of an opt-out kind also carries its one-click unsubscribe link (RFC 2369 and RFC
/// 8058: mail clients show an unsubscribe button that posts to it), and says it in the text.
fn message(
    from: &Mailbox,
    to: Mailbox,
    mail: &Mail,
    unsubscribe: Option<&str>,
) -> Result<Message, String> {
    use lettre::message::header::{self, HeaderName, HeaderValue};
    let mut builder = Message::builder();
    let mut body = mail.body.clone();
    if let Some(url) = unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        if !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str(&format!(
            "To stop receiving these messages at once, open this link: {url}\n"
        ));
    }
    builder
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(header::MIME_VERSION_1_0)
        .header(header::ContentType::TEXT_PLAIN)
        .message_id(Some(format!("<{}@{}>", mail.id, from.email.domain())))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .body(body)
        .map_err(|e| format!("the message cannot be built: {e}"))
}

/// What the mailer signs a notice's unsubscribe link with, and where the portal is.
pub struct Links<'a> {
    pub secrets: &'a crate::secrets::Secrets,
    /// Without a trailing slash.
    pub public_url: &'a str,
}

impl Links<'_> {
    fn unsubscribe(&self, mail: &Mail) -> Option<String> {
        let (subject, kind) = mail.unsubscribe.as_ref()?;
        Some(format!(
            "{}/privacy/unsubscribe?token={}",
            self.public_url,
            self.secrets.unsubscribe_token(mail.tenant, *subject, kind)
        ))
    }
}

/// How many mails one round of the mailer leases.
const MAIL_BATCH: usize = 50;

/// One round of the mailer: sends what is due; returns how many were sent.
pub fn drain_outbox(
    store: &dyn Store,
    mailer: &Mailer,
    from: &Mailbox,
    links: &Links,
    metrics: &Metrics,
    now: Timestamp,
) -> Result<usize, ombud_store::StoreError> {
    // Long enough for a slow SMTP server; a replica that dies mid-send frees the mail after it.
    let lease = now
        .checked_add(jiff::SignedDuration::from_mins(5))
        .unwrap_or(now);
    let mut sent = 0;
    for mail in store.lease_mails(now, lease, MAIL_BATCH)? {
        match mailer.send(from, &mail, links.unsubscribe(&mail).as_deref()) {
            Ok(()) => {
                store.mail_sent(mail.tenant, mail.id, now)?;
                metrics
                    .mails
                    .get_or_create(&MailLabels {
                        outcome: "sent".into(),
                    })
                    .inc();
                sent += 1;
            }
            Err(error) => {
                // The error names the server or the address's shape, never the address.
                let error = redact(&error, &mail);
                tracing::warn!(mail = %mail.id, template = %mail.template, attempts = mail.attempts + 1, "a mail could not be sent: {error}");
                let retry = now
                    .checked_add(mail_backoff(mail.attempts + 1))
                    .unwrap_or(now);
                store.mail_failed(mail.tenant, mail.id, &error, retry)?;
                metrics
                    .mails
                    .get_or_create(&MailLabels {
                        outcome: "failed".into(),
                    })
                    .inc();
            }
        }
    }
    Ok(sent)
}

fn redact(error: &str, mail: &Mail) -> String {
    error.replace(mail.to.expose(), "<address>")
}

/// One round of the watcher: marks late requests, removes expired exports, updates gauges.
pub fn watch(
    store: &dyn Store,
    metrics: &Metrics,
    now: Timestamp,
) -> Result<(), ombud_store::StoreError> {
    watch_writes(store, now)?;
    gauges(store, metrics, now)
}

/// What the watcher changes in the store: one replica at a time (the lease holder) does it.
fn watch_writes(store: &dyn Store, now: Timestamp) -> Result<(), ombud_store::StoreError> {
    store.maintain()?;
    let late = store.mark_overdue(now)?;
    if !late.is_empty() {
        tracing::warn!(
            count = late.len(),
            "data-subject requests are past their deadline"
        );
    }
    store.remove_expired_exports(now)?;
    Ok(())
}

/// Finishes requests whose work waited for the operator's own systems, once their next try
/// has come (a minute, doubling up to an hour): the request is fulfilled when every database
/// has done its part, without anyone asking again.
pub fn retry_waiting(
    desk: &crate::rights::Desk,
    now: Timestamp,
) -> Result<(), ombud_store::StoreError> {
    let (done, still) = desk.retry_waiting(now)?;
    if !done.is_empty() {
        tracing::info!(
            count = done.len(),
            "requests that waited for the operator's systems are fulfilled"
        );
    }
    if !still.is_empty() {
        tracing::warn!(
            count = still.len(),
            "requests still wait for the operator's systems; tried again later"
        );
    }
    Ok(())
}

/// The gauges every replica shows, read from the store.
fn gauges(
    store: &dyn Store,
    metrics: &Metrics,
    now: Timestamp,
) -> Result<(), ombud_store::StoreError> {
    metrics.subject_requests.clear();
    for count in store.request_counts()? {
        metrics
            .subject_requests
            .get_or_create(&SubjectRequestLabels {
                status: count.status.as_str().into(),
                overdue: count.overdue,
            })
            .set(i64::try_from(count.count).unwrap_or(i64::MAX));
    }
    metrics.breach_due.clear();
    metrics.breach_open.clear();
    // Until notice is given to every customer the breach reached and, where the operator's own
    // data was reached, to the authority (or it is recorded as unlikely to result in a risk).
    let (mut running, mut stopped, mut soonest) = (0i64, 0i64, None::<i64>);
    for (_, incident) in store.open_incidents()? {
        if incident.clock_stopped() {
            stopped += 1;
            continue;
        }
        running += 1;
        let left = incident.deadline_at.duration_since(now).as_secs();
        if left < 0 {
            tracing::warn!(incident = %incident.id, "notice of a breach is overdue");
        }
        soonest = Some(soonest.map_or(left, |s| s.min(left)));
    }
    if let Some(left) = soonest {
        metrics
            .breach_due
            .get_or_create(&crate::metrics::DueLabels {
                of: "soonest".into(),
            })
            .set(left);
    }
    for (clock, count) in [("running", running), ("stopped", stopped)] {
        metrics
            .breach_open
            .get_or_create(&crate::metrics::OpenLabels {
                clock: clock.into(),
            })
            .set(count);
    }
    Ok(())
}

/// Adds what a sweep removed to `ombud_records_expired_total{rule}`, and sets the overdue
/// reviews and the records kept with no end it saw.
pub fn count_sweep(
    metrics: &Metrics,
    reports: &[(ombud_store::model::TenantId, crate::sweeper::SweepReport)],
) {
    let sum = |field: fn(&crate::sweeper::SweepReport) -> u64| {
        let total: u64 = reports.iter().map(|(_, r)| field(r)).sum();
        i64::try_from(total).unwrap_or(i64::MAX)
    };
    metrics.reviews_overdue.set(sum(|r| r.due_for_review));
    metrics.kept_with_no_end.set(sum(|r| r.unbounded));
    for (_, report) in reports {
        metrics.audit_pruned.inc_by(report.audit_pruned);
        for (rule, count) in &report.by_rule {
            metrics
                .records_expired
                .get_or_create(&crate::metrics::ExpiredLabels { rule: rule.clone() })
                .inc_by(*count);
        }
    }
}

/// What the background jobs work with: the server hands over the same store, policy, clock and
/// metrics its handlers use.
#[derive(Clone)]
pub struct Jobs {
    /// Who this replica is when it takes a job's lease.
    pub holder: uuid::Uuid,
    pub store: Arc<dyn Store>,
    pub policy: Arc<Policy>,
    /// The controller's time zone, in which periods are counted.
    pub time_zone: TimeZone,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// The policy's datasets, whose tables the sweep reaches too.
    pub connectors: Arc<ombud_connect::Connectors>,
    /// The rights desk, which the watcher asks to finish requests that waited for the
    /// operator's own systems.
    pub desk: crate::rights::Desk,
    /// ombud's own outbound connections, which the promise check holds to the recipients.
    pub outbound: Arc<Vec<crate::promises::Outbound>>,
}

/// How often the sweeper's lease holder checks the notice's promises.
const PROMISE_CHECK_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// The daily promise check: sets `ombud_promises_broken{promise}` and records the run in the
/// operator's audit log; logs the promises broken by name and count, never a place.
pub fn check_promises(
    store: &dyn Store,
    policy: &Policy,
    time_zone: &TimeZone,
    connectors: &ombud_connect::Connectors,
    outbound: &[crate::promises::Outbound],
    metrics: &Metrics,
    now: Timestamp,
) {
    let datasets = (!connectors.datasets().is_empty()).then_some(crate::promises::Datasets {
        connectors,
        sample: ombud_connect::discover::DEFAULT_SAMPLE,
    });
    let report = match crate::promises::check(store, policy, time_zone, datasets, outbound, now) {
        Ok(report) => report,
        Err(error) => {
            tracing::error!("the promise check failed: {error}");
            return;
        }
    };
    let counts = report.counts();
    for (promise, count) in &counts {
        metrics
            .promises_broken
            .get_or_create(&crate::metrics::PromiseLabels {
                promise: (*promise).to_owned(),
            })
            .set(i64::try_from(*count).unwrap_or(i64::MAX));
        if *count > 0 {
            tracing::warn!(promise, count, "a promise of the notice is broken");
        }
    }
    if let Err(error) = crate::promises::record(store, &report, &ombud_store::Actor::System, now) {
        tracing::error!("the promise check's run was not recorded: {error}");
    }
}

/// Signs each tenant's audit-chain head once the controller's day has ended (the watcher's
/// lease holder, once a day; a replica that took the lease over finds the day's receipts
/// issued and issues none again).
fn seal_chain_heads(
    state: &Jobs,
    sealed: &std::sync::Mutex<Option<jiff::civil::Date>>,
    now: Timestamp,
) {
    let day = crate::receipts::day_sealed(now, &state.time_zone);
    if sealed.lock().map(|last| *last == day).unwrap_or(false) {
        return;
    }
    match crate::receipts::issue_chain_heads(
        state.store.as_ref(),
        &state.desk.secrets,
        &state.policy,
        &state.time_zone,
        now,
    ) {
        Ok(issued) => {
            if issued > 0 {
                tracing::info!(
                    issued,
                    "the audit-chain heads of the day that ended are signed"
                );
            }
            if let Ok(mut last) = sealed.lock() {
                *last = day;
            }
        }
        Err(error) => tracing::error!("the audit-chain heads were not signed: {error}"),
    }
}

/// The jobs one replica at a time does, by the name of their lease.
const SWEEP: &str = "sweep";
const WATCH: &str = "watch";

/// Gives up the leases `holder` keeps, so a process started in its place (a restart, a
/// deploy) sweeps and watches at once instead of waiting for them to run out (the sweep's
/// lasts one and a half rounds: an hour and a half by default). Called when the server stops
/// on a signal, after its listeners have closed.
pub fn release_leases(
    store: &dyn Store,
    holder: uuid::Uuid,
    now: Timestamp,
) -> Result<(), ombud_store::StoreError> {
    for job in [SWEEP, WATCH] {
        // Taking our own lease until now ends it; another holder's is left as it is.
        store.take_lease(job, holder, now, now)?;
    }
    Ok(())
}

/// Starts the watcher, the mailer and the sweeper on the runtime; they stop with it.
pub fn spawn(
    state: Jobs,
    mailer: Mailer,
    every: std::time::Duration,
    sweep_every: std::time::Duration,
) {
    let sweeper_state = state.clone();
    let sweeper_metrics = Arc::clone(&state.metrics);
    // When this replica last checked the promises; the check follows a sweep once a day.
    let last_check = Arc::new(std::sync::Mutex::new(None::<Timestamp>));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_every);
        loop {
            tick.tick().await;
            let state = sweeper_state.clone();
            let last_check = Arc::clone(&last_check);
            let round = tokio::task::spawn_blocking(move || {
                let now = state.clock.now();
                // Held a round and a half: the holder renews it at its next round, and when it
                // dies another replica takes over within that.
                let until = now.checked_add(sweep_every.mul_f64(1.5)).unwrap_or(now);
                if !state.store.take_lease(SWEEP, state.holder, until, now)? {
                    return Ok(vec![]);
                }
                // The operator's own tables first: rules counted from a person's event find
                // their rows through the identities ombud keeps, which the vault's sweep may
                // remove with the person's last record. A database that cannot be reached
                // holds the vault's sweep back to the next round, so nobody's rows there are
                // left with no one to find them by.
                let mut run = crate::receipts::SweepRun::new();
                match crate::datasets::sweep(
                    &state.connectors,
                    &state.policy,
                    state.store.as_ref(),
                    &state.time_zone,
                    now,
                    false,
                ) {
                    Ok(tables) => {
                        run.tables(&state.store.tenants()?, &tables, now);
                        let rows: u64 = tables.iter().map(|t| t.rows).sum();
                        if rows > 0 {
                            tracing::info!(
                                rows,
                                "the sweeper removed dataset rows past their retention"
                            );
                        }
                    }
                    Err(error) => {
                        tracing::error!(
                            "the sweep of the datasets failed, and the vault's waits for the next round: {error}"
                        );
                        return Ok(vec![]);
                    }
                }
                let reports = crate::sweeper::sweep_all(
                    state.store.as_ref(),
                    &state.policy,
                    &state.time_zone,
                    now,
                    false,
                    |tenant, removal| run.removed(tenant, removal, now),
                )?;
                for (tenant, report) in &reports {
                    run.report(*tenant, report, now);
                }
                if let Err(error) = crate::receipts::issue_sweep_run(
                    state.store.as_ref(),
                    &state.desk.secrets,
                    &state.policy,
                    &state.time_zone,
                    run,
                    now,
                ) {
                    tracing::error!("the sweep's receipts were not issued: {error}");
                }
                // Right after a sweep, what is still past its end is the sweeper's lag or a
                // failure: that is what the daily check should find.
                let due = last_check
                    .lock()
                    .map(|last| last.is_none_or(|at| now.duration_since(at) >= PROMISE_CHECK_EVERY))
                    .unwrap_or(true);
                if due {
                    check_promises(
                        state.store.as_ref(),
                        &state.policy,
                        &state.time_zone,
                        &state.connectors,
                        &state.outbound,
                        &state.metrics,
                        now,
                    );
                    if let Ok(mut last) = last_check.lock() {
                        *last = Some(now);
                    }
                }
                Ok::<_, ombud_store::StoreError>(reports)
            })
            .await;
            match round {
                Ok(Ok(reports)) => {
                    count_sweep(&sweeper_metrics, &reports);
                    let records: u64 = reports.iter().map(|(_, r)| r.records).sum();
                    let subjects: u64 = reports.iter().map(|(_, r)| r.subjects).sum();
                    if records > 0 {
                        tracing::info!(
                            records,
                            subjects,
                            "the sweeper removed what outlived its purposes"
                        );
                    }
                }
                Ok(Err(error)) => tracing::error!("the sweeper failed: {error}"),
                Err(error) => tracing::error!("the sweeper stopped: {error}"),
            }
        }
    });
    let from: Mailbox = match format!(
        "{} <{}>",
        state.policy.controller.name.replace(['<', '>', '"'], ""),
        state.policy.controller.email
    )
    .parse()
    {
        Ok(from) => from,
        Err(error) => {
            tracing::error!(
                "the controller's email cannot send mail ({error}); the mailer does not start"
            );
            return;
        }
    };
    let mailer = Arc::new(mailer);
    let watcher_state = state.clone();
    // The last day whose chain heads this replica sealed: the store is asked once a day.
    let sealed: Arc<std::sync::Mutex<Option<jiff::civil::Date>>> = Arc::default();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let state = watcher_state.clone();
            let sealed = Arc::clone(&sealed);
            let round = tokio::task::spawn_blocking(move || {
                let now = state.clock.now();
                let until = now.checked_add(every * 3).unwrap_or(now);
                if state.store.take_lease(WATCH, state.holder, until, now)? {
                    watch_writes(state.store.as_ref(), now)?;
                    retry_waiting(&state.desk, now)?;
                    seal_chain_heads(&state, &sealed, now);
                }
                gauges(state.store.as_ref(), &state.metrics, now)
            })
            .await;
            if let Ok(Err(error)) = round {
                tracing::error!("the deadline watcher failed: {error}");
            }
        }
    });
    // The commit that queues a mail rings the mailer, so a person's code leaves at once; the
    // round every `every` still sends what is due again after a failure, and what another
    // replica queued.
    let bell = Arc::new(tokio::sync::Notify::new());
    let ring = Arc::clone(&bell);
    state
        .store
        .when_mail_queued(Arc::new(move || ring.notify_one()));
    tokio::spawn(async move {
        // The first round runs at once, for mail queued before a restart.
        let mut full = true;
        loop {
            // A full batch means more may be waiting: go on without waiting for anything.
            if !full {
                let _ = tokio::time::timeout(every, bell.notified()).await;
            }
            let (state, mailer, from) = (state.clone(), Arc::clone(&mailer), from.clone());
            let round = tokio::task::spawn_blocking(move || {
                let links = Links {
                    secrets: &state.desk.secrets,
                    public_url: &state.desk.public_url,
                };
                drain_outbox(
                    state.store.as_ref(),
                    &mailer,
                    &from,
                    &links,
                    &state.metrics,
                    state.clock.now(),
                )
            })
            .await;
            full = matches!(round, Ok(Ok(sent)) if sent >= MAIL_BATCH);
            if let Ok(Err(error)) = round {
                tracing::error!("the mailer failed: {error}");
            }
        }
    });
}

/// Creates `dir` (and its parents) readable by its owner only, whatever the umask; an existing
/// directory is narrowed to that too.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Narrows a file to its owner (0600), whatever the umask it was created under.
pub fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_core::{Identity, IdentityKind};
    use ombud_store::model::TenantId;
    use ombud_store::requests::MailId;

    /// Each mail is read back by a real MIME parser (Python's `email` package, as a mail
    /// client would): headers present and well formed, names and body decoded intact.
    #[test]
    fn a_mail_reads_back_intact_in_a_mime_parser() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mailer = Mailer::new(None, dir.path().join("outbox")).expect("a folder mailer");
        let from: Mailbox = "Autorité Laskutus Oy <privacy@laskutus.example>"
            .parse()
            .expect("from");
        let mail = Mail {
            id: MailId::new(),
            tenant: TenantId(uuid::Uuid::new_v4()),
            to: Identity::parse(IdentityKind::Email, "asa@example.se").expect("address"),
            template: "request_code".into(),
            subject: "Åsa, your code for the request to Autorité".into(),
            body: "Hej Åsa,\n\nyour code is 12345678. We answer by the end of 27 December 2026 (CET).\n— Autorité\n".into(),
            attempts: 0,
            unsubscribe: None,
        };
        mailer.send(&from, &mail, None).expect("written");
        let file = std::fs::read_dir(dir.path().join("outbox"))
            .expect("outbox")
            .next()
            .expect("one file")
            .expect("entry")
            .path();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the mail is its owner's alone");
        }
        let parsed = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print(json.dumps({
    "mime": m["MIME-Version"], "type": m.get_content_type(), "charset": m.get_content_charset(),
    "id": m["Message-ID"], "auto": m["Auto-Submitted"], "from": m["From"].addresses[0].display_name,
    "subject": m["Subject"], "body": m.get_content(), "defects": len(m.defects),
}))"#,
            )
            .arg(&file)
            .output()
            .expect("python3 runs");
        assert!(
            parsed.status.success(),
            "{}",
            String::from_utf8_lossy(&parsed.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&parsed.stdout).expect("json");
        assert_eq!(got["mime"], "1.0");
        assert_eq!(got["type"], "text/plain");
        assert_eq!(got["charset"], "utf-8");
        assert_eq!(got["id"], format!("<{}@laskutus.example>", mail.id));
        assert_eq!(got["auto"], "auto-generated");
        assert_eq!(got["from"], "Autorité Laskutus Oy");
        assert_eq!(got["subject"], mail.subject);
        assert_eq!(
            got["body"].as_str().map(|b| b.replace("\r\n", "\n")),
            Some(mail.body.clone())
        );
        assert_eq!(got["defects"], 0);
    }
}
