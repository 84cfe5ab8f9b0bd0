//! The hosted payment page a payment link opens: `GET /pay/{token}` shows
//! the business, the order's lines and total, *Pay with M-Pesa* (the phone
//! prefilled, editable) and *Pay by card*. Server-rendered HTML with no
//! external assets. A link whose order is paid, expired or cancelled says
//! which, with 410; an unknown or altered link is 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use whatsapp_crm_core::ServiceError;
use whatsapp_crm_core::service::{LinkPage, LinkState, PayWith};

use crate::app::AppState;

/// Page routes (outside the OpenAPI document: people open them, not API
/// clients).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/done", get(done))
        .route("/pay/{token}", get(page))
        .route("/pay/{token}/mpesa", post(pay_mpesa))
        .route("/pay/{token}/card", post(pay_card))
}

/// Text made safe for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.3rem}table{width:100%;border-collapse:collapse}td{padding:.3rem 0;border-bottom:1px solid #ddd}\
td.n{text-align:right}.total td{font-weight:700;border:0}form{margin:1.2rem 0}input{width:100%;padding:.6rem;font-size:1rem;box-sizing:border-box}\
button{width:100%;padding:.8rem;font-size:1.05rem;margin-top:.5rem;border:0;border-radius:.4rem;color:#fff;background:#1c7c3c}\
button.card{background:#2f4fb3}.note{color:#555}";

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let doc = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (status, headers, doc).into_response()
}

fn lines(p: &LinkPage) -> String {
    let mut rows = String::new();
    for l in &p.lines {
        let total = whatsapp_crm_core::Money::new(
            l.unit_price.minor.saturating_mul(i64::from(l.quantity)),
            l.unit_price.currency,
        );
        rows.push_str(&format!(
            "<tr><td>{} × {}</td><td class=\"n\">{}</td></tr>",
            l.quantity,
            esc(&l.name),
            esc(&total.to_string())
        ));
    }
    format!(
        "<table>{rows}<tr class=\"total\"><td>Total</td><td class=\"n\">{}</td></tr></table>",
        esc(&p.total.to_string())
    )
}

fn error_page(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound { .. } => html(
            StatusCode::NOT_FOUND,
            "Payment link not found",
            "<h1>This payment link is not valid</h1><p>Ask the shop for a new one on WhatsApp.</p>",
        ),
        ServiceError::Gone { message } => html(
            StatusCode::GONE,
            "Payment link closed",
            &format!(
                "<h1>{}</h1><p>Ask the shop on WhatsApp if you still want this order.</p>",
                esc(&message)
            ),
        ),
        ServiceError::Invalid(v) => {
            let why: Vec<String> = v.errors.iter().map(|f| esc(&f.message)).collect();
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Check your details",
                &format!(
                    "<h1>Check your details</h1><p>{}</p><p><a href=\"javascript:history.back()\">Back</a></p>",
                    why.join("<br>")
                ),
            )
        }
        ServiceError::Payment(e) if !e.is_retryable() => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Payment not started",
            &format!("<h1>The payment could not start</h1><p>{}</p>", esc(&e.to_string())),
        ),
        other => {
            tracing::warn!(error = %other, "payment page");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<h1>Payments are not available right now</h1><p>Please try again in a few minutes.</p>",
            )
        }
    }
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let p = match state.crm.payments().link_page(&token).await {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    let head =
        format!("<h1>{}</h1><p>Order {}</p>{}", esc(&p.business), esc(&p.order_ref), lines(&p));
    let closed = |title: &str, text: &str| {
        html(
            StatusCode::GONE,
            title,
            &format!("{head}<h2>{}</h2><p class=\"note\">{}</p>", esc(title), esc(text)),
        )
    };
    match p.state {
        LinkState::Paid => closed("This order is paid", "Asante! The shop has your payment."),
        LinkState::Expired => closed(
            "This payment link has expired",
            "The order was not paid in time. Ask the shop on WhatsApp to order again.",
        ),
        LinkState::Cancelled => {
            closed("This order was cancelled", "Ask the shop on WhatsApp if you still want it.")
        }
        LinkState::Payable => {
            let t = esc(&token);
            let body = format!(
                "{head}<p class=\"note\">To pay: {}. This link works until {}.</p>\
                 <form method=\"post\" action=\"/pay/{t}/mpesa\"><label>M-Pesa number\
                 <input name=\"phone\" type=\"tel\" inputmode=\"tel\" required pattern=\"[+0-9 ]{{9,16}}\" value=\"{}\"></label>\
                 <button type=\"submit\">Pay with M-Pesa</button></form>\
                 <form method=\"post\" action=\"/pay/{t}/card\"><label>Email for the receipt\
                 <input name=\"email\" type=\"email\" required></label>\
                 <button class=\"card\" type=\"submit\">Pay by card</button></form>",
                esc(&p.owed.to_string()),
                esc(&p.expires_local),
                esc(&p.phone)
            );
            html(StatusCode::OK, &format!("Pay {}", p.business), &body)
        }
    }
}

fn field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned())
}

async fn pay_mpesa(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let phone = field(&body, "phone").unwrap_or_default();
    match state.crm.payments().pay_from_link(&token, PayWith::Mpesa { phone }).await {
        Ok(p) => html(
            StatusCode::OK,
            "Check your phone",
            &format!(
                "<h1>Check your phone</h1><p>Enter your M-Pesa PIN to pay {}. The shop confirms on WhatsApp once it is paid.</p>\
                 <p><a href=\"/pay/{}\">Back to the order</a></p>",
                esc(&p.amount.to_string()),
                esc(&token)
            ),
        ),
        Err(e) => error_page(e),
    }
}

async fn pay_card(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let email = field(&body, "email");
    match state.crm.payments().pay_from_link(&token, PayWith::Card { email }).await {
        Ok(p) => match p.checkout_url {
            Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
            None => error_page(ServiceError::InvalidState { message: "no checkout page".into() }),
        },
        Err(e) => error_page(e),
    }
}

async fn done() -> Response {
    html(
        StatusCode::OK,
        "Thank you",
        "<h1>Thank you</h1><p>The shop confirms your payment on WhatsApp.</p>",
    )
}
