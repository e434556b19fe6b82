//! A customer tenant as its people meet it. For a customer's data the customer is the
//! controller and the operator its processor (Art. 28): the portal and the mails must say who
//! decides over the data and how to reach them (Art. 13(1)(a)–(b), 14(1)(a)–(b)), and that the
//! operator only handles the requests on the customer's behalf. This module checks the
//! customer's details the same way for the API and the console, and gives the [`Voice`] in
//! which every page and mail of a tenant speaks.

use jiff::Timestamp;
use ombud_core::{Identity, IdentityKind};
use ombud_policy::Policy;
use ombud_store::model::{Tenant, TenantId, TenantProfile};
use ombud_store::{Actor, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> TenantError {
    TenantError::Invalid {
        field,
        message: message.into(),
    }
}

/// What an update changes: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub colour: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub registration: Option<Option<String>>,
    pub contact: Option<Option<String>>,
    pub dpo: Option<Option<String>>,
    pub authority: Option<Option<String>>,
    pub authority_website: Option<Option<String>>,
    pub notice_url: Option<Option<String>>,
}

/// The longest a line of the profile may be (an address, an authority's full name).
const LINE: usize = 300;

/// Applies `changes` to a customer tenant, each value checked first: nothing is written when
/// one is refused. The operator's own tenant is refused: its details are privacy.toml's
/// `[controller]`, which `ombud init` and `serve` copy.
pub fn update(
    store: &dyn Store,
    id: TenantId,
    changes: Changes,
    actor: &Actor,
    at: Timestamp,
) -> Result<Tenant, TenantError> {
    let tenant = store.tenant(id)?.ok_or(StoreError::NotFound("tenant"))?;
    if tenant.operator {
        return Err(invalid(
            "tenant",
            "the operator's own details come from privacy.toml's [controller]; edit them there and restart the server",
        ));
    }
    let (name, profile) = changed(&tenant.name, &tenant.profile, changes)?;
    Ok(store.update_tenant(id, &name, &profile, actor, at)?)
}

/// `name` and `profile` with `changes` applied, every value checked; nothing is stored.
pub fn changed(
    name: &str,
    profile: &TenantProfile,
    changes: Changes,
) -> Result<(String, TenantProfile), TenantError> {
    let name = match changes.name {
        Some(name) => ombud_core::text::one_line_name("name", &name, 200)
            .map_err(|message| invalid("name", message))?,
        None => name.to_owned(),
    };
    let mut profile = profile.clone();
    let line = |field: &'static str, value: String| {
        ombud_core::text::one_line_name(&field.replace('_', " "), &value, LINE)
            .map_err(|message| invalid(field, message))
    };
    apply(&mut profile.display_name, changes.display_name, |v| {
        ombud_core::text::one_line_name("display name", &v, 200)
            .map_err(|message| invalid("display_name", message))
    })?;
    apply(&mut profile.colour, changes.colour, colour)?;
    apply(&mut profile.address, changes.address, |v| {
        line("address", v)
    })?;
    apply(&mut profile.registration, changes.registration, |v| {
        line("registration", v)
    })?;
    apply(&mut profile.contact, changes.contact, contact)?;
    apply(&mut profile.dpo, changes.dpo, |v| line("dpo", v))?;
    apply(&mut profile.authority, changes.authority, |v| {
        line("authority", v)
    })?;
    apply(
        &mut profile.authority_website,
        changes.authority_website,
        |v| link("authority_website", v),
    )?;
    apply(&mut profile.notice_url, changes.notice_url, |v| {
        link("notice_url", v)
    })?;
    Ok((name, profile))
}

fn apply(
    field: &mut Option<String>,
    change: Option<Option<String>>,
    check: impl FnOnce(String) -> Result<String, TenantError>,
) -> Result<(), TenantError> {
    match change {
        None => {}
        // An empty value clears, as the console's `--dpo ""` would.
        Some(None) => *field = None,
        Some(Some(value)) if value.trim().is_empty() => *field = None,
        Some(Some(value)) => *field = Some(check(value)?),
    }
    Ok(())
}

/// `#rrggbb`, lowercased, dark enough that the portal's white button text on it reads at the
/// 4.5:1 contrast WCAG 2.2 asks of body text (1.4.3).
fn colour(value: String) -> Result<String, TenantError> {
    let hex = value.trim().to_ascii_lowercase();
    let digits = hex.strip_prefix('#').unwrap_or("");
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(
            "colour",
            "write the colour as # and six hexadecimal digits, like #0b57d0",
        ));
    }
    let ratio = contrast_with_white(digits);
    if ratio < 4.5 {
        return Err(invalid(
            "colour",
            format!(
                "{hex} is too light for the white text on the portal's buttons (contrast {ratio:.1}:1, at least 4.5:1 is needed); choose a darker shade"
            ),
        ));
    }
    Ok(hex)
}

fn contrast_with_white(digits: &str) -> f64 {
    let channel = |i: usize| {
        let value = f64::from(u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if value <= 0.04045 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (luminance + 0.05)
}

fn contact(value: String) -> Result<String, TenantError> {
    Identity::parse(IdentityKind::Email, &value)
        .map(|identity| identity.expose().to_owned())
        .map_err(|_| {
            invalid(
                "contact",
                "give the contact as an email address where the customer's people can write, like privacy@customer.example",
            )
        })
}

/// An https address of one line, as a link on the portal.
fn link(field: &'static str, value: String) -> Result<String, TenantError> {
    let value = value.trim().to_owned();
    let host = value
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let fine = value.len() <= 500
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && host.is_some_and(|h| h.contains('.') && !h.contains('@'));
    if !fine {
        return Err(invalid(
            field,
            format!(
                "give the {} as an https address of at most 500 characters, like https://customer.example/privacy",
                field.replace('_', " ")
            ),
        ));
    }
    Ok(value)
}

/// Who speaks on a tenant's portal and in its mails. For the operator's own tenant, the
/// operator as controller (privacy.toml); for a customer's, the customer as controller with the
/// details it gave, and the operator as the processor that answers on its behalf. What the
/// customer has not given is left unsaid rather than borrowed from the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    /// The controller's legal name.
    pub controller: String,
    /// The name the portal's header shows.
    pub display_name: String,
    pub address: Option<String>,
    pub registration: Option<String>,
    /// Where people write with questions: the customer's contact when given, otherwise the
    /// operator's privacy contact, which handles the requests for it.
    pub contact: String,
    pub dpo: Option<String>,
    pub authority: Option<String>,
    pub authority_website: Option<String>,
    pub notice_url: Option<String>,
    /// The portal's accent colour (`#rrggbb`), when the tenant chose one.
    pub colour: Option<String>,
    /// The operator, when it answers for a customer as its processor.
    pub processor: Option<String>,
}

impl Voice {
    /// The operator speaking for its own data.
    pub fn operator(policy: &Policy) -> Voice {
        let c = &policy.controller;
        Voice {
            controller: c.name.clone(),
            display_name: c.name.clone(),
            address: Some(c.address.clone()),
            registration: c.registration.clone(),
            contact: policy.rights.contact.clone(),
            dpo: c.dpo.as_ref().and_then(|dpo| {
                // A name that only repeats the title ("Data protection officer") says nothing.
                let name = dpo
                    .name
                    .as_deref()
                    .filter(|n| !n.eq_ignore_ascii_case("data protection officer"));
                let parts: Vec<&str> = [name, dpo.email.as_deref()].into_iter().flatten().collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }),
            authority: Some(policy.authority.name.clone()),
            authority_website: policy.authority.website.clone(),
            notice_url: None,
            colour: None,
            processor: None,
        }
    }

    /// The voice of `tenant`'s portal and mails.
    pub fn of(policy: &Policy, tenant: &Tenant) -> Voice {
        if tenant.operator {
            return Voice::operator(policy);
        }
        let p = &tenant.profile;
        Voice {
            controller: tenant.name.clone(),
            display_name: p
                .display_name
                .clone()
                .unwrap_or_else(|| tenant.name.clone()),
            address: p.address.clone(),
            registration: p.registration.clone(),
            contact: p
                .contact
                .clone()
                .unwrap_or_else(|| policy.rights.contact.clone()),
            dpo: p.dpo.clone(),
            authority: p.authority.clone(),
            authority_website: p.authority_website.clone(),
            notice_url: p.notice_url.clone(),
            colour: p.colour.clone(),
            processor: Some(policy.controller.name.clone()),
        }
    }

    /// The voice of the tenant `id`: the operator's when the tenant is unknown (a page that
    /// can name nobody else).
    pub fn of_id(store: &dyn Store, policy: &Policy, id: TenantId) -> Result<Voice, StoreError> {
        Ok(match store.tenant(id)? {
            Some(tenant) => Voice::of(policy, &tenant),
            None => Voice::operator(policy),
        })
    }

    /// Who answers, as a sentence's subject: "Beukenhof Hosting BV, on behalf of Acme Oy," or
    /// the controller alone.
    pub fn who_answers(&self) -> String {
        match &self.processor {
            Some(processor) => format!("{processor}, on behalf of {},", self.controller),
            None => self.controller.clone(),
        }
    }

    /// The sentence that tells a customer's people who does what; empty for the operator.
    pub fn roles(&self) -> Option<String> {
        self.processor.as_ref().map(|processor| {
            format!(
                "{} is the controller of your personal data and decides how it is used. {processor} provides its service as its processor and handles requests about your data on its behalf.",
                self.controller
            )
        })
    }

    /// The mail signature: the controller, how to reach it, and who wrote on its behalf.
    pub fn signature(&self) -> String {
        let mut lines = vec![self.controller.clone()];
        lines.extend(self.address.clone());
        lines.push(format!("Privacy contact: {}", self.contact));
        if let Some(dpo) = &self.dpo {
            lines.push(format!("Data protection officer: {dpo}"));
        }
        if let Some(processor) = &self.processor {
            lines.push(format!(
                "Sent by {processor}, which handles requests about your data for {} as its processor.",
                self.controller
            ));
        }
        format!("\n-- \n{}\n", lines.join("\n"))
    }

    /// The right to complain (Art. 77), naming the controller's authority where known.
    pub fn complaint(&self) -> String {
        match &self.authority {
            Some(authority) => format!(
                "You may lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular {authority}{}, and seek a judicial remedy.",
                self.authority_website
                    .as_deref()
                    .map_or(String::new(), |w| format!(" ({w})"))
            ),
            None => "You may lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular in the EU country where you live, where you work or where you think the infringement took place, and seek a judicial remedy.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_must_carry_white_text() {
        assert_eq!(colour("#0B57D0".into()).ok().as_deref(), Some("#0b57d0"));
        assert!(colour("#000000".into()).is_ok());
        let light = colour("#ffdd00".into()).expect_err("too light").to_string();
        assert!(
            light.contains("too light") && light.contains("4.5:1"),
            "{light}"
        );
        for bad in ["0b57d0", "#0b57d", "#0b57dg", "red", "#0b57d0;}"] {
            assert!(colour(bad.into()).is_err(), "{bad}");
        }
        // The edge of the ratio: #767676 is the lightest grey that reads at 4.5:1 on white.
        assert!(colour("#767676".into()).is_ok());
        assert!(colour("#777777".into()).is_err());
    }

    #[test]
    fn links_are_https_addresses_of_one_line() {
        assert!(link("notice_url", "https://acme.example/privacy".into()).is_ok());
        for bad in [
            "http://acme.example/privacy",
            "javascript:alert(1)",
            "https://",
            "https://acme example",
            "https://user@host/",
            "acme.example/privacy",
        ] {
            let error = link("notice_url", bad.into())
                .expect_err("refused")
                .to_string();
            assert!(error.contains("https address"), "{bad}: {error}");
        }
    }
}
