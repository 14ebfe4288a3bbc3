//! The three output formats agree, for every result type, on the sandbox: CSV's columns are
//! the JSON keys (nested ones as `parent.child`) and its cells the JSON values (empty for
//! null, lists joined with "; "); the table may decorate a value (a mark, colour, a date for a
//! timestamp) but never shows another one.

use serde_json::Value;

use csp::output::title;

use crate::support::*;

/// Correlation and trace ids differ on every call; nothing else in a steady world does.
fn steady(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" id ") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let id_len = rest
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
            .count();
        if id_len == 36 {
            out.push_str("[ID]");
            rest = &rest[36..];
        }
    }
    out.push_str(rest);
    out
}

/// A JSON value as the CSV cell it must be.
fn csv_cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        // An object's parts are columns of their own; an empty one leaves nothing to show.
        Some(Value::Object(o)) if o.is_empty() => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(|i| !i.is_object() && !i.is_array()) => items
            .iter()
            .map(|i| csv_cell(Some(i)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

fn at_path<'a>(record: &'a Value, column: &str) -> Option<&'a Value> {
    column.split('.').try_fold(record, |v, k| v.get(k))
}

fn records(json: &Value) -> Vec<Value> {
    match json {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn check_csv(what: &str, json: &Value, csv_text: &str) {
    let records = records(json);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("{what}: CSV header: {e}"))
        .iter()
        .map(str::to_string)
        .collect();
    assert!(
        header.iter().all(|h| !h.is_empty()),
        "{what}: an empty CSV header: {header:?}"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        records.len(),
        "{what}: CSV rows vs JSON records"
    );
    for (row, record) in rows.iter().zip(&records) {
        // Every JSON key that holds a value has a column.
        if let Value::Object(map) = record {
            for (k, v) in map {
                let covered = header
                    .iter()
                    .any(|h| h == k || h.starts_with(&format!("{k}.")));
                assert!(
                    covered || v.as_object().is_some_and(|o| o.is_empty()),
                    "{what}: JSON key {k} has no CSV column ({header:?})"
                );
            }
        }
        for (column, cell) in header.iter().zip(row.iter()) {
            assert_eq!(
                steady(cell),
                steady(&csv_cell(at_path(record, column))),
                "{what}: CSV column {column}"
            );
        }
    }
}

/// The table's head and rows (a pipe gets it unwrapped: one line per row).
fn parse_table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines().filter(|l| l.starts_with('│')).map(|l| {
        l.trim_matches('│')
            .split('┆')
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    });
    let head = lines.next().unwrap_or_default();
    (head, lines.collect())
}

/// The value `key` shows in a record: at the top, else inside one of its objects.
fn shown<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    record.get(key).or_else(|| {
        record
            .as_object()?
            .values()
            .filter_map(|v| v.as_object())
            .find_map(|o| o.get(key))
    })
}

/// Whether a table cell shows `value` (decorated or not) and no other.
fn agrees(cell: &str, value: &Value) -> bool {
    let raw = cell.trim();
    let cell = cell.trim_start_matches(['✓', '✗', '!', ' ']);
    match value {
        Value::Null => ["", "-", "?", "✗", "none", "unknown"].contains(&cell),
        Value::Bool(b) => {
            let yes = ["yes", "true", "✓", "on"];
            let no = ["no", "false", "✗", "off"];
            if *b {
                yes.contains(&raw)
            } else {
                no.contains(&raw)
            }
        }
        Value::String(s) if s.is_empty() => cell.is_empty() || cell == "-",
        // A timestamp may be shown as its date.
        Value::String(s) => {
            steady(cell).contains(&steady(s))
                || (s.len() > 10 && s[10..].starts_with('T') && cell == &s[..10])
        }
        Value::Number(n) => cell.contains(&n.to_string()),
        // A list shows each item; a record in it by its name.
        Value::Array(items) => items.iter().all(|i| match i {
            Value::String(s) => cell.contains(s.as_str()),
            Value::Object(o) => match o.get("name").or_else(|| o.get("displayName")) {
                Some(Value::String(name)) => cell.contains(name.as_str()),
                _ => true,
            },
            other => cell.contains(&other.to_string()),
        }),
        Value::Object(_) => true,
    }
}

fn check_table(what: &str, json: &Value, table: &str) {
    let records = records(json);
    if json.is_object() {
        // One record: `key:  value` lines.
        let mut matched = 0;
        for line in table.lines() {
            let Some((key, cell)) = line.split_once(':') else {
                continue;
            };
            if let Some(v) = json.get(key.trim()) {
                matched += 1;
                assert!(
                    agrees(cell.trim(), v),
                    "{what}: {key} shows {:?}, JSON has {v}",
                    cell.trim()
                );
            }
        }
        assert!(
            matched > 0,
            "{what}: no line of the table is a JSON key:\n{table}"
        );
        return;
    }
    let (head, rows) = parse_table(table);
    if head.is_empty() && !records.is_empty() {
        // A list drawn as text (`exit-codes`): every value it shows is the JSON's, whitespace
        // aside, in order.
        let text = table.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut from = 0;
        for record in &records {
            for key in ["code", "meaning"] {
                let v = csv_cell(record.get(key));
                let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                let at = text[from..]
                    .find(&v)
                    .unwrap_or_else(|| panic!("{what}: {v:?} not shown in order:\n{table}"));
                from += at;
            }
        }
        return;
    }
    assert_eq!(
        rows.len(),
        records.len(),
        "{what}: table rows vs JSON:\n{table}"
    );
    let mut matched = 0;
    for (col, heading) in head.iter().enumerate() {
        let Some(key) = records
            .iter()
            .filter_map(|r| r.as_object())
            .flat_map(|o| {
                o.keys()
                    .cloned()
                    .chain(
                        o.values()
                            .filter_map(|v| v.as_object())
                            .flat_map(|n| n.keys().cloned()),
                    )
                    .collect::<Vec<_>>()
            })
            .find(|k| title(k) == *heading)
        else {
            continue;
        };
        matched += 1;
        for (row, record) in rows.iter().zip(&records) {
            let value = shown(record, &key).unwrap_or(&Value::Null);
            let cell = row.get(col).map(String::as_str).unwrap_or_default();
            assert!(
                agrees(cell, value),
                "{what}: column {heading} shows {cell:?} where JSON {key} is {value}"
            );
        }
    }
    if !records.is_empty() {
        assert!(
            matched > 0,
            "{what}: no table column is a JSON key: {head:?}"
        );
    }
}

#[tokio::test]
async fn table_json_and_csv_agree_for_every_result_type() {
    let env = TestEnv::new().await.env("CSP_SANDBOX", "1");
    env.run(&["authorize"]).await.assert_code(0);
    let dir = env.config_dir();
    let rows = dir.join("rows.csv");
    std::fs::write(
        &rows,
        "customer,domain\nAdatum,adatum.com\nCoho,cohowinery.com\nContoso,contoso.com\nNorthwind,northwindtraders.com\nWingtip,wingtiptoys.com\n",
    )
    .unwrap();
    let rows = rows.to_str().unwrap();
    env.run(&["map", "import", rows]).await;
    let clients = dir.join("clients.txt");
    std::fs::write(
        &clients,
        "Tailspin Toys Ltd\nTrey Research\nToys\n\"Adatum Corporation\"\nBlue Yonder Airlines\n",
    )
    .unwrap();
    let clients = clients.to_str().unwrap();
    // Consent once, so that the runs compared below find the same world.
    env.run(&["consent", "--all"]).await;

    let commands: &[&[&str]] = &[
        // Offline: each online run gets an access token of its own, expiring a second later.
        &["status", "--offline"],
        &["customers"],
        &["customers", "--gdap"],
        &["domains", "--customer", "contoso.com"],
        &["map", "list"],
        &["map", "import", rows],
        &["map", "suggest", "--clients", clients],
        &["consent", "--all"],
        &["consent", "--all", "--dry-run"],
        &["audit"],
        &["doctor"],
        &["gdap", "list"],
        &["gdap", "roles"],
        &["gdap", "templates"],
        &["exit-codes"],
    ];
    for args in commands {
        let what = args.join(" ");
        let run = |format: &'static str| {
            let mut a = vec!["-o", format];
            a.extend_from_slice(args);
            let env = &env;
            async move { env.run(&a).await }
        };
        let json = run("json").await;
        let csv = run("csv").await;
        let table = run("table").await;
        assert_eq!(json.code, csv.code, "{what}: exit codes differ");
        assert_eq!(json.code, table.code, "{what}: exit codes differ");
        let value = json.json();
        check_csv(&what, &value, &csv.stdout);
        check_table(&what, &value, &table.stdout);
    }
}

#[test]
fn the_checks_see_a_disagreement() {
    let json: Value =
        serde_json::json!([{"tenantId": "t1", "status": "granted", "ok": true, "end": null}]);
    check_csv("ok", &json, "tenantId,status,ok,end\nt1,granted,true,\n");
    let wrong = std::panic::catch_unwind(|| {
        check_csv("x", &json, "tenant,result,ok,end\nt1,✓ granted,true,-\n")
    });
    assert!(
        wrong.is_err(),
        "CSV headers that are not the JSON keys pass"
    );
    let table = "┌\n│ TENANT ID ┆ STATUS    ┆ OK │\n╞\n│ t1        ┆ ✓ granted ┆ ✓  │\n└\n";
    check_table("ok", &json, table);
    let contradicting = "┌\n│ TENANT ID ┆ STATUS ┆ OK │\n╞\n│ t1        ┆ failed ┆ ✗  │\n└\n";
    let wrong = std::panic::catch_unwind(|| check_table("x", &json, contradicting));
    assert!(wrong.is_err(), "a table that contradicts JSON passes");
}
