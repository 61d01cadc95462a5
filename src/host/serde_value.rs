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
pub(crate) fn to_engine_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    // Scalars (counters, IDs, flags) need no text; objects go through text
    // so that struct fields keep their order (a serde_json map would sort).
    if let Ok(scalar) = value.serialize(Scalar) {
        return Ok(scalar);
    }
    let text = serde_json::to_string(value)?;
    // serde_json writes valid JSON, which the engine's parser accepts unless
    // it nests deeper than `json::MAX_DEPTH`.
    json::from_str(&text).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Deserializes an engine value into any `T`.
pub(crate) fn from_engine_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text path: what `to_engine_value` must give for any value.
    fn via_text<T: serde::Serialize + ?Sized>(value: &T) -> Value {
        json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }

    #[test]
    fn scalars_convert_as_their_json_text_reads() {
        #[derive(serde::Serialize)]
        enum Kind {
            Plain,
        }
        #[derive(serde::Serialize)]
        struct Id(u32);
        fn check<T: serde::Serialize + ?Sized>(v: &T) {
            let direct = to_engine_value(v).unwrap();
            assert_eq!(format!("{direct:?}"), format!("{:?}", via_text(v)));
        }
        check(&0u8);
        check(&-7i32);
        check(&u64::MAX);
        check(&i64::MIN);
        check(&9_007_199_254_740_993u64);
        check(&9_007_199_254_740_995u64);
        check(&-9_007_199_254_740_993i64);
        check(&i64::MAX);
        check(&(u64::MAX - 1024));
        check(&0.1f64);
        check(&-0.0f64);
        check(&f64::NAN);
        check(&f64::INFINITY);
        check(&0.1f32);
        check(&1e300f64);
        check(&true);
        check(&'é');
        check("a \"quoted\" é\u{1}");
        check(&None::<u32>);
        check(&Some(5u16));
        check(&());
        check(&Kind::Plain);
        check(&Id(41));
        check(&u128::MAX);
        check(&vec![1, 2]);
        check(&serde_json::json!({"b": 1, "a": [true]}));
    }

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

/// A serializer that accepts only what becomes a JSON scalar: numbers as
/// `JSON.parse(JSON.stringify(x))` reads them (non-finite ones `null`),
/// strings, booleans, unit and `None` as `null`. Anything else is refused,
/// and the caller goes the way of JSON text.
struct Scalar;

/// Scalar's refusal (the caller then serializes to text).
#[derive(Debug)]
struct NotScalar;

impl std::fmt::Display for NotScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a scalar")
    }
}

impl std::error::Error for NotScalar {}

impl serde::ser::Error for NotScalar {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotScalar
    }
}

fn finite(n: f64) -> Value {
    if n.is_finite() { Value::Number(n) } else { Value::Null }
}

/// The `Serializer` methods for integer types: each becomes the nearest
/// double.
macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<Value, NotScalar> {
            Ok(Value::Number(v as f64))
        }
    )*};
}

impl serde::Serializer for Scalar {
    type Ok = Value;
    type Error = NotScalar;
    type SerializeSeq = serde::ser::Impossible<Value, NotScalar>;
    type SerializeTuple = serde::ser::Impossible<Value, NotScalar>;
    type SerializeTupleStruct = serde::ser::Impossible<Value, NotScalar>;
    type SerializeTupleVariant = serde::ser::Impossible<Value, NotScalar>;
    type SerializeMap = serde::ser::Impossible<Value, NotScalar>;
    type SerializeStruct = serde::ser::Impossible<Value, NotScalar>;
    type SerializeStructVariant = serde::ser::Impossible<Value, NotScalar>;

    fn serialize_bool(self, v: bool) -> Result<Value, NotScalar> {
        Ok(Value::Bool(v))
    }
    // Integers: `v as f64` rounds to nearest, ties to even, as `JSON.parse`
    // rounds the integer's decimal text, so even those beyond 2^53 agree.
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_f32(self, v: f32) -> Result<Value, NotScalar> {
        // serde_json writes an f32 by its shortest f32 text, which reads
        // back as a different f64: the text path gets that right.
        let _ = v;
        Err(NotScalar)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, NotScalar> {
        // serde_json writes the shortest text that reads back as `v`.
        Ok(finite(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, NotScalar> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, NotScalar> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_none(self) -> Result<Value, NotScalar> {
        Ok(Value::Null)
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Value, NotScalar> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, NotScalar> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, NotScalar> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, NotScalar> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, NotScalar> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotScalar> {
        Err(NotScalar)
    }
}
