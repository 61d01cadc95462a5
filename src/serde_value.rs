//! Conversions between [`serde_json::Value`] and the engine's
//! [`json::Value`](crate::json::Value) (feature `tower`).
//!
//! The engine's numbers are `f64`, as in JavaScript: a serde_json integer
//! beyond 2^53 loses precision on the way in, exactly as `JSON.parse` would.
//! On the way out, an integral number within ±2^53 becomes a serde_json
//! integer (so it deserializes into `u32`, `i64`...), any other finite number
//! an `f64`, and a non-finite one `null` (what `JSON.stringify` writes).
//!
//! Property order: the engine keeps JavaScript's order (array-index keys
//! first, then insertion order). A `serde_json::Map` iterates in its own order
//! (sorted by key unless serde_json's `preserve_order` feature is on), and
//! that is the insertion order the engine sees. To store an object with a
//! chosen key order, serialize a struct (see `Session::insert` in the
//! tower layer), which keeps field order.

use crate::json::{self, Map, Value};

/// Integers up to this magnitude are exact in an `f64`.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                let mut m = Map::new();
                for (k, v) in o {
                    m.insert(k, Value::from(v));
                }
                Value::Object(m)
            }
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(serde_json::Value::from).collect()),
            Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v))).collect())
            }
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> Self {
        serde_json::Value::from(&v)
    }
}

fn number(n: f64) -> serde_json::Value {
    if n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// `JSON.parse(JSON.stringify(value))` for any serializable value: it is
/// written by serde_json (struct fields in declaration order, non-finite
/// floats as `null`) and read with JavaScript's rules.
pub fn to_engine_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    // serde_json writes valid JSON, which the engine's parser accepts unless
    // it nests deeper than `json::MAX_DEPTH`.
    json::from_str(&text).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Deserializes an engine value into any `T`.
pub fn from_engine_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_javascript() {
        let v = Value::from(serde_json::json!({"a": 1, "b": 1.5, "c": u64::MAX, "d": [null, true, "x"]}));
        assert_eq!(json::to_string(&v), r#"{"a":1,"b":1.5,"c":18446744073709552000,"d":[null,true,"x"]}"#);
        let back = serde_json::Value::from(&v);
        assert_eq!(back["a"], serde_json::json!(1));
        assert!(back["a"].is_i64());
        assert_eq!(back["b"], serde_json::json!(1.5));
        assert!(back["c"].is_f64());
        assert_eq!(serde_json::Value::from(Value::Number(f64::NAN)), serde_json::Value::Null);
        assert_eq!(serde_json::Value::from(Value::Number(-0.0)), serde_json::json!(0));
        let n: u32 = from_engine_value(&Value::Number(7.0)).unwrap();
        assert_eq!(n, 7);
    }

    #[test]
    fn struct_field_order_is_kept() {
        #[derive(serde::Serialize)]
        struct User {
            zeta: u8,
            alpha: &'static str,
            #[serde(rename = "10")]
            ten: bool,
            #[serde(rename = "2")]
            two: f64,
        }
        let v = to_engine_value(&User { zeta: 1, alpha: "a", ten: true, two: f64::INFINITY }).unwrap();
        // Array-index keys first, ascending, as JavaScript orders them.
        assert_eq!(json::to_string(&v), r#"{"2":null,"10":true,"zeta":1,"alpha":"a"}"#);
    }
}
