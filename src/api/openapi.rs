//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::idempotency::IdempotencyDocs;
use super::{
    availability, bookings, broadcasts, business, clients, customers, events, feedback, health,
    holds, intents, interactions, locations, notifications, oauth, pauses, public, reports,
    resources, services, walk_ins, webhooks,
};
use crate::error;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "slotwise",
        description = "One booking API for every channel: the online widget, phone agents, the walk-in desk and partner apps. Errors are RFC 9457 problem details with a stable `code`.",
        license(name = "Apache-2.0"),
        contact(name = "slotwise maintainers")
    ),
    servers(
        (url = "http://127.0.0.1:8080", description = "A local `slotwise serve` (its default bind address)"),
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        health::openapi_json,
        locations::list_locations,
        locations::create_location,
        locations::get_location,
        locations::update_location,
        locations::delete_location,
        locations::list_closures,
        locations::create_closure,
        locations::delete_closure,
        resources::find::list_resources,
        resources::create::create_resource,
        resources::find::get_resource,
        resources::update::update_resource,
        resources::delete::delete_resource,
        resources::hours::get_hours,
        resources::hours::replace_hours,
        resources::time_off::list_time_off,
        resources::time_off::create_time_off,
        resources::time_off::delete_time_off,
        services::find::list_services,
        services::create::create_service,
        services::find::get_service,
        services::update::update_service,
        services::delete::delete_service,
        pauses::pause,
        pauses::resume,
        pauses::affected_bookings,
        walk_ins::create::create_walk_in,
        walk_ins::find::get_queue,
        walk_ins::find::get_ticket,
        walk_ins::step::call_ticket,
        walk_ins::step::seat_ticket,
        walk_ins::step::cancel_ticket,
        walk_ins::step::no_show_ticket,
        broadcasts::create_broadcast,
        broadcasts::get_broadcast,
        availability::get_availability,
        availability::get_availability_days,
        public::get_profile,
        holds::create_hold,
        holds::release_hold,
        bookings::create::create_booking,
        bookings::find::list_bookings,
        bookings::find::get_booking,
        bookings::find::get_booking_by_reference,
        bookings::update::update_booking,
        bookings::ics::get_booking_ics,
        bookings::history::get_booking_history,
        bookings::reschedule::reschedule_booking,
        bookings::step::cancel_booking,
        bookings::step::check_in_booking,
        bookings::step::start_booking,
        bookings::step::complete_booking,
        bookings::step::no_show_booking,
        events::list_events,
        customers::find::list_customers,
        customers::create::create_customer,
        customers::find::get_customer,
        customers::update::update_customer,
        customers::find::get_caller_context,
        customers::notes::list_notes,
        customers::notes::create_note,
        customers::notes::update_note,
        customers::timeline::get_timeline,
        customers::merge::merge_customer,
        notifications::list_notifications,
        intents::list_intents,
        intents::create_intent,
        intents::get_intent,
        intents::update_intent,
        intents::archive_intent,
        interactions::create_interaction,
        interactions::list_interactions,
        interactions::get_interaction,
        business::get_business,
        business::update_business,
        feedback::submit_feedback,
        feedback::get_feedback,
        reports::contacts_report,
        reports::feedback_report,
        reports::bookings_report,
        webhooks::find::list_webhooks,
        webhooks::create::create_webhook,
        webhooks::find::get_webhook,
        webhooks::update::update_webhook,
        webhooks::delete::delete_webhook,
        webhooks::update::rotate_webhook_secret,
        webhooks::deliveries::list_deliveries,
        webhooks::deliveries::test_webhook,
        webhooks::deliveries::replay_webhook,
        webhooks::deliveries::retry_delivery,
        clients::list_clients,
        clients::create_client,
        clients::get_client,
        clients::update_client,
        clients::rotate_client_secret,
        oauth::issue_token,
        oauth::jwks,
    ),
    components(
        schemas(error::Problem),
        responses(
            error::BadRequest,
            error::Unauthenticated,
            error::Forbidden,
            error::NotFound,
            error::ValidationFailed,
            error::VersionMismatch,
            error::Conflict,
            error::Gone,
            error::TooManyRequests,
            error::PayloadTooLarge,
            error::UnsupportedMediaType,
            error::InternalError,
            error::Unavailable,
        )
    ),
    modifiers(
        &BearerAuth,
        &IdempotencyDocs,
        &CommonResponses,
        &ListItemsByReference,
        &Descriptions,
        &IdShapes
    ),
    tags(
        (name = "online", description = "What strangers may see: a business's public profile by its slug"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "catalog", description = "Locations, resources, services, hours, time off and closures"),
        (name = "bookings", description = "Availability, holds, bookings and their lifecycle, the same for every channel"),
        (name = "events", description = "The outbox: every state change, in order"),
        (name = "customers", description = "Customer profiles, caller context, notes, timeline and merges"),
        (name = "contacts", description = "Contact reasons (intents), assisted contacts (interactions) and the business settings they use"),
        (name = "feedback", description = "Feedback after a completed visit"),
        (name = "webhooks", description = "Signed Standard Webhooks from the outbox: subscriptions, deliveries, every attempt, tests, replays"),
        (name = "reports", description = "Contacts and their cost, satisfaction, and bookings"),
        (name = "walk-ins", description = "The walk-in desk: walk-ins, the queue board, ticket steps, and broadcasts (running late, disruptions)"),
        (name = "partners", description = "Partner apps: their OAuth clients (admin) and the client credentials grant"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

/// The operations a path has, for the modifiers below that touch every one.
fn operations_of(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        // Partner clients authenticate to the token endpoint (RFC 6749 §2.3.1).
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The answers any operation may give whatever its handler does, declared once
/// here so no handler can forget them: the edge refuses bodies over 256 KiB (413)
/// and bodies in another media type (415), the rate limits answer every `/v1`
/// route (429), a lost database is 503, and anything unexpected is 500.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr};
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in operations_of(item) {
                let mut common = vec![("500", "InternalError")];
                if path.starts_with("/v1/") || path == "/readyz" {
                    common.push(("503", "Unavailable"));
                }
                if path.starts_with("/v1/") {
                    common.push(("429", "TooManyRequests"));
                }
                if operation.request_body.is_some() {
                    common.push(("413", "PayloadTooLarge"));
                    common.push(("415", "UnsupportedMediaType"));
                }
                // A control character in a path or query value is refused before any handler runs.
                if operation.request_body.is_some()
                    || operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
                {
                    common.push(("400", "BadRequest"));
                }
                for (status, component) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
                }
            }
        }
    }
}

/// utoipa 5 inlines a generic's type parameter, so each `Page_X` would carry its
/// own copy of `X` and a generated client one class per list
/// (`ListServicesResponse200DataItem`). Every page's `data.items` refers to the
/// component `X` instead, which is registered from the inlined copy when no
/// other operation registered it.
struct ListItemsByReference;

impl Modify for ListItemsByReference {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ArrayItems, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let components = openapi.components.get_or_insert_with(Default::default);
        let pages: Vec<String> = components
            .schemas
            .keys()
            .filter(|name| name.starts_with("Page_"))
            .cloned()
            .collect();
        for page in pages {
            let item = page.trim_start_matches("Page_").to_owned();
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&page) else {
                continue;
            };
            let Some(RefOr::T(Schema::Array(data))) = object.properties.get_mut("data") else {
                continue;
            };
            let reference =
                ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(&item))));
            if let ArrayItems::RefOrSchema(inlined) = std::mem::replace(&mut data.items, reference)
            {
                components.schemas.entry(item).or_insert(*inlined);
            }
        }
    }
}

/// Every id in a path is one of ours: a prefix, `_`, then letters, digits
/// and `_` (`bkg_01JD…`, `svc_demo_haircut`), at most 64 characters. Said
/// once here for every `{id}`-like path parameter; anything else names
/// nothing and is 404.
struct IdShapes;

/// The shape of an id, as [`IdShapes`] declares it.
pub const ID_PATTERN: &str = "^[a-z]+_[A-Za-z0-9_]+$";

impl Modify for IdShapes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_of(item) {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let names_an_id = parameter.name == "id" || parameter.name.ends_with("_id");
                    if parameter.parameter_in != ParameterIn::Path || !names_an_id {
                        continue;
                    }
                    if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
                        if object.pattern.is_none() && object.max_length.is_none() {
                            object.pattern = Some(ID_PATTERN.to_owned());
                            object.max_length = Some(64);
                        }
                    }
                }
            }
        }
    }
}

/// A handler's doc comment becomes its operation's summary; a summary is meant
/// to be a short title and the description the full text, and generated
/// clients put the description into their docstrings. Each operation keeps its
/// first sentence as the summary and gets the whole comment as its description.
struct Descriptions;

impl Modify for Descriptions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_of(item) {
                if operation
                    .description
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty())
                {
                    if let Some(summary) = operation.summary.as_mut() {
                        *summary = summary.trim_end_matches('.').to_owned();
                    }
                    continue;
                }
                let Some(text) = operation.summary.take() else {
                    continue;
                };
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                operation.summary = Some(first_sentence(&text));
                operation.description = Some(text);
            }
        }
    }
}

/// The text up to the first full stop that ends a sentence (not one inside
/// `e.g.`, a code span or a number), without that stop.
fn first_sentence(text: &str) -> String {
    let mut in_code = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match c {
            '`' => in_code = !in_code,
            '.' | ':' if !in_code && chars.get(i + 1).is_none_or(|n| *n == ' ') => {
                return chars[..i].iter().collect();
            }
            _ => {}
        }
    }
    text.trim_end_matches('.').to_owned()
}

impl ApiDoc {
    /// The document as pretty JSON with a trailing newline, exactly as committed.
    pub fn json() -> String {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_summary_is_the_first_sentence_of_the_description() {
        use super::first_sentence;
        assert_eq!(first_sentence("Get one booking."), "Get one booking");
        assert_eq!(
            first_sentence("Find customers: by phone or email. Or by `q`."),
            "Find customers"
        );
        assert_eq!(
            first_sentence("Change a booking's notes (`a.b` kept). Send `If-Match`."),
            "Change a booking's notes (`a.b` kept)"
        );
    }

    #[test]
    fn the_committed_openapi_document_matches_the_code() {
        let committed =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
                .expect("openapi/openapi.json is committed");
        assert!(
            committed == super::ApiDoc::json(),
            "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
        );
    }
}
