//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations, so it lists
//! exactly the routes the router serves.

use crate::routes::{
    admin, audit, check, events, health, holds, incidents, notices, promises, receipts, requests,
    retention, ropa, subjects, subprocessors,
};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "ombud", description = "Privacy policy as code, enforced: purpose-bound access, consent, data-subject requests, retention, the breach register, the notice ledger and the audit log."),
    paths(
        admin::create_tenant, admin::list_tenants, admin::get_tenant, admin::update_tenant, admin::create_key, admin::list_keys, admin::revoke_key,
        subjects::create_subject, subjects::find_subject, subjects::get_subject, subjects::put_records, subjects::bulk_records, subjects::read_records,
        events::add_event, events::list_events, events::lift_restriction, events::give_consent, events::withdraw_consent, events::list_consents,
        requests::file, requests::list, requests::show, requests::plan, requests::verify, requests::resend_code, requests::extend, requests::start, requests::assign, requests::fulfil, requests::refuse, requests::mails,
        retention::forecast, retention::reviews, retention::decide, holds::create, holds::list, holds::release, holds::records,
        incidents::open, incidents::list, incidents::show, incidents::close, incidents::scope, incidents::assess, incidents::draft, incidents::notify, incidents::authority,
        subprocessors::list, subprocessors::select, subprocessors::deselect, subprocessors::draft, subprocessors::confirm, subprocessors::changes, subprocessors::change, subprocessors::object, subprocessors::resolve,
        notices::send, notices::list, notices::show, notices::received, notices::contacts, notices::add_contact, notices::remove_contact,
        check::check, audit::list, audit::verify, ropa::ropa, promises::check,
        receipts::keys, receipts::for_request, receipts::list, receipts::check,
        health::healthz, health::readyz, openapi_json,
    ),
    modifiers(&BearerKeys, &EveryAnswer),
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

/// What every operation can answer besides its own outcomes, declared once so no status goes
/// undocumented: 400 for a body that is not JSON (or lacks its content type) and a malformed
/// `Idempotency-Key`, 422 for a value the server refuses, naming the field, and 409 where an
/// `Idempotency-Key` is repeated. The header is declared with the shape the server accepts.
struct EveryAnswer;

impl Modify for EveryAnswer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for (operation, method) in [
                (&mut item.get, "get"),
                (&mut item.put, "put"),
                (&mut item.post, "post"),
                (&mut item.delete, "delete"),
                (&mut item.patch, "patch"),
            ] {
                let Some(operation) = operation else { continue };
                if operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| ["healthz", "readyz", "openapi_json", "keys"].contains(&id))
                {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                if method != "get" && method != "delete" {
                    responses.entry("400".into()).or_insert_with(|| {
                        problem("The body is not JSON or lacks `Content-Type: application/json`, or the Idempotency-Key is malformed")
                    });
                }
                responses.entry("422".into()).or_insert_with(|| {
                    problem("A value (body field, path segment or query parameter) is missing or not allowed; `field` names it")
                });
                let idempotent = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.name == "Idempotency-Key");
                if idempotent {
                    let responses = &mut operation.responses.responses;
                    responses.entry("409".into()).or_insert_with(|| {
                        problem("The Idempotency-Key's first request is still running, or its answer carried a secret that is never shown twice (the id is named)")
                    });
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "Idempotency-Key" {
                        parameter.schema = Some(RefOr::T(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .max_length(Some(255))
                                .pattern(Some("^[\\x21-\\x7E]+$"))
                                .into(),
                        ));
                    }
                }
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", summary = "This document", description = "The OpenAPI 3.1 description of the API, as the running server serves it.", tag = "operations", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
