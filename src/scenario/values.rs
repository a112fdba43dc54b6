//! Small value types of the scenario format that accept more than one
//! spelling (`200` or `[400, 401]` or `4xx`; `present` or `{equals: …}`), each
//! with a hand-written `Deserialize` so that errors keep serde's location.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A mapping whose keys must be unique (YAML parsers accept duplicates and
/// keep the last; a scenario with two `scope:` matchers is a mistake).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UniqueMap<V>(pub Vec<(String, V)>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(Vec::new())
    }
}

impl<V> UniqueMap<V> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                        return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(V2(std::marker::PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for UniqueMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        BTreeMap::<String, V>::json_schema(generator)
    }
}

/// One HTTP status pattern: an exact code or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Code(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }

    fn parse(s: &str) -> Option<StatusPattern> {
        let s = s.trim();
        if let Some(d) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
            let d: u16 = d.parse().ok()?;
            return (1..=5).contains(&d).then_some(StatusPattern::Class(d));
        }
        let c: u16 = s.parse().ok()?;
        (100..=599).contains(&c).then_some(StatusPattern::Code(c))
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// `200`, `"4xx"` or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses(pub Vec<StatusPattern>);

impl Statuses {
    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|p| p.matches(status))
    }
}

impl fmt::Display for Statuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|p| p.to_string()).collect();
        if parts.len() == 1 {
            f.write_str(&parts[0])
        } else {
            write!(f, "one of [{}]", parts.join(", "))
        }
    }
}

impl Serialize for Statuses {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<String> = self.0.iter().map(|p| p.to_string()).collect();
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Statuses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusesVisitor)
    }
}

const WHAT: &str = "an HTTP status (200), a class (\"4xx\") or a list of them";

fn one<E: de::Error>(s: &str) -> Result<StatusPattern, E> {
    StatusPattern::parse(s).ok_or_else(|| E::custom(format_args!("`{s}` is not {WHAT}")))
}

struct StatusesVisitor;

impl<'de> Visitor<'de> for StatusesVisitor {
    type Value = Statuses;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(WHAT)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Statuses, E> {
        Ok(Statuses(vec![one(&v.to_string())?]))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Statuses, E> {
        Ok(Statuses(vec![one(&v.to_string())?]))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Statuses, E> {
        Ok(Statuses(vec![one(v)?]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Statuses, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<scalar::Scalar>()? {
            out.push(one(&v.0)?);
        }
        if out.is_empty() {
            return Err(de::Error::custom("the list of statuses is empty"));
        }
        Ok(Statuses(out))
    }
}

impl JsonSchema for Statuses {
    fn schema_name() -> Cow<'static, str> {
        "Statuses".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status (200), a class (\"4xx\"), or a list of them",
            "anyOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": "^[1-5]xx$"},
                {"type": "array", "minItems": 1, "items": {"anyOf": [
                    {"type": "integer", "minimum": 100, "maximum": 599},
                    {"type": "string", "pattern": "^[1-5]xx$"}
                ]}}
            ]
        })
    }
}

/// A scalar read as text whatever its YAML type (`400` or `"4xx"`).
mod scalar {
    use super::*;
    pub struct Scalar(pub String);
    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Scalar;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a number or a string")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Strings(pub Vec<String>);

impl fmt::Display for Strings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 {
            write!(f, "`{}`", self.0[0])
        } else {
            let parts: Vec<String> = self.0.iter().map(|s| format!("`{s}`")).collect();
            write!(f, "one of [{}]", parts.join(", "))
        }
    }
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                if out.is_empty() {
                    return Err(de::Error::custom("the list is empty"));
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Strings {
    fn schema_name() -> Cow<'static, str> {
        "Strings".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1, "items": {"type": "string"}}
            ]
        })
    }
}

/// JSON types a matcher can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Null,
    Array,
    Object,
}

impl JsonType {
    pub fn of(v: &serde_json::Value) -> JsonType {
        use serde_json::Value;
        match v {
            Value::String(_) => JsonType::String,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::Bool(_) => JsonType::Boolean,
            Value::Null => JsonType::Null,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// A check on one value (a body member, a header, a claim). Written either as
/// a word (`present`, `absent`, `null`) or as a mapping whose entries must all
/// hold: `{type: integer, min: 1}`, `{not_equals: "{{ login.refresh_token }}"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatcherSpec {
    /// true: the value is there (a JSON null counts as there); false: it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// true: an absent value passes; when present, the other checks apply
    /// (`scope` may be left out of a response when it equals the request's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Equal to this value; strings are templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// Different from this value (or absent); strings are templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<serde_json::Value>,
    /// Equal, ignoring ASCII case (`token_type: {equals_ignore_case: bearer}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals_ignore_case: Option<String>,
    /// Equal to one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<serde_json::Value>>,
    /// The text matches this regular expression (searched, anchor it yourself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The text contains this (for headers: case-insensitively); a list
    /// contains it as one of its elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// The scope-like text (space-separated) has exactly these words in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_words: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub json_type: Option<JsonType>,
    /// Number at least / at most this (templates allowed: `{{ behaviour.access_token_ttl_s }}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
    /// A remaining lifetime in seconds (`expires_in`) that matches this
    /// declared one: at most it, and at least it minus the target's
    /// `timing.expires_in_tolerance_s` (servers report the time left,
    /// rounded down, seconds after issuing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<serde_json::Value>,
    /// The scope-like text (space-separated) does not hold this word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacks_word: Option<String>,
    /// A number close to another member of the same object:
    /// `{near: iat, within_s: 600}` (an id_token's `auth_time` from a login
    /// that just happened is close to its `iat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<String>,
    /// A Unix time about this many seconds from now (templates:
    /// `{{ login.expires_in }}`): an introspected `exp` that belongs to the
    /// token, within the target's `timing.expires_in_tolerance_s` plus 10 s
    /// for the time between the two answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<serde_json::Value>,
    /// With `near`: how far apart, in seconds, they may be (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_s: Option<u64>,
    /// The weight of this one check when it differs from the scenario's
    /// (`should` inside a MUST scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::verdict::Level>,
    /// The value an absent member stands for (an RFC's default: RFC 8414
    /// §2's `grant_types_supported` is `[authorization_code, implicit]`
    /// when left out); the other checks judge it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Matcher(pub MatcherSpec);

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Matcher;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`present`, `absent`, `null`, or a mapping of checks")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Matcher, E> {
                let spec = match v {
                    "present" => MatcherSpec {
                        present: Some(true),
                        ..Default::default()
                    },
                    "absent" => MatcherSpec {
                        present: Some(false),
                        ..Default::default()
                    },
                    "null" => MatcherSpec {
                        equals: Some(serde_json::Value::Null),
                        ..Default::default()
                    },
                    other => {
                        return Err(E::custom(format_args!(
                            "unknown matcher `{other}`: write `present`, `absent`, `null`, or a mapping such as `{{equals: \"{other}\"}}`"
                        )));
                    }
                };
                Ok(Matcher(spec))
            }
            /// `member: null` (YAML's null, not the word): the value is JSON null.
            fn visit_unit<E: de::Error>(self) -> Result<Matcher, E> {
                Ok(Matcher(MatcherSpec {
                    equals: Some(serde_json::Value::Null),
                    ..Default::default()
                }))
            }
            fn visit_none<E: de::Error>(self) -> Result<Matcher, E> {
                self.visit_unit()
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Matcher, A::Error> {
                let spec = MatcherSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if spec == MatcherSpec::default() {
                    return Err(de::Error::custom("empty matcher: give at least one check"));
                }
                Ok(Matcher(spec))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Matcher {
    fn schema_name() -> Cow<'static, str> {
        "Matcher".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let spec = generator.subschema_for::<MatcherSpec>();
        json_schema!({
            "anyOf": [
                {"type": "string", "enum": ["present", "absent", "null"]},
                spec
            ]
        })
    }
}

/// How many responses of a parallel step must match: `1`, `">= 1"`,
/// `"<= 1"`, `"2..5"`, `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(u32),
    AtLeast(u32),
    AtMost(u32),
    Between(u32, u32),
    All,
}

impl Count {
    pub fn holds(self, n: u32, total: u32) -> bool {
        match self {
            Count::Exactly(k) => n == k,
            Count::AtLeast(k) => n >= k,
            Count::AtMost(k) => n <= k,
            Count::Between(a, b) => (a..=b).contains(&n),
            Count::All => n == total,
        }
    }

    fn parse(s: &str) -> Option<Count> {
        let s = s.trim();
        if s == "all" {
            return Some(Count::All);
        }
        if let Some(r) = s.strip_prefix(">=") {
            return r.trim().parse().ok().map(Count::AtLeast);
        }
        if let Some(r) = s.strip_prefix("<=") {
            return r.trim().parse().ok().map(Count::AtMost);
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return (a <= b).then_some(Count::Between(a, b));
        }
        s.parse().ok().map(Count::Exactly)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exactly(k) => write!(f, "exactly {k}"),
            Count::AtLeast(k) => write!(f, "at least {k}"),
            Count::AtMost(k) => write!(f, "at most {k}"),
            Count::Between(a, b) => write!(f, "between {a} and {b}"),
            Count::All => f.write_str("all"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exactly(k) => s.serialize_u32(*k),
            Count::AtLeast(k) => s.serialize_str(&format!(">= {k}")),
            Count::AtMost(k) => s.serialize_str(&format!("<= {k}")),
            Count::Between(a, b) => s.serialize_str(&format!("{a}..{b}")),
            Count::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar::Scalar::deserialize(d)?;
        Count::parse(&s.0).ok_or_else(|| {
            de::Error::custom(format_args!(
                "`{}` is not a count: write 1, \">= 1\", \"<= 1\", \"2..5\" or all",
                s.0
            ))
        })
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^(all|>= ?[0-9]+|<= ?[0-9]+|[0-9]+ ?\\.\\. ?[0-9]+)$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value, or the message a user would read.
    fn yaml<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, Message> {
        serde_yaml::from_str(s).map_err(|e| Message(e.to_string()))
    }

    #[derive(Debug)]
    struct Message(String);

    impl Message {
        fn contains(&self, text: &str) -> bool {
            self.0.contains(text)
        }
    }

    impl std::fmt::Display for Message {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    #[test]
    fn statuses_accept_codes_classes_and_lists() {
        let s: Statuses = yaml("200").unwrap();
        assert!(s.matches(200) && !s.matches(201));
        let s: Statuses = yaml("4xx").unwrap();
        assert!(s.matches(404) && !s.matches(500));
        let s: Statuses = yaml("[400, 401]").unwrap();
        assert!(s.matches(401) && !s.matches(403));
        assert!(
            yaml::<Statuses>("700")
                .unwrap_err()
                .contains("not an HTTP status")
        );
        assert!(yaml::<Statuses>("[]").unwrap_err().contains("empty"));
    }

    #[test]
    fn matchers_accept_words_and_mappings() {
        let m: Matcher = yaml("present").unwrap();
        assert_eq!(m.0.present, Some(true));
        let m: Matcher = yaml("{type: integer, min: 1}").unwrap();
        assert_eq!(m.0.json_type, Some(JsonType::Integer));
        let e = yaml::<Matcher>("presnt").unwrap_err();
        assert!(e.contains("unknown matcher `presnt`"), "{e}");
        let e = yaml::<Matcher>("{equal: 1}").unwrap_err();
        assert!(e.contains("unknown field `equal`"), "{e}");
    }

    #[test]
    fn counts_parse_and_hold() {
        assert!(yaml::<Count>("1").unwrap().holds(1, 5));
        assert!(yaml::<Count>("\">= 2\"").unwrap().holds(3, 5));
        assert!(!yaml::<Count>("\"<= 1\"").unwrap().holds(2, 5));
        assert!(yaml::<Count>("\"1..3\"").unwrap().holds(3, 5));
        assert!(yaml::<Count>("all").unwrap().holds(5, 5));
        assert!(yaml::<Count>("many").is_err());
    }

    #[test]
    fn unique_maps_refuse_duplicate_keys() {
        let e = yaml::<UniqueMap<String>>("a: 1\nA: 2\n").unwrap_err();
        assert!(e.contains("duplicate key `A`"), "{e}");
    }
}
