//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations, so it lists
//! exactly the routes the router serves.

use crate::routes::{
    admin, audit, check, events, health, holds, incidents, notices, requests, retention, ropa,
    subjects, subprocessors,
};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "ombud", description = "Privacy policy as code, enforced: purpose-bound access, consent, data-subject requests, retention, the breach register, the notice ledger and the audit log."),
    paths(
        admin::create_tenant, admin::list_tenants, admin::create_key, admin::list_keys, admin::revoke_key,
        subjects::create_subject, subjects::find_subject, subjects::get_subject, subjects::put_records, subjects::bulk_records, subjects::read_records,
        events::add_event, events::list_events, events::lift_restriction, events::give_consent, events::withdraw_consent, events::list_consents,
        requests::file, requests::list, requests::show, requests::verify, requests::resend_code, requests::extend, requests::start, requests::fulfil, requests::refuse, requests::mails,
        retention::forecast, retention::reviews, retention::decide, holds::create, holds::list, holds::release, holds::records,
        incidents::open, incidents::list, incidents::show, incidents::close, incidents::scope, incidents::assess, incidents::draft, incidents::notify, incidents::authority,
        subprocessors::list, subprocessors::select, subprocessors::deselect, subprocessors::draft, subprocessors::confirm, subprocessors::changes, subprocessors::change, subprocessors::object, subprocessors::resolve,
        notices::send, notices::list, notices::show, notices::received, notices::contacts, notices::add_contact, notices::remove_contact,
        check::check, audit::list, audit::verify, ropa::ropa,
        health::healthz, health::readyz, openapi_json,
    ),
    modifiers(&BearerKeys),
)]
pub struct ApiDoc;

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An ombud API key: `Authorization: Bearer ombud_sk_…`"))
                    .build(),
            ),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
