//! A small JSON Schema validator for the keywords docs/verify-v1.schema.json uses: type,
//! const, enum, pattern, minimum, required, properties, additionalProperties (false or a
//! schema), propertyNames, items, $ref to #/$defs, and if/then/else. Enough to check real
//! output against the schema shipped with the project, and to fail on anything else.

use serde_json::Value;

/// Every violation of `schema` by `value`, as `path: what` lines.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "$", &mut errors);
    errors
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        other => panic!("schema uses unknown type {other}"),
    }
}

fn check(root: &Value, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = s.as_object() else { return };
    const KNOWN: [&str; 20] = [
        "$schema",
        "$id",
        "title",
        "description",
        "type",
        "const",
        "enum",
        "pattern",
        "minimum",
        "required",
        "properties",
        "additionalProperties",
        "propertyNames",
        "items",
        "$ref",
        "$defs",
        "if",
        "then",
        "else",
        "default",
    ];
    for k in s.keys() {
        assert!(KNOWN.contains(&k.as_str()), "the test's validator does not know keyword {k}");
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("only #/$defs/ references");
        check(root, &root["$defs"][name], v, path, errors);
    }
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => errors.push(format!("{path}: not {t}: {v}")),
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)) => {
            errors.push(format!("{path}: not any of {ts:?}: {v}"))
        }
        _ => {}
    }
    if let Some(c) = s.get("const").filter(|c| *c != v) {
        errors.push(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array).filter(|e| !e.contains(v)) {
        errors.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str())
        && !regex::Regex::new(p).unwrap().is_match(text)
    {
        errors.push(format!("{path}: '{text}' does not match {p}"));
    }
    if let (Some(m), Some(n)) = (s.get("minimum").and_then(Value::as_i64), v.as_i64())
        && n < m
    {
        errors.push(format!("{path}: {n} < {m}"));
    }
    if let Some(obj) = v.as_object() {
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{path}: missing key {r}"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, item) in obj {
            let at = format!("{path}.{k}");
            if let Some(names) = s.get("propertyNames") {
                check(root, names, &Value::String(k.clone()), &at, errors);
            }
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(sub), _) => check(root, sub, item, &at, errors),
                (None, Some(Value::Bool(false))) => errors.push(format!("{at}: unexpected key")),
                (None, Some(sub)) => check(root, sub, item, &at, errors),
                (None, None) => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(root, items, item, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(cond) = s.get("if") {
        let mut probe = Vec::new();
        check(root, cond, v, path, &mut probe);
        let branch = if probe.is_empty() { s.get("then") } else { s.get("else") };
        if let Some(b) = branch {
            check(root, b, v, path, errors);
        }
    }
}
