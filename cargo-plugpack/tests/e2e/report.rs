//! `cargo plugpack report` (issue 15): golden Markdown and JSON, determinism, escaping, and
//! the HTML page in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{self, repo_root, run_ok};

const HOST: &str = "x86_64-unknown-linux-gnu";

/// Copies `tests/fixtures/<fixture>` (without `target/`) to `dir/<fixture>`.
fn copy_fixture(fixture: &str, dir: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_name() == "target" {
                continue;
            }
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }
    let dest = dir.join(fixture);
    copy(&repo_root().join("tests/fixtures").join(fixture), &dest);
    dest
}

/// A target directory of its own for a copied fixture (inside the test's temporary
/// directory): its packages have the names of the original's, so a shared directory would
/// let tests running in parallel overwrite each other's artifacts.
fn own_target_dir(dir: &Path) -> PathBuf {
    dir.join("target")
}

/// `vuln-direct` (smallvec 1.6.0, RUSTSEC-2021-0003) packaged with the pinned advisory
/// database and an ignore with a reason, an expiry and a VEX justification.
fn advisory_bundle(dir: &Path) -> PathBuf {
    let ws = copy_fixture("audit-plugins", dir);
    std::fs::write(
        ws.join("plugpack.toml"),
        "[audit]\nmax-db-age = 100000\nignore = [\n  { id = \"RUSTSEC-2021-0003\", reason = \"insert_many is never called\", until = \"2999-12-31\", vex = \"code_not_reachable\" },\n]\n",
    )
    .unwrap();
    let out = dir.join("vuln-direct.oci.tar");
    let db = repo_root().join("tests/data/advisory-db");
    run_ok(
        support::plugpack()
            .arg("package")
            .arg("--manifest-path")
            .arg(ws.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(own_target_dir(dir))
            .args([
                "--locked",
                "--offline",
                "--profile",
                "dev",
                "-p",
                "vuln-direct",
            ])
            .args(["--target", HOST, "--db"])
            .arg(db)
            .arg("-o")
            .arg(&out),
    );
    out
}

fn report(bundle: &Path, extra: &[&str]) -> String {
    run_ok(support::plugpack().arg("report").arg(bundle).args(extra))
}

/// Replaces what depends on the toolchain (artifact bytes, their digests and sizes, the
/// rustc version) so the golden files hold across compilers.
fn normalize(text: &str, json: &Value) -> String {
    let mut out = text.to_owned();
    if let Some(tc) = json["reproducibility"]["toolchain"].as_str() {
        out = out.replace(tc, "<toolchain>");
    }
    for a in json["artifacts"].as_array().unwrap() {
        let size = a["size"].as_u64().unwrap().to_string();
        out = out.replace(&format!("| {size} |"), "| <size> |");
        out = out.replace(&format!("\"size\": {size}"), "\"size\": 0");
    }
    // sha256:<64 hex>
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("sha256:") {
        result.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let hex = rest.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex == 64 {
            result.push_str("<digest>");
            rest = &rest[64..];
        }
    }
    result.push_str(rest);
    result
}

/// Compares with `tests/data/report/<name>`; `PLUGPACK_BLESS=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let path = repo_root().join("tests/data/report").join(name);
    if std::env::var_os("PLUGPACK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (PLUGPACK_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs from the golden file (PLUGPACK_BLESS=1 rewrites it)"
    );
}

#[test]
fn report_markdown_and_json_match_the_golden_files_and_are_deterministic() {
    let dir = support::tempdir();
    let bundle = advisory_bundle(dir.path());
    let json_text = report(&bundle, &["--format", "json"]);
    let json: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(json["schema"], "plugpack-report/1");
    let adv = &json["advisories"][0];
    assert_eq!(adv["id"], "RUSTSEC-2021-0003");
    assert_eq!(adv["status"], "ignored");
    assert_eq!(adv["vex"], "code_not_reachable");
    assert_eq!(adv["cvss_score"], 9.8);
    assert_eq!(json["verification"]["status"], "not-verified");
    let markdown = report(&bundle, &["--format", "markdown"]);
    // Two runs, identical bytes (HTML too).
    assert_eq!(json_text, report(&bundle, &["--format", "json"]));
    assert_eq!(markdown, report(&bundle, &["--format", "markdown"]));
    assert_eq!(report(&bundle, &[]), report(&bundle, &[]));
    golden("vuln-direct.md", &normalize(&markdown, &json));
    golden("vuln-direct.json", &normalize(&json_text, &json));
}

#[test]
fn report_verifies_when_given_a_key_and_says_not_verified_otherwise() {
    let dir = support::tempdir();
    let key = dir.path().join("release");
    run_ok(support::plugpack().args(["keygen", "-o", key.to_str().unwrap()]));
    let bundle = support::package_fixture(
        "notices-plugin",
        dir.path(),
        &[
            "--target",
            HOST,
            "--key",
            dir.path().join("release.key").to_str().unwrap(),
        ],
    );
    let plain: Value = serde_json::from_str(&report(&bundle, &["--format", "json"])).unwrap();
    assert_eq!(plain["verification"]["status"], "not-verified");
    assert_eq!(plain["verification"]["signatures"], 1);
    let pubkey = dir.path().join("release.pub");
    let verified: Value = serde_json::from_str(&report(
        &bundle,
        &["--format", "json", "--key", pubkey.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(verified["verification"]["status"], "verified");
    assert_eq!(
        verified["verification"]["verified_signers"],
        plain["verification"]["key_ids"]
    );
    // Another key: rejected, shown, still exit 0 (the report is the product).
    let other = dir.path().join("other");
    run_ok(support::plugpack().args(["keygen", "-o", other.to_str().unwrap()]));
    let rejected: Value = serde_json::from_str(&report(
        &bundle,
        &[
            "--format",
            "json",
            "--key",
            dir.path().join("other.pub").to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert_eq!(rejected["verification"]["status"], "rejected");
    // Notices from the bundle: the NOTICE text and the missing licence text.
    let notice = rejected["licenses"]["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "notice-lib")
        .unwrap();
    assert!(
        notice["notice_texts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("The Fixture Foundation")
    );
    let bare = rejected["licenses"]["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bare-lib")
        .unwrap();
    assert_eq!(bare["license_text_missing"], true);
}

/// A workspace whose linked path crate declares a licence string full of HTML.
fn hostile_bundle(dir: &Path) -> PathBuf {
    let ws = copy_fixture("notices-plugin", dir);
    let manifest = ws.join("bare-lib/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "license = \"MIT\"",
        "license = \"<script>alert(1)</script></script><img src=x onerror=alert(2)>\"",
    );
    std::fs::write(&manifest, text).unwrap();
    let out = dir.join("hostile.oci.tar");
    run_ok(
        support::plugpack()
            .arg("package")
            .arg("--manifest-path")
            .arg(ws.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(own_target_dir(dir))
            .args([
                "--locked",
                "--offline",
                "--profile",
                "dev",
                "--target",
                HOST,
                "-o",
            ])
            .arg(&out),
    );
    out
}

#[test]
fn html_escapes_every_string_and_the_embedded_data_cannot_end_the_script() {
    let dir = support::tempdir();
    let bundle = hostile_bundle(dir.path());
    let html = report(&bundle, &[]);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    // Exactly one script element (the JSON data), and it parses back to the report.
    assert_eq!(html.matches("<script").count(), 1);
    let start = html
        .find("<script type=\"application/json\" id=\"report-data\">")
        .unwrap();
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let data: Value = serde_json::from_str(body).unwrap();
    let json: Value = serde_json::from_str(&report(&bundle, &["--format", "json"])).unwrap();
    assert_eq!(data, json);
    // Markdown escapes it too (GitHub renders inline HTML).
    let md = report(&bundle, &["--format", "markdown"]);
    assert!(!md.contains("<script>"));
    assert!(md.contains("&lt;script&gt;"));
}

#[test]
fn a_user_template_replaces_the_default_and_a_broken_one_is_a_usage_error() {
    let dir = support::tempdir();
    let bundle = support::package_fixture("notices-plugin", dir.path(), &["--target", HOST]);
    let tpl = dir.path().join("mine.html.j2");
    std::fs::write(
        &tpl,
        "<h1>{{ report.plugin.name }}</h1>{% for c in report.crates %}<p>{{ c.name }}</p>{% endfor %}",
    )
    .unwrap();
    let html = report(&bundle, &["--template", tpl.to_str().unwrap()]);
    assert!(html.starts_with("<h1>notices-plugin</h1>"));
    assert!(html.contains("<p>itoa</p>"));
    std::fs::write(&tpl, "{{ report.nope.deeper }}").unwrap();
    let err = support::run_fails(
        support::plugpack()
            .arg("report")
            .arg(&bundle)
            .arg("--template")
            .arg(&tpl),
        2,
    );
    assert!(err.contains("--template"), "{err}");
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, stderr).
fn chromium(page: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-default-apps",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Requests the page itself started for a non-`file:` URL, from a Chromium net log (the
/// browser's own background requests have another network isolation key).
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .filter(|u| !u.starts_with("file:"))
        .collect()
}

#[test]
#[ignore = "interop: needs Debian's chromium; run by .ci/test"]
fn chromium_renders_the_report_offline_with_every_fact_and_no_console_error() {
    support::require_tool("chromium");
    let dir = support::tempdir();
    // cdylib with an ignored advisory; wasm + host (multi-target, a non-SPDX licence, build-only
    // crates); a signed cdylib with NOTICE texts and a crate without licence text.
    let key = dir.path().join("k");
    run_ok(support::plugpack().args(["keygen", "-o", key.to_str().unwrap()]));
    let bundles = [
        advisory_bundle(dir.path()),
        support::package_fixture(
            "sbom-workspace",
            dir.path(),
            &["--target", "wasm32-wasip1", "--target", HOST],
        ),
        support::package_fixture(
            "notices-plugin",
            dir.path(),
            &[
                "--target",
                HOST,
                "--key",
                dir.path().join("k.key").to_str().unwrap(),
            ],
        ),
    ];
    let mut html = PathBuf::new();
    for (i, bundle) in bundles.iter().enumerate() {
        html = dir.path().join(format!("report-{i}.html"));
        run_ok(
            support::plugpack()
                .arg("report")
                .arg(bundle)
                .arg("-o")
                .arg(&html),
        );
        let json: Value = serde_json::from_str(&report(bundle, &["--format", "json"])).unwrap();
        let (dom, _) = chromium(&html, &["--dump-dom"]);
        assert!(dom.contains(json["plugin"]["name"].as_str().unwrap()));
        for a in json["advisories"].as_array().unwrap() {
            assert!(dom.contains(a["id"].as_str().unwrap()), "{a}");
        }
        for l in json["licenses"]["summary"].as_array().unwrap() {
            assert!(dom.contains(l["license"].as_str().unwrap()));
        }
        for c in json["crates"].as_array().unwrap() {
            assert!(dom.contains(c["name"].as_str().unwrap()));
            assert!(dom.contains(c["license"].as_str().unwrap()));
        }
        for t in json["plugin"]["targets"].as_array().unwrap() {
            assert!(dom.contains(&format!("Dependency tree for {}", t.as_str().unwrap())));
        }

        // Screenshot, with console messages logged: none may appear.
        let png = dir.path().join(format!("report-{i}.png"));
        let (_, stderr) = chromium(
            &html,
            &[
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1280,2400",
                &format!("--screenshot={}", png.display()),
            ],
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
        assert!(!stderr.contains(":CONSOLE"), "console messages: {stderr}");
    }
    let json: Value = serde_json::from_str(&report(&bundles[0], &["--format", "json"])).unwrap();
    assert_eq!(json["advisories"][0]["id"], "RUSTSEC-2021-0003");

    // No request leaves the page. A control page with one external image proves that the
    // net log check sees such a request (and the console check sees a CSP violation).
    let netlog = dir.path().join("report.netlog.json");
    chromium(
        &html,
        &["--dump-dom", &format!("--log-net-log={}", netlog.display())],
    );
    assert_eq!(page_requests(&netlog), Vec::<String>::new());
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><p>control</p><img src=\"http://plugpack-control.example/x.png\">",
    )
    .unwrap();
    let control_log = dir.path().join("control.netlog.json");
    chromium(
        &control,
        &[
            "--dump-dom",
            &format!("--log-net-log={}", control_log.display()),
        ],
    );
    assert_eq!(
        page_requests(&control_log),
        vec!["http://plugpack-control.example/x.png".to_owned()]
    );
    let csp = dir.path().join("csp.html");
    std::fs::write(
        &csp,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"><img src=\"http://plugpack-control.example/x.png\">",
    )
    .unwrap();
    let (_, stderr) = chromium(&csp, &["--enable-logging=stderr", "--v=0", "--dump-dom"]);
    assert!(stderr.contains(":CONSOLE"), "{stderr}");
}

#[test]
#[ignore = "interop: needs Debian's chromium; run by .ci/test"]
fn chromium_shows_a_hostile_licence_string_as_text() {
    support::require_tool("chromium");
    let dir = support::tempdir();
    let bundle = hostile_bundle(dir.path());
    let html = dir.path().join("hostile.html");
    run_ok(
        support::plugpack()
            .arg("report")
            .arg(&bundle)
            .arg("-o")
            .arg(&html),
    );
    let (dom, stderr) = chromium(&html, &["--enable-logging=stderr", "--v=0", "--dump-dom"]);
    // The DOM serializer escapes text nodes: the string is text, not elements.
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<img src=\"x\""));
    assert_eq!(dom.matches("<script").count(), 1);
    assert!(!stderr.contains(":CONSOLE"), "{stderr}");
}

/// A file that is not a bundle: `report`, `notices` and `diff` exit 5 naming it, and
/// `report -o` leaves nothing at the output path.
#[test]
fn a_file_that_is_not_a_bundle_is_invalid_input_and_nothing_is_written() {
    let dir = support::tempdir();
    let junk = dir.path().join("junk.oci.tar");
    std::fs::write(&junk, b"this is not a tarball").unwrap();
    let out = dir.path().join("report.html");
    let err = support::run_fails(
        support::plugpack()
            .arg("report")
            .arg(&junk)
            .arg("-o")
            .arg(&out),
        5,
    );
    assert!(err.contains("junk.oci.tar"), "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "junk.oci.tar")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let err = support::run_fails(support::plugpack().arg("notices").arg(&junk), 5);
    assert!(err.contains("junk.oci.tar"), "{err}");
    let err = support::run_fails(support::plugpack().arg("diff").arg(&junk).arg(&junk), 5);
    assert!(err.contains("junk.oci.tar"), "{err}");
}
