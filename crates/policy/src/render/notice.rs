//! The privacy notice, section by section, in the order a reader looks for things: who you are,
//! what you collect and why, who gets it, how long you keep it, what people can do about it.
//! Articles 13 and 14 GDPR list what it must say; each section notes the points it covers.

use super::document::*;
use super::{capitalise, long_date, retention_period};
use crate::countries;
use crate::model::*;
use crate::taxonomy::Sensitivity;
use std::collections::BTreeSet;

pub(crate) fn build(policy: &Policy) -> Document {
    let mut sections = vec![who_we_are(policy), scope(policy)];
    sections.push(what_we_collect(policy));
    sections.push(purposes(policy));
    if policy.activities.iter().any(|a| a.role == Role::Processor) {
        sections.push(for_customers(policy));
    }
    sections.push(recipients(policy));
    sections.push(transfers(policy));
    sections.push(retention(policy));
    sections.push(rights(policy));
    sections.push(complaints(policy));
    if !policy.security.measures.is_empty() {
        sections.push(security(policy));
    }
    sections.push(breaches(policy));
    if !policy.notice_kinds.is_empty() {
        sections.push(messages(policy));
    }
    if let Some(automated) = &policy.automated_decisions {
        sections.push(automated_decisions(automated));
    }
    if let Some(children) = &policy.children {
        sections.push(children_section(policy, children));
    }
    if let Some(cookies) = &policy.cookies {
        sections.push(cookies_section(cookies));
    }
    sections.push(changes(policy));
    Document {
        title: policy.notice.title.clone(),
        language: policy.notice.language.clone(),
        organisation: policy.controller.name.clone(),
        last_updated: policy.notice.last_updated,
        sections,
    }
}

fn join_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn controller_activities(policy: &Policy) -> impl Iterator<Item = &Activity> {
    policy
        .activities
        .iter()
        .filter(|a| a.role == Role::Controller)
}

fn category_names<'p>(policy: &'p Policy, keys: &'p [String]) -> impl Iterator<Item = &'p str> {
    keys.iter().map(|key| {
        policy
            .category(key)
            .map_or(key.as_str(), |c| c.name.as_str())
    })
}

fn contact_lines(contact: &Contact) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(name) = &contact.name {
        lines.push(line(name.clone()));
    }
    if let Some(address) = &contact.address {
        lines.push(line(address.clone()));
    }
    if let Some(email) = &contact.email {
        lines.push(vec![text("Email: "), contact_link(email)]);
    }
    if let Some(phone) = &contact.phone {
        lines.push(line(format!("Phone: {phone}")));
    }
    lines
}

/// Art. 13(1)(a) and (b): identity and contact details, the DPO, the representative.
fn who_we_are(policy: &Policy) -> Section {
    let c = &policy.controller;
    let mut blocks = Vec::new();
    blocks.push(Block::Paragraph(line(format!(
        "{} is the controller of the personal data this notice describes: we decide why and how it is processed.",
        c.name
    ))));
    if let Some(description) = &c.description {
        blocks.push(Block::Paragraph(line(description.clone())));
    }
    let mut address = vec![vec![strong(c.name.clone())], line(c.address.clone())];
    if let Some(registration) = &c.registration {
        address.push(line(registration.clone()));
    }
    address.push(vec![text("Email: "), contact_link(&c.email)]);
    if let Some(phone) = &c.phone {
        address.push(line(format!("Phone: {phone}")));
    }
    if let Some(website) = &c.website {
        address.push(vec![text("Website: "), contact_link(website)]);
    }
    blocks.push(Block::Lines(address));
    if let Some(dpo) = &c.dpo {
        blocks.push(Block::Paragraph(line(
            "You can reach our data protection officer directly:",
        )));
        blocks.push(Block::Lines(contact_lines(dpo)));
    }
    if let Some(representative) = &c.representative {
        blocks.push(Block::Paragraph(line(
            "Our representative in the European Union (Art. 27 GDPR):",
        )));
        blocks.push(Block::Lines(contact_lines(representative)));
    }
    if !policy.notice.laws.is_empty() {
        blocks.push(Block::Paragraph(line(
            "We process personal data in accordance with:",
        )));
        blocks.push(Block::List(
            policy.notice.laws.iter().map(|l| line(l.clone())).collect(),
        ));
    }
    Section {
        id: "who-we-are",
        heading: "Who we are and how to reach us".into(),
        blocks,
    }
}

fn scope(policy: &Policy) -> Section {
    let mut blocks = Vec::new();
    if !policy.notice.covers.is_empty() {
        blocks.push(Block::Paragraph(line(
            "This notice covers personal data about:",
        )));
        blocks.push(Block::List(
            policy
                .notice
                .covers
                .iter()
                .map(|c| line(c.clone()))
                .collect(),
        ));
    }
    if let Some(not_covered) = &policy.notice.not_covered {
        blocks.push(Block::Paragraph(line(not_covered.clone())));
    }
    let subjects = policy.subjects.iter().map(|s| match &s.description {
        Some(d) => line(format!("{}: {d}", s.name)),
        None => line(s.name.clone()),
    });
    blocks.push(Block::Paragraph(line(
        "The people whose data we process fall into these groups:",
    )));
    blocks.push(Block::List(subjects.collect()));
    Section {
        id: "scope",
        heading: "Whom this notice is about".into(),
        blocks,
    }
}

/// Art. 14(1)(d) and 14(2)(f): the categories of data and where they come from.
fn what_we_collect(policy: &Policy) -> Section {
    let mut rows = Vec::new();
    for category in &policy.categories {
        let using: Vec<&Activity> = controller_activities(policy)
            .filter(|a| a.categories.contains(&category.key))
            .collect();
        if using.is_empty() {
            continue;
        }
        let whose = policy
            .subjects
            .iter()
            .filter(|s| using.iter().any(|a| a.subjects.contains(&s.key)))
            .map(|s| s.name.as_str());
        let sources: BTreeSet<Source> = using
            .iter()
            .flat_map(|a| a.sources.iter().copied())
            .collect();
        rows.push(vec![
            line(category.name.clone()),
            line(join_names(whose)),
            line(capitalise(&join_names(sources.iter().map(|s| s.label())))),
        ]);
    }
    let mut blocks = vec![Block::Table {
        caption: "The personal data we collect, whose it is and where it comes from".into(),
        headers: vec!["Data".into(), "Whose".into(), "Where it comes from".into()],
        rows,
    }];
    for category in &policy.categories {
        if let Some(ground) = &category.ground {
            blocks.push(Block::Paragraph(vec![
                strong(format!("{}. ", category.name)),
                text(ground.clone()),
            ]));
        }
        if let Some(sensitivity) = category.sensitivity {
            let article = match sensitivity {
                Sensitivity::SpecialCategory => "a special category of personal data (Art. 9 GDPR)",
                Sensitivity::CriminalOffence => {
                    "data about criminal convictions and offences (Art. 10 GDPR)"
                }
            };
            blocks.push(Block::Paragraph(line(format!(
                "{} is {article}; the condition we rely on is stated with each purpose below.",
                category.name
            ))));
        }
    }
    Section {
        id: "what-we-collect",
        heading: "What data we collect and where it comes from".into(),
        blocks,
    }
}

fn basis_text(activity: &Activity) -> String {
    let Some(basis) = activity.basis else {
        return "Decided by the customer as controller; we act on its documented instructions (Art. 28(3)(a) GDPR)".into();
    };
    let mut text = format!("{} ({})", basis.label(), basis.article());
    match basis {
        LegalBasis::LegitimateInterests => {
            if let Some(interest) = &activity.legitimate_interest {
                text.push_str(&format!(": {}", interest.trim_end_matches('.')));
            }
        }
        LegalBasis::LegalObligation => {
            if let Some(law) = &activity.law {
                text.push_str(&format!(": {}", law.trim_end_matches('.')));
            }
        }
        LegalBasis::Consent => {
            text.push_str(". You can withdraw your consent at any time");
            if let Some(withdrawal) = &activity.withdrawal {
                text.push_str(&format!(": {}", withdrawal.trim_end_matches('.')));
            }
        }
        _ => {}
    }
    if activity.opt_out {
        text.push_str(". You can object to this at any time, and we will stop");
    }
    if let Some(condition) = activity.special_condition {
        text.push_str(&format!(
            ". For special-category data: {}",
            condition.article()
        ));
    }
    text.push('.');
    text
}

fn purpose_cell(activity: &Activity) -> Line {
    match &activity.description {
        Some(description) => vec![
            strong(activity.purpose.clone()),
            text(format!(". {description}")),
        ],
        None => vec![strong(activity.purpose.clone())],
    }
}

/// Art. 13(1)(c) and (d): purposes, legal bases, legitimate interests.
fn purposes(policy: &Policy) -> Section {
    let rows = controller_activities(policy)
        .map(|a| {
            vec![
                purpose_cell(a),
                line(join_names(
                    a.subjects
                        .iter()
                        .filter_map(|s| policy.subject(s).map(|s| s.name.as_str())),
                )),
                line(join_names(category_names(policy, &a.categories))),
                line(basis_text(a)),
            ]
        })
        .collect();
    Section {
        id: "purposes",
        heading: "Why we use your data and on what legal basis".into(),
        blocks: vec![
            Block::Paragraph(line(
                "We use personal data only for the purposes below, each with its legal basis under Article 6(1) GDPR.",
            )),
            Block::Table {
                caption: "Purposes of processing and their legal basis".into(),
                headers: vec![
                    "Purpose".into(),
                    "Whose data".into(),
                    "Data used".into(),
                    "Legal basis".into(),
                ],
                rows,
            },
        ],
    }
}

fn for_customers(policy: &Policy) -> Section {
    let mut blocks = vec![Block::Paragraph(line(
        "We also process personal data on behalf of our customers. For that data each customer is the controller and we are its processor: we process it only on the customer's documented instructions and under our data processing agreement (Art. 28 GDPR).",
    ))];
    for activity in policy
        .activities
        .iter()
        .filter(|a| a.role == Role::Processor)
    {
        blocks.push(Block::Subheading(activity.purpose.clone()));
        let mut items = Vec::new();
        if let Some(description) = &activity.description {
            items.push(line(description.clone()));
        }
        if let Some(on_behalf_of) = &activity.on_behalf_of {
            items.push(line(format!("On behalf of: {on_behalf_of}")));
        }
        items.push(line(format!(
            "Whose data: {}",
            join_names(
                activity
                    .subjects
                    .iter()
                    .filter_map(|s| policy.subject(s).map(|s| s.name.as_str()))
            )
        )));
        items.push(line(format!(
            "Data: {}",
            join_names(category_names(policy, &activity.categories))
        )));
        if !activity.recipients.is_empty() {
            items.push(line(format!(
                "Sub-processors: {}",
                join_names(
                    activity
                        .recipients
                        .iter()
                        .filter_map(|r| policy.recipient(r).map(|r| r.name.as_str()))
                )
            )));
        }
        blocks.push(Block::List(items));
    }
    if let Some(statement) = &policy.rights.processor_requests {
        blocks.push(Block::Paragraph(line(statement.clone())));
    }
    Section {
        id: "for-customers",
        heading: "Data we process on behalf of our customers".into(),
        blocks,
    }
}

fn country_text(recipient: &Recipient) -> String {
    recipient
        .country
        .as_deref()
        .map(|code| countries::name(code).unwrap_or(code).to_owned())
        .unwrap_or_else(|| "—".into())
}

/// Art. 13(1)(e): recipients or categories of recipients, grouped by how they stand to us.
fn recipients(policy: &Policy) -> Section {
    let mut blocks = Vec::new();
    if let Some(sharing) = &policy.sharing {
        if !sharing.sells_data {
            blocks.push(Block::Paragraph(line("We do not sell personal data.")));
        }
        if let Some(statement) = &sharing.statement {
            blocks.push(Block::Paragraph(line(statement.clone())));
        }
    }
    if policy.recipients.is_empty() {
        blocks.push(Block::Paragraph(line(
            "We do not disclose personal data to other organisations. Only our own staff who need it for their work can access it.",
        )));
    }
    for role in [
        RecipientRole::Processor,
        RecipientRole::Controller,
        RecipientRole::Authority,
    ] {
        let group: Vec<&Recipient> = policy
            .recipients
            .iter()
            .filter(|r| r.role == role)
            .collect();
        if group.is_empty() {
            continue;
        }
        blocks.push(Block::Subheading(role.label().into()));
        match role {
            RecipientRole::Processor => {
                blocks.push(Block::Paragraph(line(
                    "These providers process personal data only on our instructions, under written agreements that bind them to data protection obligations equivalent to ours (Art. 28 GDPR).",
                )));
                let rows = group
                    .iter()
                    .map(|r| {
                        let mut acts_for =
                            match (policy.is_sub_processor(r), serves_own_data(policy, r)) {
                                (true, true) => {
                                    "Our own data, and our customers' data as sub-processor"
                                        .to_owned()
                                }
                                (true, false) => "Our customers' data, as sub-processor".to_owned(),
                                _ => "Our own data".to_owned(),
                            };
                        if r.chosen_by_customer {
                            acts_for.push_str("; only where the customer selects it");
                        }
                        vec![
                            line(r.name.clone()),
                            line(r.purpose.clone()),
                            line(country_text(r)),
                            line(acts_for),
                        ]
                    })
                    .collect();
                blocks.push(Block::Table {
                    caption: "Service providers and sub-processors".into(),
                    headers: vec![
                        "Provider".into(),
                        "What they do".into(),
                        "Country".into(),
                        "For which data".into(),
                    ],
                    rows,
                });
            }
            RecipientRole::Controller | RecipientRole::Authority => {
                blocks.push(Block::List(
                    group
                        .iter()
                        .map(|r| {
                            let mut text = format!("{}: {}", r.name, r.purpose);
                            if let Some(note) = &r.note {
                                text.push_str(&format!(". {note}"));
                            }
                            line(text)
                        })
                        .collect(),
                ));
            }
        }
    }
    for recipient in policy
        .recipients
        .iter()
        .filter(|r| r.role == RecipientRole::Processor)
    {
        if let Some(note) = &recipient.note {
            blocks.push(Block::Paragraph(vec![
                strong(format!("{}. ", recipient.name)),
                text(note.clone()),
            ]));
        }
    }
    Section {
        id: "recipients",
        heading: "Who receives your data".into(),
        blocks,
    }
}

fn serves_own_data(policy: &Policy, recipient: &Recipient) -> bool {
    controller_activities(policy).any(|a| a.recipients.contains(&recipient.id))
}

/// Art. 13(1)(f): transfers to third countries, their safeguards and how to get a copy.
fn transfers(policy: &Policy) -> Section {
    let outside: Vec<&Recipient> = policy
        .recipients
        .iter()
        .filter(|r| r.transfers_outside_eea())
        .collect();
    let mut blocks = Vec::new();
    if outside.is_empty() {
        blocks.push(Block::Paragraph(line(
            "We process personal data within the European Union and the European Economic Area (EU/EEA). None of the recipients above is outside it.",
        )));
    } else {
        blocks.push(Block::Paragraph(line(
            "We process personal data primarily within the European Union and the European Economic Area (EU/EEA). The recipients below are based outside the EEA, or may reach data from outside it; for each, this is the safeguard that protects the transfer:",
        )));
        blocks.push(Block::Table {
            caption: "Transfers outside the EU/EEA and their safeguards".into(),
            headers: vec!["Recipient".into(), "Country".into(), "Safeguard".into()],
            rows: outside
                .iter()
                .map(|r| {
                    vec![
                        line(r.name.clone()),
                        line(country_text(r)),
                        line(r.safeguard.map_or("—", Safeguard::label).to_owned()),
                    ]
                })
                .collect(),
        });
        blocks.push(Block::Paragraph(vec![
            text("Where needed we add further technical and organisational measures to these safeguards. You can ask for a copy of the safeguards we apply by writing to "),
            contact_link(&policy.rights.contact),
            text("."),
        ]));
    }
    Section {
        id: "transfers",
        heading: "International transfers".into(),
        blocks,
    }
}

/// Art. 13(2)(a): how long each kind of data is kept, or the criteria.
fn retention(policy: &Policy) -> Section {
    let mut rows = Vec::new();
    for rule in &policy.retention_rules {
        let using: Vec<&Activity> = policy
            .activities
            .iter()
            .filter(|a| a.retention.contains(&rule.id))
            .collect();
        if using.is_empty() {
            continue;
        }
        // In the order the policy declares its categories, which is the order of the notice.
        let data = policy
            .categories
            .iter()
            .filter(|c| rule.covers(&c.key) && using.iter().any(|a| a.categories.contains(&c.key)))
            .map(|c| c.name.as_str());
        let purposes = join_names(using.iter().map(|a| a.purpose.as_str()));
        let mut period = vec![text(capitalise(&retention_period(rule)))];
        if let Some(description) = &rule.description {
            period.insert(0, text(format!("{description} ")));
        }
        rows.push(vec![line(join_names(data)), line(purposes), period]);
    }
    let mut blocks = vec![
        Block::Paragraph(line(
            "We keep personal data only as long as a purpose needs it. When a period below ends, the data is deleted or anonymised. Data used for several purposes is kept until the last of its periods ends, and used only for the purposes whose period still runs.",
        )),
        Block::Table {
            caption: "How long we keep each kind of data".into(),
            headers: vec![
                "Data".into(),
                "Used for".into(),
                "How long we keep it".into(),
            ],
            rows,
        },
        Block::Paragraph(line(
            "Where the law obliges us to keep data longer, or where data is needed to establish, exercise or defend a legal claim or to investigate a security incident, we keep only that data, use it only for that reason, and only as long as it lasts.",
        )),
    ];
    if let Some(rule) = policy.fallback_rule() {
        blocks.push(Block::Paragraph(vec![
            strong("Data no purpose needs. "),
            text(format!(
                "Data of yours that none of the purposes above applies to (because, for example, you never had a contract, an account or gave consent) is kept {}.",
                retention_period(rule)
            )),
        ]));
    }
    if let Some(backups) = &policy.backups {
        let mut text = backups.statement.clone().unwrap_or_default();
        if let Some(keep) = backups.keep {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("Data in backups is overwritten within {keep}."));
        }
        blocks.push(Block::Paragraph(vec![
            strong("Backups. "),
            self::text(text),
        ]));
    }
    if let Some(audit) = &policy.audit {
        blocks.push(Block::Paragraph(vec![
            strong("Our own records. "),
            text(format!(
                "We log what is done with personal data and with requests about it, so that we can show we keep these promises. The log names people only by an internal identifier, never by name or contact details, and each entry is deleted {} after it was written.",
                audit.keep
            )),
        ]));
    }
    Section {
        id: "retention",
        heading: "How long we keep your data".into(),
        blocks,
    }
}

fn right_explained(right: Right) -> &'static str {
    match right {
        Right::Access => {
            "to be told whether we process your personal data, and to get a copy of it"
        }
        Right::Rectification => "to have inaccurate data corrected and incomplete data completed",
        Right::Erasure => {
            "to have your data deleted, for example when we no longer need it or you withdraw the consent it rests on"
        }
        Right::Restriction => {
            "to have us limit the use of your data, for example while we check a complaint about its accuracy"
        }
        Right::Portability => {
            "to receive the data you gave us in a structured, commonly used, machine-readable format, and to have it passed to another controller"
        }
        Right::Objection => {
            "to object to processing based on legitimate interests; an objection to direct marketing always stops it"
        }
        Right::WithdrawConsent => {
            "to withdraw consent at any time, without affecting what was lawfully done before"
        }
        Right::AutomatedDecisions => {
            "not to be subject to a decision based solely on automated processing that has legal or similarly significant effects on you"
        }
        Right::Complaint => {
            "to lodge a complaint with a supervisory authority (see Complaints below)"
        }
    }
}

/// Art. 13(2)(b)–(d) and Art. 12(3): the rights, how to use them, and when we answer.
fn rights(policy: &Policy) -> Section {
    let r = &policy.rights;
    let mut blocks = vec![
        Block::Paragraph(line("Under the GDPR you have these rights:")),
        Block::List(
            r.offered
                .iter()
                .map(|right| {
                    vec![
                        strong(right.label()),
                        text(format!(": {}.", right_explained(*right))),
                    ]
                })
                .collect(),
        ),
        Block::Paragraph(vec![
            text("To use any of these rights, write to "),
            contact_link(&r.contact),
            text("."),
        ]),
    ];
    if !r.verification.is_empty() {
        blocks.push(Block::Paragraph(line(format!(
            "Before we act on a request we confirm that it comes from you, using {}. We ask for nothing more than we need to do so.",
            join_names(r.verification.iter().map(|v| v.label()))
        ))));
    }
    let from = r.clock_starts.counted_from();
    let first = if r.response_time.amount == 1 {
        format!(
            "the first {}",
            r.response_time.to_string().trim_start_matches("1 ")
        )
    } else {
        format!("the first {}", r.response_time)
    };
    blocks.push(Block::Paragraph(line(format!(
        "We answer within {} {from}. Where a request is complex, or we have received many, we may extend this by up to {} more; if so, we tell you within {first} and explain why. The law's own limit (one month from receipt, three once extended) ends on the next working day where its last day is a weekend or a public holiday in {}; our status page for your request shows both days.",
        r.response_time,
        r.extension,
        crate::countries::name(&policy.controller.country).unwrap_or(&policy.controller.country)
    ))));
    if let Some(withdrawal) = &r.consent_withdrawal {
        blocks.push(Block::Paragraph(vec![
            strong("Withdrawing consent. "),
            text(withdrawal.clone()),
        ]));
    }
    if let Some(statement) = &r.processor_requests {
        if !policy.activities.iter().any(|a| a.role == Role::Processor) {
            blocks.push(Block::Paragraph(line(statement.clone())));
        } else {
            blocks.push(Block::Paragraph(vec![
                strong("Data we hold for our customers. "),
                text(statement.clone()),
            ]));
        }
    }
    Section {
        id: "your-rights",
        heading: "Your rights".into(),
        blocks,
    }
}

/// Art. 13(2)(d) and Art. 77.
fn complaints(policy: &Policy) -> Section {
    let a = &policy.authority;
    let mut lines = vec![vec![strong(a.name.clone())]];
    if let Some(address) = &a.address {
        lines.push(line(format!("Address: {address}")));
    }
    if let Some(postal) = &a.postal_address {
        lines.push(line(format!("Post: {postal}")));
    }
    if let Some(phone) = &a.phone {
        lines.push(line(format!("Phone: {phone}")));
    }
    if let Some(email) = &a.email {
        lines.push(vec![text("Email: "), contact_link(email)]);
    }
    if let Some(website) = &a.website {
        lines.push(vec![text("Website: "), contact_link(website)]);
    }
    Section {
        id: "complaints",
        heading: "Complaints".into(),
        blocks: vec![
            Block::Paragraph(line(format!(
                "If you think our processing of your personal data breaks data protection law, you have the right to lodge a complaint with a supervisory authority. The authority competent for {} is:",
                policy.controller.name
            ))),
            Block::Lines(lines),
            Block::Paragraph(line(
                "You may also complain to the supervisory authority of the EU or EEA country where you live, where you work, or where the infringement took place.",
            )),
        ],
    }
}

fn security(policy: &Policy) -> Section {
    Section {
        id: "security",
        heading: "How we protect your data".into(),
        blocks: vec![
            Block::Paragraph(line(
                "We protect personal data with technical and organisational measures that include:",
            )),
            Block::List(
                policy
                    .security
                    .measures
                    .iter()
                    .map(|m| line(m.clone()))
                    .collect(),
            ),
        ],
    }
}

/// Art. 33 and 34, and the processor's duty of Art. 33(2).
fn breaches(policy: &Policy) -> Section {
    let b = &policy.breach;
    let mut blocks = Vec::new();
    for party in &b.notify {
        let text = match party {
            BreachParty::Customers => format!(
                "If a personal data breach affects data we process for a customer, we notify that customer without undue delay and, where possible, within {} of becoming aware of it. The notification describes the breach, the data and the people affected, its likely consequences, and the measures taken or proposed.",
                b.notify_within
            ),
            BreachParty::Authority => format!(
                "Where the law requires it, we notify the competent supervisory authority without undue delay and, where feasible, within {} of becoming aware of the breach.",
                b.notify_within
            ),
            BreachParty::Subjects => {
                "Where a breach is likely to put your rights and freedoms at high risk, we tell you directly and without undue delay what happened, what it may mean for you and what we are doing about it.".to_owned()
            }
        };
        blocks.push(Block::Paragraph(line(text)));
    }
    if let Some(statement) = &b.statement {
        blocks.push(Block::Paragraph(line(statement.clone())));
    }
    Section {
        id: "breaches",
        heading: "Personal data breaches".into(),
        blocks,
    }
}

fn messages(policy: &Policy) -> Section {
    let (mandatory, optional): (Vec<&NoticeKind>, Vec<&NoticeKind>) =
        policy.notice_kinds.iter().partition(|k| k.mandatory);
    let item = |k: &&NoticeKind| match &k.description {
        Some(d) => line(format!("{}: {d}", k.name)),
        None => line(k.name.clone()),
    };
    let mut blocks = Vec::new();
    if !mandatory.is_empty() {
        blocks.push(Block::Paragraph(line(
            "We send these messages to the email address our customer gives us for them, for as long as we provide the service. They cannot be switched off, because we need them to inform customers and to show that we have done so:",
        )));
        blocks.push(Block::List(mandatory.iter().map(item).collect()));
    }
    if !optional.is_empty() {
        blocks.push(Block::Paragraph(line(
            "We may also send these messages, which you can opt out of at any time:",
        )));
        blocks.push(Block::List(optional.iter().map(item).collect()));
    }
    blocks.push(Block::Paragraph(line(match policy.ledger_rule() {
        Some(rule) => format!(
            "We keep a record of which message was sent to which recipient and when, for {} after each message; then only the number of recipients stays. Your part of it goes with your data when it is erased.",
            rule.keep
        ),
        None => "We keep a record of which message was sent to which recipient and when. Your part of it goes with your data when it is erased.".to_owned(),
    })));
    Section {
        id: "messages",
        heading: "Messages we send about the service".into(),
        blocks,
    }
}

/// Art. 13(2)(f).
fn automated_decisions(automated: &AutomatedDecisions) -> Section {
    let mut blocks = vec![Block::Paragraph(line(if automated.used {
        "We make some decisions based solely on automated processing. You have the right to ask for a person to review such a decision, to express your point of view and to contest it."
    } else {
        "We do not make decisions based solely on automated processing, including profiling, that have legal or similarly significant effects on you (Art. 22 GDPR)."
    }))];
    if let Some(description) = &automated.description {
        blocks.push(Block::Paragraph(line(description.clone())));
    }
    Section {
        id: "automated-decisions",
        heading: "Automated decisions".into(),
        blocks,
    }
}

fn children_section(policy: &Policy, children: &Children) -> Section {
    let mut blocks = Vec::new();
    if let Some(statement) = &children.statement {
        blocks.push(Block::Paragraph(line(statement.clone())));
    }
    blocks.push(Block::Paragraph(vec![
        text(format!(
            "We do not knowingly collect personal data from children under {}. If you believe we have, contact us at ",
            children.minimum_age
        )),
        contact_link(&policy.rights.contact),
        text(" and we will delete it."),
    ]));
    Section {
        id: "children",
        heading: "Children".into(),
        blocks,
    }
}

fn cookies_section(cookies: &Cookies) -> Section {
    let mut blocks = Vec::new();
    if !cookies.used {
        blocks.push(Block::Paragraph(line("Our services do not use cookies.")));
    } else {
        let purposes: Vec<&str> = cookies
            .purposes
            .iter()
            .map(|p| match p {
                CookiePurpose::StrictlyNecessary => "strictly necessary",
                CookiePurpose::Functional => "functional",
                CookiePurpose::Analytics => "analytical",
                CookiePurpose::Advertising => "advertising",
            })
            .collect();
        blocks.push(Block::Paragraph(line(format!(
            "Our website uses cookies and similar technologies for {} purposes. We place cookies that are not strictly necessary only after you have consented, and you can change your choice at any time.",
            join_names(purposes)
        ))));
        if let Some(consent) = &cookies.consent {
            blocks.push(Block::Paragraph(line(consent.clone())));
        }
        if let Some(url) = &cookies.policy_url {
            blocks.push(Block::Paragraph(vec![
                text("Our cookie policy lists every cookie: "),
                contact_link(url),
            ]));
        }
    }
    Section {
        id: "cookies",
        heading: "Cookies".into(),
        blocks,
    }
}

fn changes(policy: &Policy) -> Section {
    let mut blocks = Vec::new();
    if let Some(how) = &policy.changes.how {
        blocks.push(Block::Paragraph(line(how.clone())));
    }
    blocks.push(Block::Paragraph(line(format!(
        "This notice was last updated on {}.",
        long_date(policy.notice.last_updated)
    ))));
    Section {
        id: "changes",
        heading: "Changes to this notice".into(),
        blocks,
    }
}
