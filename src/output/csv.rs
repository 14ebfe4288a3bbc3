//! CSV derived from a result's JSON: the columns are the JSON keys (nested objects as
//! `parent.child`), the cells the JSON values: text as it is, numbers and booleans as JSON
//! writes them, lists of plain values joined with "; ", anything deeper as compact JSON, and
//! null as an empty cell. A list of records is one row per record; a single record, one row.

use serde::Serialize;
use serde_json::{Map, Value};

pub fn of<T: Serialize>(value: &T) -> std::io::Result<String> {
    let json = serde_json::to_value(value).map_err(std::io::Error::other)?;
    let records: Vec<Value> = match json {
        Value::Array(items) => items,
        other => vec![other],
    };
    // No records, no columns to name: nothing at all, as `[]` is in JSON.
    if records.is_empty() {
        return Ok(String::new());
    }
    let flat: Vec<Vec<(String, String)>> = records.iter().map(flatten).collect();
    // Columns in the order they first appear.
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for (k, _) in row {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    // A key that is null in one row and an object in another has only its parts as columns.
    let columns: Vec<String> = columns
        .iter()
        .filter(|c| !columns.iter().any(|o| o.starts_with(&format!("{c}."))))
        .cloned()
        .collect();
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(&columns).map_err(std::io::Error::other)?;
    for row in &flat {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(k, _)| k == c)
                    .map_or("", |(_, v)| v.as_str())
            })
            .collect();
        w.write_record(&cells).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One record as (column, cell) pairs.
fn flatten(record: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match record {
        Value::Object(map) => walk("", map, &mut out),
        other => out.push(("value".into(), cell(other))),
    }
    out
}

fn walk(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) if !inner.is_empty() => walk(&key, inner, out),
            other => out.push((key, cell(other))),
        }
    }
}

/// A JSON value as one cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(is_plain) => {
            items.iter().map(cell).collect::<Vec<_>>().join("; ")
        }
        Value::Object(m) if m.is_empty() => String::new(),
        other if is_plain(other) => other.to_string(),
        other => other.to_string(),
    }
}

fn is_plain(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_are_the_json_keys_and_cells_its_values() {
        let v = json!([
            {"name": "Contoso", "domain": null, "gdap": {"status": "active", "roles": ["A", "B"]}, "ok": true, "n": 3, "error": null},
            {"name": "Fabrikam", "domain": "fabrikam.com", "gdap": {"status": "none", "roles": []}, "ok": false, "n": 0,
             "error": {"code": "remote_error", "message": "it, failed"}},
        ]);
        assert_eq!(
            of(&v).unwrap(),
            "name,domain,gdap.status,gdap.roles,ok,n,error.code,error.message\n\
             Contoso,,active,A; B,true,3,,\n\
             Fabrikam,fabrikam.com,none,,false,0,remote_error,\"it, failed\"\n"
        );
    }

    #[test]
    fn a_single_record_is_one_row_and_deep_values_stay_json() {
        let v = json!({"id": "x", "grants": [{"resource": "graph", "scopes": ["A"]}]});
        assert_eq!(
            of(&v).unwrap(),
            "id,grants\nx,\"[{\"\"resource\"\":\"\"graph\"\",\"\"scopes\"\":[\"\"A\"\"]}]\"\n"
        );
    }
}
