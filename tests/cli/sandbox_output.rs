//! Snapshots of every command's output (table and JSON) on the built-in sandbox world, run in
//! the order a partner would: authorize, status, customers, domains, map, import, suggest,
//! consent, audit, doctor. They pin what csp prints today, so a change to it shows in review.
//! What legitimately varies (times, dates relative to now, ports, temp paths, request ids) is
//! filtered out.

use crate::support::*;

/// What varies between runs, replaced before comparing.
fn filters(config_dir: &str) -> Vec<(String, String)> {
    vec![
        (regex_escape(config_dir), "[CONFIG_DIR]".into()),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})".into(),
            "[TIME]".into(),
        ),
        (r"\d{4}-\d{2}-\d{2}".into(), "[DATE]".into()),
        (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]".into()),
        (
            r"(?i)(correlation id|trace id|request id|client-request-id|Trace ID:|Correlation ID:) [0-9a-f-]{36}"
                .into(),
            "$1 [ID]".into(),
        ),
    ]
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

struct Snap {
    env: TestEnv,
    filters: Vec<(String, String)>,
}

impl Snap {
    async fn new() -> Snap {
        let env = TestEnv::new().await.env("CSP_SANDBOX", "1");
        let dir = env.config_dir().to_string_lossy().into_owned();
        Snap {
            filters: filters(&dir),
            env,
        }
    }

    /// Runs `args` in JSON and then table form, expects `code` of both, and snapshots stdout
    /// as `{name}_json` and `{name}_table`.
    async fn both(&self, name: &str, args: &[&str], code: i32) {
        let mut json = vec!["-o", "json"];
        json.extend_from_slice(args);
        let out = self.env.run(&json).await;
        out.assert_code(code);
        self.json(&format!("{name}_json"), &out);
        let out = self.env.run(args).await;
        out.assert_code(code);
        self.table(&format!("{name}_table"), &out.stdout);
    }

    fn filters(&self) -> Vec<(&str, &str)> {
        self.filters
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    /// A table (or the key: value form of one result), as printed.
    fn table(&self, name: &str, stdout: &str) {
        insta::with_settings!({filters => self.filters()}, {
            insta::assert_snapshot!(name, stdout);
        });
    }

    /// A table as a terminal shows it: wrapping may have split a request id from the words
    /// that name it, so every id that is not one of the sandbox's own (`5a4d…`) is replaced,
    /// whole or cut short by "…".
    fn terminal(&self, name: &str, text: &str) {
        const NOT_SANDBOX: &str = r"(?:[0-46-9a-f][0-9a-f]{7}|5[0-9b-f][0-9a-f]{6}|5a[0-35-9a-f][0-9a-f]{5}|5a4[0-9a-ce-f][0-9a-f]{4})";
        let mut filters = self.filters();
        let whole =
            format!(r"{NOT_SANDBOX}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}");
        let cut = format!(r"{NOT_SANDBOX}-[0-9a-f-]*…");
        filters.push((whole.as_str(), "[ID]"));
        filters.push((cut.as_str(), "[ID]…"));
        insta::with_settings!({filters => filters}, {
            insta::assert_snapshot!(name, text);
        });
    }

    /// JSON, one value per line so a change reads as a diff.
    fn json(&self, name: &str, out: &Output) {
        let value = out.json();
        insta::with_settings!({filters => self.filters()}, {
            insta::assert_json_snapshot!(name, value);
        });
    }

    fn write(&self, file: &str, text: &str) -> String {
        let path = self.env.config_dir().join(file);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

#[tokio::test]
async fn every_command_prints_what_it_printed_before_on_the_sandbox() {
    let s = Snap::new().await;
    s.both("authorize", &["authorize"], 0).await;
    s.both("status", &["status"], 0).await;
    s.both("customers", &["customers"], 0).await;
    s.both("customers_gdap", &["customers", "--gdap"], 0).await;
    s.both("domains", &["domains", "--customer", "contoso.com"], 0)
        .await;
    let out = s
        .env
        .run(&["map", "--customer", "Contoso", "--domain", "contoso.com"])
        .await;
    out.assert_code(0);
    s.table("map_table", &out.stdout);

    // Two files, so each form of the report shows rows that map and rows that fail.
    let first = s.write(
        "first.csv",
        "customer,domain\nFabrikam,fabrikam.com\nWingtip,wingtiptoys.com\nNobody,example.org\n",
    );
    let out = s.env.run(&["-o", "json", "map", "import", &first]).await;
    out.assert_code(5);
    s.json("map_import_json", &out);
    let second = s.write(
        "second.csv",
        "customer,domain\nAdatum,adatum.com\nCoho,cohowinery.com\nFabrikam,fabrikam.com\n",
    );
    let out = s.env.run(&["map", "import", &second]).await;
    out.assert_code(0);
    s.table("map_import_table", &out.stdout);
    s.both("map_list", &["map", "list"], 0).await;
    let clients = s.write(
        "clients.txt",
        "Tailspin Toys Ltd\nTrey Research\nAlpine Ski House GmbH\nBlue Yonder Airlines\n",
    );
    s.both("map_suggest", &["map", "suggest", "--clients", &clients], 0)
        .await;

    // The first consent grants, the second finds it done.
    let out = s.env.run(&["-o", "json", "consent", "--all"]).await;
    out.assert_code(5);
    s.json("consent_json", &out);
    let out = s.env.run(&["consent", "--all"]).await;
    out.assert_code(5);
    s.table("consent_table", &out.stdout);
    s.both("audit", &["audit"], 5).await;
    s.both("doctor", &["doctor"], 0).await;
}

/// The screens people look at first, as a terminal `width` columns wide shows them, with
/// what went to stderr after them (not drawn on the terminal, so no progress bar).
#[cfg(target_os = "linux")]
fn on_a_terminal(env: &TestEnv, width: u16, args: &[&str]) -> (String, String) {
    let stderr_file = env.config_dir().join("stderr.txt");
    let line = format!("{} 2>{}", args.join(" "), stderr_file.display());
    let mut cmd = env.on_terminal(&line, Some(width));
    // Colour is tested elsewhere; the snapshots stay readable.
    cmd.env("NO_COLOR", "1");
    let stdout = crate::support::terminal::shown(cmd);
    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    (stdout, stderr)
}

/// The identifiers a JSON result holds: ids, domains and timestamps, wherever they sit.
fn identifiers(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let is_identifier = k.ends_with("Id")
                    || k == "id"
                    || k.ends_with("domain")
                    || k.ends_with("Domain")
                    || k.ends_with("At")
                    || k.ends_with("Date")
                    || k.ends_with("DateTime");
                match v {
                    serde_json::Value::String(s) if is_identifier && s.len() > 6 => {
                        out.push(s.clone())
                    }
                    _ => identifiers(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| identifiers(v, out)),
        _ => {}
    }
}

/// A cell line that ends in part of an identifier is an identifier split across lines
/// (a cell shortened on purpose ends in "…" instead; a timestamp shown as its date is a
/// decoration, not a split).
fn split_identifiers(table: &str, ids: &[String]) -> Vec<String> {
    let mut split = Vec::new();
    for line in table.lines() {
        for cell in line.split(['│', '┆']) {
            let Some(word) = cell.split_whitespace().last() else {
                continue;
            };
            if word.len() >= 4
                && let Some(id) = ids.iter().find(|id| {
                    id.starts_with(word)
                        && *id != word
                        && !(word.len() == 10 && id[word.len()..].starts_with('T'))
                })
            {
                split.push(format!("{word:?} of {id:?} in {line:?}"));
            }
        }
    }
    split
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_main_screens_fit_100_and_200_columns_without_splitting_an_identifier() {
    let s = Snap::new().await;
    s.env.run(&["authorize"]).await.assert_code(0);
    let rows = s.write(
        "rows.csv",
        "customer,domain\nAdatum,adatum.com\nCoho,cohowinery.com\nContoso,contoso.com\nNorthwind,northwindtraders.com\nWoodgrove,woodgrovebank.com\n",
    );
    s.env.run(&["map", "import", &rows]).await.assert_code(0);
    s.env.run(&["consent", "--all"]).await.assert_code(5);

    let screens: &[(&str, &[&str])] = &[
        ("customers", &["customers"]),
        ("customers_gdap", &["customers", "--gdap"]),
        ("domains", &["domains", "--customer", "contoso.com"]),
        ("map_list", &["map", "list"]),
        ("consent", &["consent", "--all"]),
        ("audit", &["audit"]),
        ("gdap_list", &["gdap", "list"]),
        ("doctor", &["doctor"]),
    ];
    for (name, args) in screens {
        let mut json_args = vec!["-o", "json"];
        json_args.extend_from_slice(args);
        let mut ids = Vec::new();
        identifiers(&s.env.run(&json_args).await.json(), &mut ids);
        // doctor's checks hold only words and free text; every other screen has identifiers.
        assert!(
            *name == "doctor" || !ids.is_empty(),
            "{name}: no identifiers in its JSON"
        );
        for width in [100u16, 200] {
            let (table, stderr) = on_a_terminal(&s.env, width, args);
            assert!(table.contains('┆'), "{name} at {width}: no table: {table}");
            for line in table.lines() {
                assert!(
                    unicode_width::UnicodeWidthStr::width(line) <= usize::from(width),
                    "{name} at {width}: a line of {} columns:\n{table}",
                    unicode_width::UnicodeWidthStr::width(line)
                );
            }
            let split = split_identifiers(&table, &ids);
            assert!(split.is_empty(), "{name} at {width}: {split:#?}\n{table}");
            let notes: String = stderr
                .lines()
                .filter(|l| !l.starts_with("sandbox:"))
                .map(|l| format!("{l}\n"))
                .collect();
            s.terminal(
                &format!("terminal_{width}_{name}"),
                &format!("{table}--- stderr ---\n{notes}"),
            );
        }
    }
}

#[test]
fn the_split_check_sees_a_split_identifier_and_nothing_else() {
    let ids = vec![
        "5a4d0001-b54c-46ec-82fb-000000000006".to_string(),
        "alpineskihouse.onmicrosoft.com".to_string(),
    ];
    let split =
        "│ 5a4d0001-b54c-46ec-82fb-000 ┆ alpineskihouse.onmicrosoft.c │\n│ 000000006 ┆ om │";
    assert_eq!(split_identifiers(split, &ids).len(), 2);
    let whole = "│ 5a4d0001-b54c-46ec-82fb-000000000006 ┆ alpineskihouse.onmicrosoft.com │\n│ 5a4d0001-b54c… ┆ Alpine ┆ 2027-06-21 │";
    let ids = [ids, vec!["2027-06-21T06:10:31Z".to_string()]].concat();
    assert!(split_identifiers(whole, &ids).is_empty());
}
