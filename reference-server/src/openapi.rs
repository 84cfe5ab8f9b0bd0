//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Top-level document metadata; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "whatsapp-crm",
        description = "Customer relationships over WhatsApp: customers, conversations, templates, broadcasts, orders and payments. Every /v1 endpoint acts for the business of the API key.",
    ),
    modifiers(&ApiKeyAuth),
    tags(
        (name = "system", description = "Health and identity"),
        (name = "customers", description = "The people a business sells to"),
        (name = "broadcasts", description = "Templates sent to segments: launch, pause, progress"),
        (name = "campaigns", description = "Broadcasts on a schedule: calendar and runs compared"),
        (name = "conversations", description = "Sending messages, conversations and their history"),
        (name = "segments", description = "Customer segments: rules, counts and samples"),
        (name = "templates", description = "WhatsApp message templates, their versions and approval"),
    )
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key from `reference-server create-business`"))
            .build();
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}
