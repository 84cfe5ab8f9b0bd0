//! Values a template can take from a customer record.

use std::collections::BTreeMap;

use crate::domain::{AttributeValue, Customer};

/// Prefix of custom attributes in variable names: `{{attr.shoe_size}}`.
pub const ATTRIBUTE_PREFIX: &str = "attr.";

/// The variable a template names to show the customer's recommended
/// product (filled by broadcasts and single sends; its fallback otherwise).
pub const RECOMMENDED_PRODUCT: &str = "recommended_product";

/// The customer fields templates can use: `name`, `first_name`, `phone`, `city`,
/// `country`, and every custom attribute as `attr.<key>`. Absent fields are
/// absent, so the template's fallback applies.
pub fn customer_values(c: &Customer) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    if let Some(name) = &c.name {
        v.insert("name".to_owned(), name.clone());
        if let Some(first) = name.split_whitespace().next() {
            v.insert("first_name".to_owned(), first.to_owned());
        }
    }
    v.insert("phone".to_owned(), c.phone.as_str().to_owned());
    if let Some(city) = &c.location.city {
        v.insert("city".to_owned(), city.clone());
    }
    if let Some(country) = &c.location.country {
        v.insert("country".to_owned(), country.clone());
    }
    for (key, value) in &c.attributes {
        let text = match value {
            AttributeValue::Text(t) => t.clone(),
            AttributeValue::Integer(i) => i.to_string(),
            AttributeValue::Number(n) => n.to_string(),
            AttributeValue::Bool(b) => b.to_string(),
        };
        v.insert(format!("{ATTRIBUTE_PREFIX}{key}"), text);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, NewCustomer};

    #[test]
    fn exposes_profile_fields_and_attributes() {
        let mut input = NewCustomer::with_phone("+254712345678");
        input.name = Some("Wanjiku Kamau".into());
        input.attributes.insert("shoe_size".into(), AttributeValue::Integer(42));
        let c = input.validate(BusinessId::new(), chrono::Utc::now()).unwrap();
        let v = customer_values(&c);
        assert_eq!(v["first_name"], "Wanjiku");
        assert_eq!(v["attr.shoe_size"], "42");
        assert!(!v.contains_key("city"));
    }
}
