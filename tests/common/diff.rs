//! Reading `git gitian diff --format json` reports in tests.

use serde_json::Value;

/// Every differing node, flattened: (path joined with "!/", node).
pub fn nodes(v: &Value) -> Vec<(String, Value)> {
    fn walk(n: &Value, out: &mut Vec<(String, Value)>) {
        let path: Vec<&str> =
            n["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        out.push((path.join("!/"), n.clone()));
        for c in n["children"].as_array().into_iter().flatten() {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    for n in v["differences"].as_array().unwrap() {
        walk(n, &mut out);
    }
    out
}

/// The names of the attribute changes and kinds of other changes of a node.
pub fn what(n: &Value) -> Vec<String> {
    let changes = n["changes"].as_array().unwrap().iter();
    changes
        .map(|c| match c["kind"].as_str().unwrap() {
            "attribute" => c["name"].as_str().unwrap().to_string(),
            k => k.to_string(),
        })
        .collect()
}
