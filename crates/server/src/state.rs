//! What every handler shares: the store, the policy, the clock, the operator's tenant, metrics.

use crate::error::ApiError;
use jiff::tz::TimeZone;
use ombud_app::metrics::Metrics;
use ombud_core::Clock;
use ombud_policy::Policy;
use ombud_store::model::TenantId;
use ombud_store::{Store, StoreError};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub policy: Arc<Policy>,
    /// The controller's time zone, in which periods are counted.
    pub time_zone: TimeZone,
    pub clock: Arc<dyn Clock>,
    pub operator: TenantId,
    pub metrics: Arc<Metrics>,
    pub keys: Arc<crate::keycache::KeyCache>,
    pub secrets: Arc<ombud_app::secrets::Secrets>,
    /// Where people reach the portal and download links, without a trailing slash.
    pub public_url: String,
    /// How often the portal may be asked to mail someone or to try a code.
    pub limits: Arc<crate::limits::Limiters>,
    /// The header the operator's reverse proxy puts the client's address in, if any; the
    /// connection's own address otherwise.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// This process among the replicas sharing the store, for the jobs' leases.
    pub replica: uuid::Uuid,
    /// The policy's datasets and their connections.
    pub connectors: Arc<ombud_connect::Connectors>,
    /// Appends the audit entries of reads in group commits.
    pub audit: Arc<crate::audit_writer::AuditWriter>,
    /// What access decisions read, kept while the store's facts generation holds.
    pub facts: Arc<crate::facts_cache::FactsCache>,
    /// The store's facts generations, read in rounds that waiting decisions share.
    pub generations: Arc<crate::generations::Generations>,
    /// The server's own outbound connections (the SMTP relay), for the promise check.
    pub outbound: Arc<Vec<ombud_app::promises::Outbound>>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        operator: TenantId,
        secrets: ombud_app::secrets::Secrets,
        public_url: &str,
    ) -> Result<AppState, String> {
        let time_zone = TimeZone::get(&policy.controller.time_zone).map_err(|e| {
            format!(
                "the policy's time zone {} is unknown: {e}",
                policy.controller.time_zone
            )
        })?;
        Ok(AppState {
            audit: Arc::new(crate::audit_writer::AuditWriter::start(Arc::clone(&store))),
            facts: Arc::default(),
            generations: crate::generations::Generations::over(&store),
            store,
            policy,
            time_zone,
            operator,
            metrics: Arc::new(Metrics::new()),
            keys: Arc::default(),
            limits: Arc::new(crate::limits::Limiters::new(
                crate::limits::PortalLimits::default(),
                Arc::clone(&clock),
            )?),
            clock,
            secrets: Arc::new(secrets),
            public_url: public_url.trim_end_matches('/').to_owned(),
            client_ip_header: None,
            replica: uuid::Uuid::now_v7(),
            connectors: Arc::default(),
            outbound: Arc::default(),
        })
    }

    /// The server's outbound connections, for the promise check to hold to the recipients.
    pub fn with_outbound(mut self, outbound: Vec<ombud_app::promises::Outbound>) -> AppState {
        self.outbound = Arc::new(outbound);
        self
    }

    /// The datasets requests reach, in place of none.
    pub fn with_connectors(mut self, connectors: ombud_connect::Connectors) -> AppState {
        self.connectors = Arc::new(connectors);
        self
    }

    /// The portal's limits as configured, in place of the defaults.
    pub fn with_portal_limits(
        mut self,
        limits: crate::limits::PortalLimits,
        client_ip_header: Option<axum::http::HeaderName>,
    ) -> Result<AppState, String> {
        self.limits = Arc::new(crate::limits::Limiters::new(
            limits,
            Arc::clone(&self.clock),
        )?);
        self.client_ip_header = client_ip_header;
        Ok(self)
    }

    pub fn desk(&self) -> ombud_app::rights::Desk {
        ombud_app::rights::Desk {
            store: Arc::clone(&self.store),
            policy: Arc::clone(&self.policy),
            time_zone: self.time_zone.clone(),
            secrets: Arc::clone(&self.secrets),
            public_url: self.public_url.clone(),
            connectors: Arc::clone(&self.connectors),
        }
    }

    /// Runs a blocking step of the rights desk on the blocking pool.
    pub async fn desk_call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&ombud_app::rights::Desk) -> Result<T, ombud_app::rights::DeskError>
        + Send
        + 'static,
    ) -> Result<T, ApiError> {
        let desk = self.desk();
        tokio::task::spawn_blocking(move || work(&desk))
            .await
            .map_err(|e| ApiError::Internal(format!("a request step did not finish: {e}")))?
            .map_err(ApiError::from)
    }

    /// The activity a request names as its purpose, or a 422 that lists the policy's purposes.
    pub fn purpose(&self, purpose: &str) -> Result<&ombud_policy::model::Activity, ApiError> {
        self.policy.activity(purpose).ok_or_else(|| {
            ApiError::invalid(
                "purpose",
                ombud_app::rights::unknown_purpose(&self.policy, purpose),
            )
        })
    }

    /// Runs blocking work over the store whose errors are its own (a notice refused, say) on
    /// the blocking pool.
    pub async fn call<T: Send + 'static, E: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store, &Policy) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        ApiError: From<E>,
    {
        let (store, policy) = (Arc::clone(&self.store), Arc::clone(&self.policy));
        tokio::task::spawn_blocking(move || work(store.as_ref(), policy.as_ref()))
            .await
            .map_err(|e| ApiError::Internal(format!("a store call did not finish: {e}")))?
            .map_err(ApiError::from)
    }

    /// The background jobs' share of this state.
    pub fn jobs(&self) -> ombud_app::jobs::Jobs {
        ombud_app::jobs::Jobs {
            holder: self.replica,
            store: Arc::clone(&self.store),
            policy: Arc::clone(&self.policy),
            time_zone: self.time_zone.clone(),
            clock: Arc::clone(&self.clock),
            metrics: Arc::clone(&self.metrics),
            connectors: Arc::clone(&self.connectors),
            desk: self.desk(),
            outbound: Arc::clone(&self.outbound),
        }
    }

    /// Runs a blocking store call on the blocking pool.
    pub async fn store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.call(move |store, _| work(store)).await
    }
}
