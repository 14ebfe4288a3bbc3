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
