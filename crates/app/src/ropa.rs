//! The Article 30 record as the running engine keeps it: the policy's record, with one 30(2)
//! entry per customer naming that customer as the controller and its service contacts as how
//! to reach it (Art. 30(2)(a)).

use crate::notices::NoticeError;
use ombud_policy::Policy;
use ombud_policy::render::CustomerController;
use ombud_store::model::TenantId;
use ombud_store::{Store, StoreError};

/// Every customer tenant as a controller the operator processes for, in the order they were
/// created: its name and address, and how to reach it (Art. 30(2)(a) asks for the contact
/// details of each controller and of its DPO): the privacy contact and DPO it gave, then the
/// addresses of its service contacts (kept in the operator's tenant).
pub fn customer_controllers(
    store: &dyn Store,
    operator: TenantId,
) -> Result<Vec<CustomerController>, StoreError> {
    let mut customers = vec![];
    for tenant in store.tenants()?.into_iter().filter(|t| !t.operator) {
        let mut addresses = vec![];
        for contact in store.tenant_contacts(operator, tenant.id)? {
            if let Some(subject) = store.subject(operator, contact)? {
                addresses.extend(
                    subject
                        .identities
                        .iter()
                        .filter(|i| i.kind() == ombud_core::IdentityKind::Email)
                        .map(|i| i.expose().to_owned()),
                );
            }
        }
        let profile = &tenant.profile;
        let reach: Vec<String> = profile
            .contact
            .iter()
            .cloned()
            .chain(
                profile
                    .dpo
                    .iter()
                    .map(|dpo| format!("data protection officer: {dpo}")),
            )
            .chain(addresses)
            .collect();
        customers.push(CustomerController {
            name: match &profile.address {
                Some(address) => format!("{}, {address}", tenant.name),
                None => tenant.name.clone(),
            },
            contact: reach.join("; "),
        });
    }
    Ok(customers)
}

/// The record, as CSV or JSON, with every customer named; its processor entries list the
/// sub-processors in force at `now` (an announced one only once its change takes effect).
pub fn render(
    store: &dyn Store,
    policy: &std::sync::Arc<Policy>,
    operator: TenantId,
    csv: bool,
    now: jiff::Timestamp,
) -> Result<String, NoticeError> {
    let customers = customer_controllers(store, operator)?;
    let policy = crate::subprocessors::customers_policy_at(store, operator, policy, now)?;
    Ok(ombud_policy::render::ropa_for_customers(
        &policy, &customers, csv,
    ))
}
