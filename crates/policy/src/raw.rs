//! privacy.toml as written: serde structs as close to the file as possible, with the position
//! of every value kept for findings. Nothing is checked here beyond TOML types and known keys.

use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;
pub type TextList = Vec<Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub notice: Spanned<RawNotice>,
    pub controller: Spanned<RawController>,
    pub authority: Spanned<RawAuthority>,
    #[serde(default, rename = "subject")]
    pub subjects: Vec<Spanned<RawSubject>>,
    #[serde(default, rename = "category")]
    pub categories: Vec<Spanned<RawCategory>>,
    #[serde(default, rename = "activity")]
    pub activities: Vec<Spanned<RawActivity>>,
    #[serde(default, rename = "retention")]
    pub retention_rules: Vec<Spanned<RawRetention>>,
    #[serde(default, rename = "recipient")]
    pub recipients: Vec<Spanned<RawRecipient>>,
    #[serde(default, rename = "notice_kind")]
    pub notice_kinds: Vec<Spanned<RawNoticeKind>>,
    pub sharing: Option<RawSharing>,
    pub rights: Option<Spanned<RawRights>>,
    pub breach: Option<Spanned<RawBreach>>,
    pub security: Option<RawSecurity>,
    pub children: Option<RawChildren>,
    pub cookies: Option<RawCookies>,
    pub automated_decisions: Option<RawAutomatedDecisions>,
    pub backups: Option<RawBackups>,
    pub audit: Option<RawAudit>,
    pub changes: Option<RawChanges>,
    pub ledger: Option<RawLedger>,
    #[serde(default, rename = "dataset")]
    pub datasets: Vec<Spanned<RawDatasetRef>>,
}

/// A dataset file the policy reaches (`[[dataset]]`), with what a Fides file cannot say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatasetRef {
    /// Relative to the policy file.
    pub file: Text,
    #[serde(default)]
    pub purposes: TextList,
    pub connection: Option<crate::model::DatasetConnection>,
    pub tenant: Option<crate::model::DatasetTenant>,
}

/// How long the notice ledger keeps who was sent what, and the addresses it went to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLedger {
    /// The `[[retention]]` rule that governs message records.
    pub retention: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotice {
    pub title: Option<String>,
    /// A TOML date (`2026-04-26`) or the same as a string.
    pub last_updated: Spanned<toml::Value>,
    pub language: Option<Text>,
    #[serde(default)]
    pub laws: Vec<String>,
    #[serde(default)]
    pub covers: Vec<String>,
    pub not_covered: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawController {
    pub name: String,
    pub address: String,
    pub country: Text,
    pub registration: Option<String>,
    pub email: Text,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub time_zone: Text,
    pub description: Option<String>,
    pub dpo: Option<Spanned<RawContact>>,
    pub representative: Option<Spanned<RawContact>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    pub name: Option<String>,
    pub email: Option<Text>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthority {
    pub name: String,
    pub country: Text,
    pub address: Option<String>,
    pub postal_address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<Text>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubject {
    pub key: Text,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategory {
    pub key: Text,
    pub name: Option<String>,
    pub description: Option<String>,
    pub parent: Option<Text>,
    #[serde(default)]
    pub special: bool,
    pub ground: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActivity {
    pub id: Text,
    pub purpose: String,
    pub description: Option<String>,
    pub basis: Option<Text>,
    pub legitimate_interest: Option<String>,
    pub law: Option<String>,
    pub role: Option<Text>,
    pub on_behalf_of: Option<String>,
    pub subjects: Option<Spanned<TextList>>,
    pub categories: Option<Spanned<TextList>>,
    pub sources: Option<Spanned<TextList>>,
    #[serde(default)]
    pub recipients: TextList,
    #[serde(default)]
    pub retention: TextList,
    pub special_condition: Option<Text>,
    pub withdrawal: Option<String>,
    #[serde(default)]
    pub opt_out: bool,
    #[serde(default)]
    pub restriction_exempt: bool,
    pub data_use: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub id: Text,
    pub keep: Text,
    pub after: Text,
    pub then: Option<Text>,
    pub description: Option<String>,
    pub law: Option<String>,
    pub law_period: Option<Text>,
    /// Limits the rule to these categories of the activities that use it.
    pub categories: Option<TextList>,
    #[serde(default)]
    pub from_end_of_year: bool,
    /// Review rules only: how long past the review date unreviewed data waits.
    pub grace: Option<Text>,
    /// Review rules only: `delete` (the default) or `keep` once the grace period is over.
    pub then_if_unreviewed: Option<Text>,
    /// This rule ends the records of a person to whom no activity that uses their category
    /// applies (no consent, contract or account ever recorded).
    #[serde(default)]
    pub fallback: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecipient {
    pub id: Text,
    pub name: String,
    pub role: Text,
    pub purpose: String,
    pub country: Option<Text>,
    pub safeguard: Option<Text>,
    #[serde(default)]
    pub chosen_by_customer: bool,
    #[serde(default = "yes")]
    pub named: bool,
    pub note: Option<String>,
    /// Where the recipient is told of rectifications, erasures and restrictions (Art. 19).
    pub contact: Option<Text>,
    /// The host names ombud's own outbound connections reach this recipient at
    /// (`smtp.postmarkapp.com`, or `*.postmarkapp.com` for any beneath it).
    #[serde(default)]
    pub hosts: TextList,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNoticeKind {
    pub key: Text,
    pub name: String,
    pub mandatory: bool,
    pub description: Option<String>,
    pub activity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRights {
    pub response_time: Option<Text>,
    pub extension: Option<Text>,
    pub clock_starts: Option<Text>,
    pub verification: Option<TextList>,
    pub contact: Option<String>,
    pub offered: Option<TextList>,
    pub consent_withdrawal: Option<String>,
    pub processor_requests: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreach {
    pub notify_within: Option<Text>,
    #[serde(default)]
    pub notify: TextList,
    pub statement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    #[serde(default)]
    pub measures: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChildren {
    pub minimum_age: Spanned<i64>,
    pub statement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCookies {
    pub used: bool,
    #[serde(default)]
    pub purposes: TextList,
    pub consent: Option<String>,
    pub policy_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutomatedDecisions {
    pub used: bool,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackups {
    pub keep: Option<Text>,
    pub statement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    pub keep: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChanges {
    pub how: Option<String>,
    pub objection_window: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSharing {
    pub sells_data: bool,
    pub statement: Option<String>,
}
