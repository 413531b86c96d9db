//! Request bodies and query strings, read the same strict way by every
//! handler: a JSON object is the only body a struct accepts (serde would
//! otherwise take `["Ann","a@b.c"]` as a positional struct), a whole number
//! written `30.0` is an integer (as JSON Schema 2020-12 says), and a value
//! that does not fit is reported under its own name (`errors.limit`,
//! `errors.customer.email`), never under `body`.

use std::cell::RefCell;
use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer as _, IntoDeserializer, Unexpected,
    Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

use crate::domain::texts::Reason;
use crate::error::AppError;

/// A JSON body, in place of `web::Json`: the size limit, media type and
/// syntax rules of `JsonConfig` still apply, then the strict reading here.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            Ok(Json(body_from_value(value)?))
        })
    }
}

/// Query parameters, in place of `web::Query`: 400 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(query_from_str(req.query_string()).map(Query))
    }
}

/// Reads a body already parsed as JSON (`null` and no body are the
/// caller's business): 422 `validation_failed` naming the field.
/// A body's optional `reason`, read as a [`Reason`]: 422 naming `reason`
/// when it is too long.
pub fn reason_field(text: Option<&str>) -> Result<Option<Reason>, AppError> {
    text.map(Reason::parse)
        .transpose()
        .map(Option::flatten)
        .map_err(|why| AppError::invalid_field("reason", &why))
}

pub fn body_from_value<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    read(value, Source::Body).map_err(|(field, message)| AppError::invalid_field(&field, message))
}

/// Reads a query string: 400 `validation_failed` naming the parameter.
pub fn query_from_str<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| AppError::bad_parameter("query", e.to_string()))?
        .into_inner();
    let mut map = Map::new();
    for (name, value) in pairs {
        // A repeated parameter is ambiguous: refuse it rather than pick one.
        if map.insert(name.clone(), Value::String(value)).is_some() {
            return Err(AppError::bad_parameter(&name, "is given more than once"));
        }
    }
    read(Value::Object(map), Source::Query)
        .map_err(|(field, message)| AppError::bad_parameter(&field, message))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Body,
    /// Every value is text; numbers and booleans are parsed when asked for.
    Query,
}

fn read<T: DeserializeOwned>(value: Value, source: Source) -> Result<T, (String, String)> {
    let failed_at = RefCell::new(None);
    let input = Input {
        value,
        source,
        path: String::new(),
        failed_at: &failed_at,
    };
    T::deserialize(input).map_err(|e| {
        let message = e.to_string();
        let field = failed_at
            .into_inner()
            .or_else(|| named_field(&message).map(str::to_owned))
            .unwrap_or_else(|| {
                match source {
                    Source::Body => "body",
                    Source::Query => "query",
                }
                .to_owned()
            });
        (field, message)
    })
}

/// The field a serde message names (`unknown field `x``, `missing field `x``).
fn named_field(message: &str) -> Option<&str> {
    ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|marker| message.split(marker).nth(1)?.split('`').next())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A JSON value being read, where it sits (`customer.email`), and where the
/// first (innermost) failure was.
struct Input<'a> {
    value: Value,
    source: Source,
    path: String,
    failed_at: &'a RefCell<Option<String>>,
}

impl<'a> Input<'a> {
    fn child(&self, value: Value, key: &str) -> Input<'a> {
        Input {
            value,
            source: self.source,
            path: join(&self.path, key),
            failed_at: self.failed_at,
        }
    }

    /// Notes where `error` happened, unless a deeper failure already did.
    fn note<T>(
        failed_at: &RefCell<Option<String>>,
        path: &str,
        result: Result<T, serde_json::Error>,
    ) -> Result<T, serde_json::Error> {
        if let Err(error) = &result {
            let message = error.to_string();
            let mut slot = failed_at.borrow_mut();
            if slot.is_none() {
                *slot = match named_field(&message) {
                    Some(field) => Some(join(path, field)),
                    None if path.is_empty() => None,
                    None => Some(path.to_owned()),
                };
            }
        }
        result
    }

    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match (&self.value, self.source) {
            (Value::Number(n), Source::Body) => {
                if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else {
                    match n.as_f64().and_then(whole) {
                        Some(i) => visitor.visit_i64(i),
                        None => self.any(visitor),
                    }
                }
            }
            (Value::String(text), Source::Query) => {
                let text = text.trim();
                if let Ok(i) = text.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(u) = text.parse::<u64>() {
                    visitor.visit_u64(u)
                } else {
                    match text.parse::<f64>().ok().and_then(whole) {
                        Some(i) => visitor.visit_i64(i),
                        None => Err(de::Error::invalid_type(
                            Unexpected::Str(text),
                            &"an integer",
                        )),
                    }
                }
            }
            _ => self.any(visitor),
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Array(items) => {
                let mut seq = Items {
                    items: items.into_iter(),
                    index: 0,
                    parent: Input {
                        value: Value::Null,
                        ..self
                    },
                };
                visitor.visit_seq(&mut seq)
            }
            Value::Object(map) => {
                let mut fields = Fields {
                    fields: map.into_iter(),
                    pending: None,
                    parent: Input {
                        value: Value::Null,
                        ..self
                    },
                };
                visitor.visit_map(&mut fields)
            }
            other => other.deserialize_any(visitor),
        }
    }
}

/// `30.0` as `30`; `30.5` and numbers beyond `i64` are not integers.
fn whole(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

impl<'de> de::Deserializer<'de> for Input<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match &self.value {
            Value::Object(_) => self.any(visitor),
            Value::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &"a JSON object")),
            other => Err(de::Error::invalid_type(unexpected(other), &"a JSON object")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::String(text) => visitor.visit_enum(text.into_deserializer()),
            other => other.deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match (&self.value, self.source) {
            (Value::String(text), Source::Query) => match text.as_str() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                other => Err(de::Error::invalid_type(
                    Unexpected::Str(other),
                    &"`true` or `false`",
                )),
            },
            _ => self.any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match (&self.value, self.source) {
            (Value::String(text), Source::Query) => match text.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => visitor.visit_f64(f),
                _ => Err(de::Error::invalid_type(Unexpected::Str(text), &"a number")),
            },
            _ => self.any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.integer(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if let Value::String(text) = &self.value {
            if reads_a_date::<V>() && !within_years(text) {
                return Err(de::Error::invalid_value(
                    Unexpected::Str(text),
                    &"a date or date-time in the years 0001 to 9999",
                ));
            }
        }
        self.any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier
    }
}

/// Whether `V` is chrono's reader of dates or date-times (`DateTime<Utc>`,
/// `NaiveDate`, `NaiveDateTime`). chrono reads signed and five-digit years
/// (`-0001-01-01`, `+10000-01-01`), which the API's `date` and `date-time`
/// formats (RFC 3339) cannot hold and which would be echoed back as such; its
/// visitors are recognised here so that every date field, present and future,
/// is held to 0001–9999 without an attribute of its own. A unit test below
/// fails should chrono rename them.
fn reads_a_date<'de, V: Visitor<'de>>() -> bool {
    let name = std::any::type_name::<V>();
    name.starts_with("chrono::")
        && (name.ends_with("DateTimeVisitor") || name.ends_with("DateVisitor"))
}

/// A date (`2026-03-08`) or date-time whose year has four digits, is not
/// `0000`, and (for an instant with an offset) stays so in UTC.
fn within_years(text: &str) -> bool {
    let text = text.trim();
    let year = text.split('-').next().unwrap_or("");
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || year == "0000" {
        return false;
    }
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(instant) => in_calendar(instant.with_timezone(&chrono::Utc)),
        Err(_) => true,
    }
}

/// Whether an instant lies in the years 0001–9999, the range RFC 3339 can
/// write; instants outside it are refused rather than echoed as `+10000-…`.
pub fn in_calendar(instant: chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&instant.year())
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match n.as_f64() {
            Some(f) => Unexpected::Float(f),
            None => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct Items<'a> {
    items: std::vec::IntoIter<Value>,
    index: usize,
    parent: Input<'a>,
}

impl<'de> de::SeqAccess<'de> for Items<'_> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let child = self.parent.child(item, &self.index.to_string());
        self.index += 1;
        let path = child.path.clone();
        Input::note(self.parent.failed_at, &path, seed.deserialize(child)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields<'a> {
    fields: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
    parent: Input<'a>,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.fields.next() else {
            return Ok(None);
        };
        let read = seed.deserialize(key.clone().into_deserializer());
        let read = Input::note(self.parent.failed_at, &self.parent.path, read)?;
        self.pending = Some((key, value));
        Ok(Some(read))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <serde_json::Error as de::Error>::custom("a value without its key"))?;
        let child = self.parent.child(value, &key);
        let path = child.path.clone();
        Input::note(self.parent.failed_at, &path, seed.deserialize(child))
    }
}

impl fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at `{}`", self.value, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Person {
        name: String,
        #[serde(default)]
        age: Option<i32>,
        #[serde(default)]
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Address {
        city: String,
    }

    fn body(value: Value) -> Result<Person, (String, String)> {
        read(value, Source::Body)
    }

    #[test]
    fn objects_read_and_arrays_do_not_stand_in_for_them() {
        let ann = body(json!({"name": "Ann", "age": 30.0, "address": {"city": "Leeds"}})).unwrap();
        assert_eq!(ann.age, Some(30));
        assert_eq!(body(json!(["Ann", 30])).unwrap_err().0, "body");
        let nested = body(json!({"name": "Ann", "address": ["Leeds"]})).unwrap_err();
        assert_eq!(nested.0, "address");
        assert!(nested.1.contains("JSON object"), "{}", nested.1);
    }

    #[test]
    fn failures_name_the_innermost_field() {
        assert_eq!(
            body(json!({"name": "A", "age": 30.5})).unwrap_err().0,
            "age"
        );
        assert_eq!(
            body(json!({"name": "A", "age": 1e12})).unwrap_err().0,
            "age"
        );
        assert_eq!(
            body(json!({"name": "A", "colour": 1})).unwrap_err().0,
            "colour"
        );
        assert_eq!(body(json!({})).unwrap_err().0, "name");
        let deep = body(json!({"name": "A", "address": {"town": "x"}})).unwrap_err();
        assert_eq!(deep.0, "address.town");
        let missing = body(json!({"name": "A", "address": {}})).unwrap_err();
        assert_eq!(missing.0, "address.city");
    }

    #[derive(Debug, Deserialize)]
    struct Dated {
        #[allow(dead_code)]
        at: chrono::DateTime<chrono::Utc>,
        #[allow(dead_code)]
        on: Option<chrono::NaiveDate>,
    }

    #[test]
    fn dates_outside_the_years_0001_to_9999_are_refused() {
        let dated = |at: &str, on: &str| read::<Dated>(json!({"at": at, "on": on}), Source::Body);
        assert!(dated("2026-03-08T14:00:00+01:00", "9999-12-31").is_ok());
        assert!(dated("0001-01-01T00:00:00Z", "0001-01-01").is_ok());
        for at in [
            "-0001-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "0000-06-01T00:00:00Z",
            "9999-12-31T23:00:00-05:00",
        ] {
            assert_eq!(dated(at, "2026-01-01").unwrap_err().0, "at", "{at}");
        }
        for on in ["-0001-01-01", "+10000-01-01", "10000-01-01", "0000-01-01"] {
            assert_eq!(
                dated("2026-03-08T14:00:00Z", on).unwrap_err().0,
                "on",
                "{on}"
            );
        }
        // Text that merely looks like a date is text.
        #[derive(Deserialize)]
        struct Note {
            text: String,
        }
        let note: Note = read(json!({"text": "-0001-01-01"}), Source::Body).unwrap();
        assert_eq!(note.text, "-0001-01-01");
        let query: Dated = query_from_str("at=2026-03-08T14:00:00Z&on=2026-03-08").unwrap();
        assert!(query.on.is_some());
        assert!(query_from_str::<Dated>("at=-0001-01-01T00:00:00Z").is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Listing {
        limit: Option<i64>,
        archived: Option<bool>,
        q: Option<String>,
    }

    #[test]
    fn query_values_are_parsed_and_failures_name_the_parameter() {
        let listing: Listing = query_from_str("limit=30.0&archived=true&q=5").unwrap();
        assert_eq!(
            (listing.limit, listing.archived, listing.q.as_deref()),
            (Some(30), Some(true), Some("5"))
        );
        let error = query_from_str::<Listing>("limit=abc").unwrap_err();
        assert_eq!(error.code(), "validation_failed");
        let problem = serde_json::to_value(error.to_problem()).unwrap();
        assert!(problem["errors"]["limit"].is_string(), "{problem}");
        let error = query_from_str::<Listing>("limit=1&limit=2").unwrap_err();
        assert!(serde_json::to_value(error.to_problem()).unwrap()["errors"]["limit"].is_string());
    }
}
