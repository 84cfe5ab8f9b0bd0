//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Top-level document metadata; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "whatsapp-crm",
        description = "Customer relationships over WhatsApp: customers, conversations, templates, broadcasts, orders, payments and the assistant. Every /v1 endpoint acts for the business of the API key.",
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
        (name = "products", description = "The catalog: products with stock, CSV import, search, product messages"),
        (name = "orders", description = "Carts, orders and their actions, shipments, discount codes, commerce settings"),
        (name = "payments", description = "Payment links, M-Pesa and card payments, their provider events"),
        (name = "agents", description = "The people who answer customers: skills, languages, capacity, availability and their own keys"),
        (name = "queues", description = "Routing queues (which agents take their conversations, and how one is picked) and the routing rules that send conversations to them"),
        (name = "inbox", description = "The team inbox: what people do with conversations (assign, reply, note, snooze, resolve, hand back), their events, pulling the next from a queue, and the live stream of changes"),
        (name = "assistant", description = "FAQs, intents, settings, training and the dry run of the assistant that answers customers and hands over to people"),
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

/// What every operation of a kind answers, stated once here rather than on
/// each handler, so an endpoint added later is documented the same way.
const BODY_RESPONSES: &[(&str, &str)] = &[
    ("400", "Malformed JSON"),
    ("413", "Body too large"),
    ("415", "Content-Type is not application/json"),
    ("422", "The body is not a JSON object, or its fields are invalid"),
];
const AUTH_RESPONSES: &[(&str, &str)] = &[
    ("401", "Missing or invalid API key"),
    ("403", "The key is an agent's, and this is not for agents (or not for this agent)"),
];
const PARAM_RESPONSES: &[(&str, &str)] = &[("400", "Malformed path or query parameter")];
// What `RULES_BEYOND_SCHEMA` says of the operations that share a resource's rules.
const CUSTOMER_RULES: &str = "birthdays must be real dates; text is trimmed and has no control characters; attribute keys and values have limits";
const SEGMENT_RULES: &str =
    "the rule is a grammar (text) or a nested structure (JSON) checked by the parser";
const TEMPLATE_RULES: &str =
    "WhatsApp's template rules: variables, samples for each, lengths, button kinds";
/// Operations whose input has rules JSON Schema cannot state, so that a
/// request the schema allows may still get 422 with each rule named. The
/// document marks them with `x-rules-beyond-schema`.
const RULES_BEYOND_SCHEMA: &[(&str, &str, &str)] = &[
    ("post", "/v1/customers", CUSTOMER_RULES),
    ("patch", "/v1/customers/{id}", CUSTOMER_RULES),
    ("post", "/v1/segments", SEGMENT_RULES),
    ("patch", "/v1/segments/{id}", SEGMENT_RULES),
    ("get", "/v1/segments/preview", "the rule is a grammar checked by the parser"),
    ("post", "/v1/segments/preview", SEGMENT_RULES),
    ("post", "/v1/templates", TEMPLATE_RULES),
    ("put", "/v1/templates/{id}", TEMPLATE_RULES),
    ("post", "/v1/templates/{id}/preview", "every variable needs a value or a fallback"),
    (
        "post",
        "/v1/messages",
        "content within WhatsApp's limits, exactly one of content and template, and the send policy",
    ),
    (
        "post",
        "/v1/broadcasts",
        "the audience rule is a grammar; variables must fit the template; A/B splits add up",
    ),
    (
        "post",
        "/v1/campaigns",
        "the schedule is a cron expression or a time; the audience rule is a grammar",
    ),
    ("get", "/v1/campaigns/{id}/calendar", "`to` must be after `from`"),
    (
        "put",
        "/v1/business/keywords",
        "keywords are unique words within limits, replies are message text",
    ),
    ("post", "/v1/products", PRODUCT_RULES),
    ("put", "/v1/products/{id}", PRODUCT_RULES),
    (
        "post",
        "/v1/products/import",
        "a CSV file with a header row; every cell follows the product rules; SKUs are new",
    ),
    ("post", "/v1/products/{id}/send", PRODUCT_SEND_RULES),
    ("post", "/v1/products/send-list", PRODUCT_SEND_RULES),
    ("post", "/v1/products/send-catalog", PRODUCT_SEND_RULES),
    (
        "post",
        "/v1/orders",
        "every SKU names a product for sale in the business's currency, once; addresses are text",
    ),
    (
        "post",
        "/v1/orders/{id}/shipments",
        "the tracking page is an https:// URL; text has no control characters",
    ),
    (
        "post",
        "/v1/discounts",
        "exactly one of percent and amount_minor; ends_at after starts_at; codes are letters and digits",
    ),
    ("put", "/v1/commerce", "each notice template exists in the business; addresses are text"),
    (
        "post",
        "/v1/orders/{id}/payments",
        "the phone is a valid number M-Pesa can prompt (Kenyan); the email is an address; the provider takes the method",
    ),
    ("put", "/v1/assistant/settings", ASSISTANT_SETTINGS_RULES),
    ("post", "/v1/assistant/faqs", FAQ_RULES),
    ("put", "/v1/assistant/faqs/{id}", FAQ_RULES),
    ("post", "/v1/assistant/intents", INTENT_RULES),
    ("put", "/v1/assistant/intents/{id}", INTENT_RULES),
    ("post", "/v1/assistant/classify", "the text has a word once normalised"),
    ("post", "/v1/agents", AGENT_RULES),
    ("put", "/v1/agents/{id}", AGENT_RULES),
    ("post", "/v1/agents/{id}/keys", "the label is text without control characters"),
    ("post", "/v1/queues", QUEUE_RULES),
    ("put", "/v1/queues/{id}", QUEUE_RULES),
    (
        "put",
        "/v1/routing-rules",
        "each condition is an expression the router reads (its column is named when it cannot); each queue is the business's; names are text",
    ),
    (
        "post",
        "/v1/conversations/{id}/assign",
        "the agent is the business's; the business's key names one, an agent's key only itself",
    ),
    ("post", "/v1/conversations/{id}/snooze", "`until` is in the future, at most 90 days ahead"),
    (
        "post",
        "/v1/conversations/{id}/reply",
        "content within WhatsApp's limits, exactly one of content and template, and the send policy",
    ),
    (
        "post",
        "/v1/conversations/{id}/notes",
        "the text is not only spaces and has no control characters",
    ),
];
const ASSISTANT_SETTINGS_RULES: &str = "hours are HH:MM-HH:MM ranges that do not overlap, closed days are real dates in order; handoff words have a word each; replies are message text";
const AGENT_RULES: &str = "skills and languages are words a target expression can name (letters, digits, `_`, `-`), each once; the name is text";
const QUEUE_RULES: &str = "the target is an expression the router reads (its column is named when it cannot); the escalation queue is the business's and not the queue itself";
const FAQ_RULES: &str =
    "each phrasing has a word once normalised; the intent, when named, is answered by FAQs";
const INTENT_RULES: &str = "examples have a word each; a reply intent has a reply; an intent FAQs name keeps the faq action";
const PRODUCT_RULES: &str =
    "the image is an https:// URL; text has no control characters; attributes have limits";
const PRODUCT_SEND_RULES: &str =
    "the customer's 24-hour window is open; products are for sale; WhatsApp's limits on each part";
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// Completes the generated document with what the server enforces for every
/// endpoint alike:
/// - operations with a body answer 400, 413, 415 and 422, and those with an
///   API key 401;
/// - `limit` is a page size from 1 to [`PAGE_LIMIT_MAX`], `cursor` and path
///   `id`s are UUIDs (a malformed one is a 400).
///
/// [`PAGE_LIMIT_MAX`]: whatsapp_crm_core::ports::PAGE_LIMIT_MAX
pub fn complete(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut json) = serde_json::to_value(&doc) else { return doc };
    complete_json(&mut json);
    serde_json::from_value(json).unwrap_or(doc)
}

/// Untagged scalar enums (a customer attribute: yes/no, whole number,
/// decimal or text) come out as `oneOf`, but a whole number also matches
/// the decimal branch, so `oneOf` would call every whole number invalid.
/// Their branches are alternatives that may overlap: `anyOf`.
fn overlapping_scalars_as_any_of(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        let Some(obj) = schema.as_object_mut() else { continue };
        let types: Vec<&str> = obj
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|b| b.iter().filter_map(|b| b.get("type").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        if types.contains(&"integer")
            && types.contains(&"number")
            && let Some(branches) = obj.remove("oneOf")
        {
            obj.insert("anyOf".into(), branches);
        }
    }
}

fn complete_json(doc: &mut Value) {
    overlapping_scalars_as_any_of(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else { continue };
            if let Some((_, _, rules)) =
                RULES_BEYOND_SCHEMA.iter().find(|(m, p, _)| m == method && p == path)
            {
                op.insert("x-rules-beyond-schema".into(), json!(rules));
            }
            let mut add = Vec::new();
            if op.contains_key("requestBody") {
                add.extend_from_slice(BODY_RESPONSES);
            }
            if op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty()) {
                add.extend_from_slice(AUTH_RESPONSES);
            }
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                if !params.is_empty() {
                    add.extend_from_slice(PARAM_RESPONSES);
                }
                params.iter_mut().for_each(constrain_parameter);
            }
            let responses = op.entry("responses").or_insert_with(|| json!({})).as_object_mut();
            if let Some(responses) = responses {
                for (status, description) in add {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn constrain_parameter(param: &mut Value) {
    let name = param.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let place = param.get("in").and_then(Value::as_str).unwrap_or_default().to_owned();
    let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) else { return };
    match (place.as_str(), name.as_str()) {
        ("query", "limit") => {
            schema.insert("minimum".into(), json!(1));
            schema.insert("maximum".into(), json!(whatsapp_crm_core::ports::PAGE_LIMIT_MAX));
        }
        ("query", "cursor") => uuid(schema),
        // Every record id in a path is a UUID (`id`, `shipment_id`, `key_id`).
        ("path", n) if n == "id" || n.ends_with("_id") => uuid(schema),
        _ => {}
    }
}

fn uuid(schema: &mut serde_json::Map<String, Value>) {
    // Replaces a `$ref` to an id type too.
    schema.clear();
    schema.insert("type".into(), json!("string"));
    schema.insert("format".into(), json!("uuid"));
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
        }
    })
}
