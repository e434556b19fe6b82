//! The first start: the operator's own tenant and its first admin key. The key's secret is returned
//! to the caller to show once; later starts find the tenant and create nothing. It must not keep
//! the secret: only its hash is stored, and printing it is the caller's single chance.

use ombud_core::Clock;
use ombud_store::crypto::{api_secret_hash, new_api_secret};
use ombud_store::model::{NewApiKey, Role, TenantId};
use ombud_store::{Actor, Store, StoreError};
use zeroize::Zeroizing;

pub struct Bootstrapped {
    pub operator: TenantId,
    /// The secret of the admin key created now; `None` when the store was set up before.
    pub admin_secret: Option<Zeroizing<String>>,
    /// The operator tenant's name before it took the policy's controller name, when it changed.
    pub renamed_from: Option<String>,
}

pub fn ensure_operator(
    store: &dyn Store,
    clock: &dyn Clock,
    operator_name: &str,
) -> Result<Bootstrapped, StoreError> {
    if let Some(operator) = store.tenants()?.into_iter().find(|t| t.operator) {
        // The tenant carries the controller's name into records, exports and the audit log;
        // when privacy.toml's [controller] is renamed, the tenant follows.
        let renamed_from = (operator.name != operator_name).then(|| operator.name.clone());
        if renamed_from.is_some() {
            store.update_tenant(
                operator.id,
                operator_name,
                &operator.profile,
                &Actor::System,
                clock.now(),
            )?;
        }
        return Ok(Bootstrapped {
            operator: operator.id,
            admin_secret: None,
            renamed_from,
        });
    }
    let now = clock.now();
    let operator = match store.create_tenant(operator_name, true, &Actor::System, now) {
        Ok(tenant) => tenant.id,
        // Another replica bootstrapped at the same moment: use its tenant, make no second key.
        Err(StoreError::OperatorExists) => {
            let operator = store
                .tenants()?
                .into_iter()
                .find(|t| t.operator)
                .ok_or(StoreError::NotFound("operator tenant"))?;
            return Ok(Bootstrapped {
                operator: operator.id,
                admin_secret: None,
                renamed_from: None,
            });
        }
        Err(other) => return Err(other),
    };
    let secret = new_api_secret()?;
    store.create_api_key(
        NewApiKey {
            tenant: operator,
            operator_wide: true,
            name: "bootstrap admin".into(),
            role: Role::Admin,
            secret_hash: api_secret_hash(&secret),
        },
        &Actor::System,
        now,
    )?;
    Ok(Bootstrapped {
        operator,
        admin_secret: Some(secret),
        renamed_from: None,
    })
}
