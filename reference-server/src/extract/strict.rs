//! Reading request types from JSON as JSON Schema reads them.
//!
//! serde's derived structs also accept a JSON array (fields in order), so
//! `{"location": [null, null]}` would pass as a location with nothing set. And
//! serde reads `2055.0` as a float only, where JSON Schema counts it as the
//! integer 2055. [`Strict`] deserializes from a parsed [`Value`] with both
//! rules fixed, at every depth: a struct must be a JSON object, and a number
//! with no fraction is also an integer. (Internally tagged enums are read by
//! serde through `deserialize_any`, which cannot tell them from a list, so
//! they keep serde's own reading.)

use serde::de::{
    self, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

type Error = serde_json::Error;

/// A deserializer over a JSON value that refuses arrays for structs.
pub struct Strict<'a>(pub &'a Value);

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
    if let Some(u) = n.as_u64() {
        return visitor.visit_u64(u);
    }
    if let Some(i) = n.as_i64() {
        return visitor.visit_i64(i);
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    // 2^63 and 2^64 bound the integer types exactly as f64 values.
    if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return visitor.visit_u64(f as u64);
    }
    if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        #[allow(clippy::cast_possible_truncation)]
        return visitor.visit_i64(f as i64);
    }
    visitor.visit_f64(f)
}

impl<'de> de::Deserializer<'de> for Strict<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            other => Err(Error::invalid_type(unexpected(other), &"a JSON object")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.iter().next() else {
                    return Err(Error::custom("an enum object needs one key"));
                };
                visitor.visit_enum(Variant { variant, value })
            }
            other => Err(Error::invalid_type(unexpected(other), &"a string or a one-key object")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(Unexpected::Other("number"), Unexpected::Float),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct Seq<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'a> Entries<'a> {
    fn new(map: &'a Map<String, Value>) -> Self {
        Self { iter: map.iter(), value: None }
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().ok_or_else(|| Error::custom("value without a key"))?;
        seed.deserialize(Strict(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Variant<'a> {
    variant: &'a str,
    value: &'a Value,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Strict<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Strict<'de>), Error> {
        let v = seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((v, Strict(self.value)))
    }
}

impl<'de> VariantAccess<'de> for Strict<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(Error::invalid_type(unexpected(other), &"null")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Place {
        city: Option<String>,
        country: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Sized(u8),
        Shaped { sides: u8 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Once { at: u32 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Body {
        #[serde(default)]
        place: Option<Place>,
        #[serde(default)]
        year: Option<u16>,
        #[serde(default)]
        ratio: Option<f64>,
        #[serde(default)]
        kinds: Vec<Kind>,
        #[serde(default)]
        tagged: Option<Tagged>,
    }

    fn read(json: &str) -> Result<Body, Error> {
        let v: Value = serde_json::from_str(json).unwrap();
        Body::deserialize(Strict(&v))
    }

    #[test]
    fn structs_must_be_objects_at_every_depth() {
        assert!(serde_json::from_str::<Body>(r#"{"place": [null, null]}"#).is_ok());
        assert!(read(r#"{"place": [null, null]}"#).is_err());
        assert!(read("[]").is_err());
        let b = read(r#"{"place": {"city": "Nairobi"}}"#).unwrap();
        assert_eq!(b.place.unwrap().city.as_deref(), Some("Nairobi"));
    }

    #[test]
    fn whole_floats_are_integers() {
        assert_eq!(read(r#"{"year": 2055.0}"#).unwrap().year, Some(2055));
        assert!(read(r#"{"year": 2055.5}"#).is_err());
        assert!(read(r#"{"year": 70000}"#).is_err());
        assert!(read(r#"{"year": -1.0}"#).is_err());
        assert_eq!(read(r#"{"ratio": 2}"#).unwrap().ratio, Some(2.0));
        assert_eq!(read(r#"{"ratio": 0.25}"#).unwrap().ratio, Some(0.25));
    }

    #[test]
    fn enums_read_as_serde_json_reads_them() {
        let b = read(r#"{"kinds": ["plain", {"sized": 3}, {"shaped": {"sides": 4}}]}"#).unwrap();
        assert_eq!(b.kinds, vec![Kind::Plain, Kind::Sized(3), Kind::Shaped { sides: 4 }]);
        assert!(read(r#"{"kinds": [{"shaped": [4]}]}"#).is_err());
        assert!(read(r#"{"kinds": ["round"]}"#).is_err());
        assert_eq!(
            read(r#"{"tagged": {"type": "once", "at": 5}}"#).unwrap().tagged,
            Some(Tagged::Once { at: 5 })
        );
    }
}
