//! The release packaging: cargo-binstall's templates in Cargo.toml, and the Homebrew, Scoop
//! and winget manifests that packaging/render fills in, name exactly the archives that
//! packaging/archive makes for every target the release workflow builds, each with its own
//! SHA-256. The scripts run for real here, on a fake SHA256SUMS; .ci/run validates the
//! rendered files further (Ruby syntax, Scoop's schema, YAML) and builds the Debian package.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Not Cargo.toml's version: nothing in a template may hard-code the version.
const VERSION: &str = "9.8.7";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bash(args: &[&str]) -> Output {
    Command::new("bash")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("bash runs")
}

/// The targets of the release workflow's build matrix (`- target: ...` lines).
fn workflow_targets() -> Vec<String> {
    let workflow = read(&repo().join(".github/workflows/release.yml"));
    let targets: Vec<String> = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- target: "))
        .map(|target| target.trim().to_string())
        .collect();
    assert!(targets.len() >= 5, "{targets:?}");
    targets
}

/// What packaging/common.sh says about a target's archive.
struct Archive {
    /// The archive's name without its extension, and the folder inside it.
    stem: String,
    /// tar.gz or zip.
    ext: String,
    /// csp or csp.exe.
    binary: String,
}

impl Archive {
    fn of(version: &str, target: &str) -> Archive {
        let out = bash(&[
            "-c",
            ". packaging/common.sh && archive_stem \"$1\" \"$2\" && archive_ext \"$2\" && binary_name \"$2\"",
            "common",
            version,
            target,
        ]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let [stem, ext, binary] = text.lines().collect::<Vec<_>>()[..] else {
            panic!("{text}")
        };
        Archive {
            stem: stem.into(),
            ext: ext.into(),
            binary: binary.into(),
        }
    }

    fn file(&self) -> String {
        format!("{}.{}", self.stem, self.ext)
    }
}

fn repository() -> String {
    let manifest: toml_edit::DocumentMut = read(&repo().join("Cargo.toml")).parse().unwrap();
    manifest["package"]["repository"]
        .as_str()
        .expect("Cargo.toml names the repository")
        .to_string()
}

fn release_url(version: &str, archive: &Archive) -> String {
    format!(
        "{}/releases/download/v{version}/{}",
        repository(),
        archive.file()
    )
}

/// A stand-in for the release's SHA-256 of a file.
fn fake_sha256(file: &str) -> String {
    Sha256::digest(file.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn binstall_templates_expand_to_the_release_archives_of_every_target() {
    let manifest: toml_edit::DocumentMut = read(&repo().join("Cargo.toml")).parse().unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let version = env!("CARGO_PKG_VERSION");
    let repo_url = repository();

    for target in workflow_targets() {
        // A per-target override wins over the default, as in cargo-binstall.
        let field = |key: &str| -> String {
            binstall
                .get("overrides")
                .and_then(|o| o.get(&target))
                .and_then(|o| o.get(key))
                .or_else(|| binstall.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("binstall has no {key} for {target}"))
                .to_string()
        };
        let expand = |template: String| -> String {
            let binary_ext = if target.contains("windows") {
                ".exe"
            } else {
                ""
            };
            let expanded = template
                .replace("{ repo }", &repo_url)
                .replace("{ version }", version)
                .replace("{ target }", &target)
                .replace("{ bin }", "csp")
                .replace("{ binary-ext }", binary_ext);
            assert!(!expanded.contains('{'), "unknown variable in {template}");
            expanded
        };

        let archive = Archive::of(version, &target);
        assert_eq!(
            expand(field("pkg-url")),
            release_url(version, &archive),
            "{target}"
        );
        assert_eq!(
            expand(field("bin-dir")),
            format!("{}/{}", archive.stem, archive.binary),
            "{target}"
        );
        let format = match archive.ext.as_str() {
            "tar.gz" => "tgz",
            other => other,
        };
        assert_eq!(field("pkg-fmt"), format, "{target}");
    }

    // The workflow makes its archives with the script whose names were checked above.
    let workflow = read(&repo().join(".github/workflows/release.yml"));
    assert!(workflow.contains("packaging/archive"), "{workflow}");
}

/// Writes a SHA256SUMS for `files` as sha256sum does: the first in binary mode (`*`), the
/// rest in text mode.
fn write_sums(dir: &Path, files: &[String]) -> PathBuf {
    let text: String = files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let mode = if i == 0 { '*' } else { ' ' };
            format!("{} {mode}{file}\n", fake_sha256(file))
        })
        .collect();
    let path = dir.join("SHA256SUMS");
    std::fs::write(&path, text).unwrap();
    path
}

fn render(version: &str, sums: &Path, out: &Path) -> Output {
    bash(&[
        "packaging/render",
        version,
        sums.to_str().unwrap(),
        out.to_str().unwrap(),
    ])
}

/// Every `https://` URL in `text`, in order.
fn urls(text: &str) -> Vec<&str> {
    text.match_indices("https://")
        .map(|(start, _)| {
            let rest = &text[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// Every run of exactly 64 hex digits in `text`, in order.
fn sha256s(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut start = None;
    for i in 0..=bytes.len() {
        let hex = i < bytes.len() && bytes[i].is_ascii_hexdigit();
        match (hex, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s == 64 {
                    found.push(&text[s..i]);
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

#[test]
fn rendered_manifests_link_every_release_archive_with_its_own_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let targets = workflow_targets();
    let archives: BTreeMap<String, Archive> = targets
        .iter()
        .map(|t| (t.clone(), Archive::of(VERSION, t)))
        .collect();
    let mut files: Vec<String> = archives.values().map(Archive::file).collect();
    // The release's SHA256SUMS lists the Debian packages too; render ignores them.
    files.push(format!("csp_{VERSION}-1_amd64.deb"));
    let sums = write_sums(dir.path(), &files);
    let out = dir.path().join("manifests");

    let result = render(VERSION, &sums, &out);
    assert!(result.status.success(), "{result:?}");

    // One rendered file per template (packaging/*/*.in), named as the template without .in.
    let templates: BTreeSet<String> = std::fs::read_dir(repo().join("packaging"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        .filter_map(|f| {
            let name = f.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".in").map(str::to_string)
        })
        .collect();
    let rendered: BTreeMap<String, String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| {
            let f = f.unwrap();
            (f.file_name().into_string().unwrap(), read(&f.path()))
        })
        .collect();
    assert_eq!(rendered.keys().cloned().collect::<BTreeSet<_>>(), templates);
    let listed: BTreeSet<String> = String::from_utf8(result.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            Path::new(line)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .into()
        })
        .collect();
    assert_eq!(listed, templates, "render lists the files it wrote");

    let url_to_target: BTreeMap<String, &str> = archives
        .iter()
        .map(|(t, a)| (release_url(VERSION, a), t.as_str()))
        .collect();
    let known_sums: BTreeSet<String> = files.iter().map(|f| fake_sha256(f)).collect();

    // Which targets each manifest downloads.
    let mut linked: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, text) in &rendered {
        assert!(!text.contains("{{"), "{name}:\n{text}");
        for sum in sha256s(text) {
            assert!(
                known_sums.contains(sum),
                "{name}: {sum} is no release file's"
            );
        }
        for url in urls(text) {
            if !url.contains("/releases/download/") {
                continue;
            }
            let target = url_to_target
                .get(url)
                .unwrap_or_else(|| panic!("{name} links {url}, which the release has not"));
            // The first SHA-256 after an archive's URL is that archive's.
            let at = text.find(url).unwrap();
            let next = sha256s(&text[at..]).first().copied();
            let file = archives[*target].file();
            assert_eq!(next, Some(fake_sha256(&file).as_str()), "{name}: {url}");
            linked.entry(name.as_str()).or_default().insert(target);
        }
    }

    // Homebrew installs the macOS and Linux archives; Scoop and winget the Windows one.
    let unix: BTreeSet<&str> = targets
        .iter()
        .map(String::as_str)
        .filter(|t| !t.contains("windows"))
        .collect();
    let windows: BTreeSet<&str> = targets
        .iter()
        .map(String::as_str)
        .filter(|t| t.contains("windows"))
        .collect();
    assert_eq!(linked["csp.rb"], unix);
    assert_eq!(linked["csp.json"], windows);
    assert_eq!(linked["csp-cli.csp.installer.yaml"], windows);
    let windows_target = *windows.iter().next().unwrap();
    let windows_archive = &archives[windows_target];

    // Homebrew: the formula's version.
    let formula = &rendered["csp.rb"];
    assert!(
        formula.contains(&format!("version \"{VERSION}\"")),
        "{formula}"
    );

    // Scoop: the version, and the binary inside the archive's folder.
    let scoop: serde_json::Value = serde_json::from_str(&rendered["csp.json"]).unwrap();
    assert_eq!(scoop["version"], VERSION);
    let windows_manifest = &scoop["architecture"]["64bit"];
    assert_eq!(
        windows_manifest["extract_dir"],
        windows_archive.stem.as_str()
    );
    assert_eq!(scoop["bin"], windows_archive.binary.as_str());

    // winget: three manifests of one package and version; the binary inside the archive.
    for kind in ["", ".installer", ".locale.en-US"] {
        let name = format!("csp-cli.csp{kind}.yaml");
        let text = &rendered[&name];
        assert!(
            text.lines().any(|l| l == "PackageIdentifier: csp-cli.csp"),
            "{name}:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l == format!("PackageVersion: \"{VERSION}\"")),
            "{name}:\n{text}"
        );
    }
    let installer = &rendered["csp-cli.csp.installer.yaml"];
    let relative = format!(
        "  - RelativeFilePath: {}\\{}",
        windows_archive.stem, windows_archive.binary
    );
    assert!(installer.lines().any(|l| l == relative), "{installer}");
}

#[test]
fn render_refuses_a_missing_or_malformed_sha256_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep"), "keep me").unwrap();
    let archives: Vec<Archive> = workflow_targets()
        .iter()
        .map(|t| Archive::of(VERSION, t))
        .collect();
    let windows = archives.iter().find(|a| a.ext == "zip").unwrap().file();
    let all: Vec<String> = archives.iter().map(Archive::file).collect();

    // The Windows archive is missing from SHA256SUMS.
    let without: Vec<String> = all.iter().filter(|f| **f != windows).cloned().collect();
    let sums = write_sums(dir.path(), &without);
    let result = render(VERSION, &sums, &out);
    assert!(!result.status.success(), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!("error: {windows} is not in")),
        "{stderr}"
    );

    // A line that is no SHA-256.
    let mut text = read(&write_sums(dir.path(), &all));
    text = text.replace(&fake_sha256(&windows), "deadbeef");
    std::fs::write(&sums, text).unwrap();
    let result = render(VERSION, &sums, &out);
    assert!(!result.status.success(), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("no SHA-256 for"), "{stderr}");

    // The tag instead of the version.
    let sums = write_sums(dir.path(), &all);
    let result = render(&format!("v{VERSION}"), &sums, &out);
    assert!(!result.status.success(), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("without the tag's leading v"), "{stderr}");

    // Each failure left the output folder as it was.
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| f.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["keep"]);
    assert_eq!(read(&out.join("keep")), "keep me");

    // And the same SHA256SUMS renders once the version is right.
    assert!(render(VERSION, &sums, &out).status.success());
}
