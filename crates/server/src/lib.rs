//! ombud's HTTP API. `Application::build` binds and wires the routes; only this crate knows
//! HTTP. Handlers decide nothing themselves: they authenticate, translate the request, and hand
//! it to the application (`ombud-app`), which decides.

pub mod audit_writer;
pub mod auth;
pub mod console;
pub mod error;
pub mod facts_cache;
pub mod generations;
pub mod idempotency;
pub mod keycache;
pub mod limits;
pub mod openapi;
pub mod portal;
pub mod routes;
pub mod state;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use ombud_app::metrics::RequestLabels;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub use state::AppState;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/tenants",
            get(routes::admin::list_tenants).post(routes::admin::create_tenant),
        )
        .route(
            "/tenants/{id}",
            get(routes::admin::get_tenant).patch(routes::admin::update_tenant),
        )
        .route(
            "/keys",
            get(routes::admin::list_keys).post(routes::admin::create_key),
        )
        .route(
            "/tenants/{id}/contacts",
            get(routes::notices::contacts).post(routes::notices::add_contact),
        )
        .route(
            "/tenants/{id}/contacts/{subject}",
            delete(routes::notices::remove_contact),
        )
        .route("/keys/{id}", delete(routes::admin::revoke_key))
        .route(
            "/subjects",
            get(routes::subjects::find_subject).post(routes::subjects::create_subject),
        )
        .route("/subjects/{id}", get(routes::subjects::get_subject))
        .route(
            "/subjects/{id}/records",
            get(routes::subjects::read_records).put(routes::subjects::put_records),
        )
        .route("/records", post(routes::subjects::bulk_records))
        .route(
            "/subjects/{id}/events",
            get(routes::events::list_events).post(routes::events::add_event),
        )
        .route(
            "/subjects/{id}/restriction/lift",
            post(routes::events::lift_restriction),
        )
        .route(
            "/subjects/{id}/consents",
            get(routes::events::list_consents).post(routes::events::give_consent),
        )
        .route(
            "/subjects/{id}/consents/{purpose}",
            delete(routes::events::withdraw_consent),
        )
        .route(
            "/requests",
            get(routes::requests::list).post(routes::requests::file),
        )
        .route("/requests/{id}", get(routes::requests::show))
        .route("/requests/{id}/plan", get(routes::requests::plan))
        .route("/requests/{id}/verify", post(routes::requests::verify))
        .route("/requests/{id}/code", post(routes::requests::resend_code))
        .route("/requests/{id}/extend", post(routes::requests::extend))
        .route("/requests/{id}/start", post(routes::requests::start))
        .route("/requests/{id}/assign", post(routes::requests::assign))
        .route("/requests/{id}/fulfil", post(routes::requests::fulfil))
        .route("/requests/{id}/refuse", post(routes::requests::refuse))
        .route("/requests/{id}/mails", get(routes::requests::mails))
        .route("/requests/{id}/receipt", get(routes::receipts::for_request))
        .route("/receipts", get(routes::receipts::list))
        .route("/receipts/check", post(routes::receipts::check))
        .route("/retention/forecast", get(routes::retention::forecast))
        .route(
            "/retention/reviews",
            get(routes::retention::reviews).post(routes::retention::decide),
        )
        .route(
            "/incidents",
            get(routes::incidents::list).post(routes::incidents::open),
        )
        .route(
            "/notices",
            get(routes::notices::list).post(routes::notices::send),
        )
        .route("/notices/{id}", get(routes::notices::show))
        .route("/subjects/{id}/notices", get(routes::notices::received))
        .route("/incidents/{id}", get(routes::incidents::show))
        .route("/incidents/{id}/close", post(routes::incidents::close))
        .route("/incidents/{id}/scope", post(routes::incidents::scope))
        .route(
            "/incidents/{id}/assessment",
            post(routes::incidents::assess),
        )
        .route(
            "/incidents/{id}/notifications/draft",
            get(routes::incidents::draft),
        )
        .route(
            "/incidents/{id}/notifications",
            post(routes::incidents::notify),
        )
        .route(
            "/incidents/{id}/authority",
            post(routes::incidents::authority),
        )
        .route(
            "/holds",
            get(routes::holds::list).post(routes::holds::create),
        )
        .route("/holds/{id}/release", post(routes::holds::release))
        .route("/holds/{id}/records", get(routes::holds::records))
        .route("/subprocessors", get(routes::subprocessors::list))
        .route(
            "/subprocessors/changes",
            get(routes::subprocessors::changes).post(routes::subprocessors::confirm),
        )
        .route(
            "/subprocessors/changes/draft",
            get(routes::subprocessors::draft),
        )
        .route(
            "/subprocessors/changes/{id}",
            get(routes::subprocessors::change),
        )
        .route(
            "/subprocessors/changes/{id}/objections",
            post(routes::subprocessors::object),
        )
        .route(
            "/subprocessors/changes/{id}/objections/resolution",
            post(routes::subprocessors::resolve),
        )
        .route(
            "/subprocessors/{recipient}/selection",
            axum::routing::put(routes::subprocessors::select)
                .delete(routes::subprocessors::deselect),
        )
        .route("/ropa", get(routes::ropa::ropa))
        .route("/promises", get(routes::promises::check))
        .route("/check", get(routes::check::check))
        .route("/audit", get(routes::audit::list))
        .route("/audit/verify", get(routes::audit::verify))
        .route("/openapi.json", get(openapi::openapi_json))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ));
    let portal = Router::new()
        .route("/privacy", get(portal::form))
        .route("/subprocessors", get(routes::subprocessors::page))
        .route("/privacy/requests", post(portal::file))
        .route("/privacy/status", get(portal::status))
        .route("/privacy/status/confirm", post(portal::confirm))
        .route("/privacy/status/code", post(portal::resend_code))
        .route(
            "/privacy/unsubscribe",
            get(portal::unsubscribe_page).post(portal::unsubscribe),
        )
        .route(
            "/privacy/exports/{token}",
            get(portal::export_page).post(portal::export_download),
        )
        .layer(middleware::from_fn(portal::headers));
    let console = Router::new()
        .route("/", get(console::root))
        .route("/console", get(console::overview))
        .route("/console/promises", get(console::promises))
        .route("/console/audit", get(console::audit::browse))
        .route("/console/audit/verify", post(console::audit::verify))
        .route(
            "/console/incidents",
            get(console::incidents::register).post(console::incidents::open),
        )
        .route(
            "/console/incidents/{tenant}/{id}",
            get(console::incidents::show),
        )
        .route(
            "/console/incidents/{tenant}/{id}/draft",
            get(console::incidents::draft),
        )
        .route(
            "/console/incidents/{tenant}/{id}/scope",
            post(console::incidents::scope),
        )
        .route(
            "/console/incidents/{tenant}/{id}/assess",
            post(console::incidents::assess),
        )
        .route(
            "/console/incidents/{tenant}/{id}/notify",
            post(console::incidents::notify),
        )
        .route(
            "/console/incidents/{tenant}/{id}/authority",
            post(console::incidents::authority),
        )
        .route(
            "/console/incidents/{tenant}/{id}/close",
            post(console::incidents::close),
        )
        .route(
            "/console/notices",
            get(console::notices::ledger).post(console::notices::send),
        )
        .route(
            "/console/notices/{tenant}/{id}",
            get(console::notices::show),
        )
        .route(
            "/console/subprocessors",
            get(console::subprocessors::registry),
        )
        .route(
            "/console/subprocessors/changes",
            post(console::subprocessors::send),
        )
        .route(
            "/console/subprocessors/choice",
            post(console::subprocessors::choose),
        )
        .route(
            "/console/subprocessors/changes/{id}/objections",
            post(console::subprocessors::object),
        )
        .route(
            "/console/subprocessors/changes/{id}/resolution",
            post(console::subprocessors::resolve),
        )
        .route("/console/policy", get(console::policy::show))
        .route("/console/policy/notice", get(console::policy::notice))
        .route("/console/policy/ropa.csv", get(console::policy::ropa_csv))
        .route("/console/policy/ropa.json", get(console::policy::ropa_json))
        .route("/console/settings", get(console::settings::show))
        .route("/console/settings/users", post(console::settings::invite))
        .route(
            "/console/settings/users/{id}/reset",
            post(console::settings::reset),
        )
        .route(
            "/console/settings/users/{id}/disable",
            post(console::settings::disable),
        )
        .route(
            "/console/settings/contacts",
            post(console::settings::add_contact),
        )
        .route(
            "/console/settings/contacts/{subject}/remove",
            post(console::settings::remove_contact),
        )
        .route(
            "/console/settings/keys",
            post(console::settings::create_key),
        )
        .route(
            "/console/settings/keys/{id}/revoke",
            post(console::settings::revoke_key),
        )
        .route(
            "/console/settings/tenants",
            post(console::settings::create_tenant),
        )
        .route(
            "/console/settings/tenants/{id}",
            post(console::settings::update_tenant),
        )
        .route("/console/retention", get(console::retention::show))
        .route(
            "/console/retention/dry-run",
            get(console::retention::dry_run),
        )
        .route(
            "/console/retention/holds",
            post(console::retention::place_hold),
        )
        .route(
            "/console/retention/holds/{id}/release",
            post(console::retention::release_hold),
        )
        .route(
            "/console/retention/reviews",
            post(console::retention::decide_review),
        )
        .route("/console/people", get(console::people::search))
        .route(
            "/console/people/{tenant}/{subject}",
            get(console::people::show),
        )
        .route(
            "/console/people/{tenant}/{subject}/reveal",
            post(console::people::reveal),
        )
        .route("/console/requests", get(console::requests::queue))
        .route(
            "/console/requests/{tenant}/{id}",
            get(console::requests::show),
        )
        .route(
            "/console/requests/{tenant}/{id}/reveal",
            post(console::requests::reveal),
        )
        .route(
            "/console/requests/{tenant}/{id}/assign",
            post(console::requests::assign),
        )
        .route(
            "/console/requests/{tenant}/{id}/verify",
            post(console::requests::verify),
        )
        .route(
            "/console/requests/{tenant}/{id}/extend",
            post(console::requests::extend),
        )
        .route(
            "/console/requests/{tenant}/{id}/refuse",
            post(console::requests::refuse),
        )
        .route(
            "/console/requests/{tenant}/{id}/fulfil",
            get(console::requests::fulfil_page).post(console::requests::fulfil),
        )
        .route(
            "/console/sign-in",
            get(console::sign_in_page).post(console::sign_in),
        )
        .route("/console/sign-out", post(console::sign_out))
        .route(
            "/console/setup",
            get(console::setup_page).post(console::setup),
        )
        .layer(middleware::from_fn(console::headers));
    Router::new()
        .nest("/api/v1", api)
        .merge(portal)
        .merge(console)
        .route("/healthz", get(routes::health::healthz))
        .route(ombud_app::receipts::JWKS_PATH, get(routes::receipts::keys))
        .route("/readyz", get(routes::health::readyz))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            strict_transport,
        ))
        .with_state(state)
}

/// Where people reach the server over HTTPS (`--public-url https://…`), browsers are told to
/// use nothing else for a year: a portal link opened over plain HTTP on a hostile network
/// would otherwise hand its token to whoever listens. Over plain HTTP the header means
/// nothing, so it is left out.
async fn strict_transport(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if state.public_url.starts_with("https://") {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The metrics listener's routes: `/metrics` alone. It is served apart from the API and the
/// portal (loopback by default) because what it counts is the operator's business, not the
/// public's.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(routes::health::metrics))
        .with_state(state)
}

/// Counts each request by its route template and logs it, one line at info level: method,
/// route template, status, duration and a request id, which the response carries in
/// `X-Request-Id` so that a person reporting a problem can quote it. Never the concrete path
/// or the query string: they may hold an address, a token or an id.
async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    tracing::info!(
        target: "ombud::access",
        method = %method,
        route = %route,
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %id,
        "request"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels { route, status })
        .inc();
    response
}

/// A bound server, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `address` (port 0 picks a free port, as tests do).
    pub async fn build(address: SocketAddr, state: AppState) -> std::io::Result<Application> {
        let listener = TcpListener::bind(address).await?;
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    /// Binds the metrics listener at `address`.
    pub async fn build_metrics(
        address: SocketAddr,
        state: AppState,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(address).await?;
        Ok(Application {
            listener,
            router: metrics_router(state),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The portal's limits count per client address.
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
