//! Every official signature vector of platform-rules 6.2, plus tampering: a
//! changed parameter, URL, body or signature never validates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use whatsapp_crm_twilio::RequestValidator;

const VECTORS: &str = include_str!("data/signature_vectors.jsonl");

#[derive(Clone)]
struct Vector {
    id: String,
    token: String,
    url: String,
    params: Vec<(String, String)>,
    body: Option<String>,
    signature: String,
    valid: bool,
    signed_string: Option<String>,
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut params = Vec::new();
            for (k, val) in v["params"].as_object().cloned().unwrap_or_default() {
                match val {
                    Value::Array(items) => params
                        .extend(items.iter().map(|i| (k.clone(), i.as_str().unwrap().to_owned()))),
                    other => params.push((k, other.as_str().unwrap().to_owned())),
                }
            }
            Vector {
                id: v["id"].as_str().unwrap().to_owned(),
                token: v["auth_token"].as_str().unwrap().to_owned(),
                url: v["request_url"].as_str().unwrap().to_owned(),
                params,
                body: v["raw_body"].as_str().map(str::to_owned),
                signature: v["x_twilio_signature"].as_str().unwrap().to_owned(),
                valid: v["expect_valid"].as_bool().unwrap(),
                signed_string: v["signed_string"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

fn check(
    v: &Vector,
    url: &str,
    params: &[(String, String)],
    body: Option<&str>,
    signature: &str,
) -> bool {
    let validator = RequestValidator::new(v.token.clone());
    match body {
        Some(b) => validator.validate_body(url, b.as_bytes(), signature),
        None => {
            validator.validate(url, params.iter().map(|(k, v)| (k.as_str(), v.as_str())), signature)
        }
    }
}

#[test]
fn every_vector_gives_its_expected_answer() {
    let all = vectors();
    assert!(all.len() >= 24, "vectors file is incomplete: {}", all.len());
    for v in &all {
        let got = check(v, &v.url, &v.params, v.body.as_deref(), &v.signature);
        assert_eq!(got, v.valid, "vector {}", v.id);
    }
}

#[test]
fn signed_strings_hmac_to_the_signature() {
    for v in vectors().iter().filter(|v| v.valid) {
        let signed = v.signed_string.as_deref().unwrap();
        let sig =
            RequestValidator::new(v.token.clone()).sign(signed, std::iter::empty::<(&str, &str)>());
        assert_eq!(sig, v.signature, "vector {}", v.id);
    }
}

#[test]
fn tampering_with_anything_fails() {
    for v in vectors().iter().filter(|v| v.valid) {
        // Another value for a parameter, or an extra parameter.
        let mut params = v.params.clone();
        match params.first_mut() {
            Some(first) => first.1.push('9'),
            None => params.push(("Injected".into(), "1".into())),
        }
        if v.body.is_none() {
            assert!(
                !check(v, &v.url, &params, None, &v.signature),
                "{}: changed param accepted",
                v.id
            );
        }
        // Another path.
        let url = v.url.replacen("/myapp.php", "/myapp2.php", 1).replacen("/path", "/other", 1);
        assert!(
            !check(v, &url, &v.params, v.body.as_deref(), &v.signature),
            "{}: changed URL accepted",
            v.id
        );
        // Another body.
        if let Some(body) = &v.body {
            let changed = body.replace("value", "valuf");
            assert!(
                !check(v, &v.url, &v.params, Some(&changed), &v.signature),
                "{}: changed body accepted",
                v.id
            );
        }
        // Another signature: one character flipped, truncated, or empty.
        let mut flipped: Vec<char> = v.signature.chars().collect();
        flipped[3] = if flipped[3] == 'A' { 'B' } else { 'A' };
        let flipped: String = flipped.into_iter().collect();
        for sig in [flipped.as_str(), &v.signature[..v.signature.len() - 2], ""] {
            assert!(
                !check(v, &v.url, &v.params, v.body.as_deref(), sig),
                "{}: bad signature {sig:?} accepted",
                v.id
            );
        }
        // Another auth token.
        let other = Vector { token: format!("{}x", v.token), ..v.clone() };
        assert!(
            !check(&other, &v.url, &v.params, v.body.as_deref(), &v.signature),
            "{}: other token accepted",
            v.id
        );
    }
}
