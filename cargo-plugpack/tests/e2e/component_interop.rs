//! Interop for WebAssembly components (issue 17): a wasmtime host, and `wasm-tools`
//! cross-checks. `#[ignore]`d unless run with `--include-ignored` (`PLUGPACK_INTEROP=1`,
//! `.ci/test`); a missing tool fails them.

use std::path::Path;

use plugpack_core::guard::{AbiExpectation, Reason, check_file};

use crate::component::{abi_diff, fixture_dir, read_json, utf8, variant, with_wasi};
use crate::support;

/// A wasmtime host (wasmtime's Python package, which embeds the same runtime through its C
/// API, with component and WASI p2 support): guard first, then instantiate and call only
/// what passed; the runtime agrees that the refused variant cannot link.
#[test]
#[ignore = "interop: needs python3 with wasmtime (.ci/requirements.txt); run by .ci/test"]
fn component_host_guards_then_instantiates_with_wasmtime() {
    support::require_tool("python3");
    let dir = support::tempdir();
    let (base_doc, base) = variant("base", dir.path());
    let (_, import_added) = variant("import-added", dir.path());
    let host_world = with_wasi(
        AbiExpectation::from_wit(&utf8(&fixture_dir().join("wit")), Some("plugin")).unwrap(),
        &read_json(&base_doc),
    );
    const HOST: &str = r#"
import sys, wasmtime
from wasmtime import component as c
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
store.set_wasi(wasmtime.WasiConfig())
linker = c.Linker(engine)
linker.add_wasip2()
logged = []
with linker.root() as root:
    with root.add_instance("plugpack:host/log@1.0.0") as log:
        log.add_func("log", lambda store, level, message: logged.append((level, message)))
try:
    instance = linker.instantiate(store, c.Component.from_file(engine, sys.argv[1]))
except Exception as e:
    print("link-error:", e)
    sys.exit(3)
api = instance.get_export_index(store, "plugpack:fixture/api@1.2.0")
func = lambda name: instance.get_func(store, instance.get_export_index(store, name, api))
p = c.Record(); p.x = 3; p.y = -4
print(func("describe")(store, p, "green", ["a", "b"]).payload)
print(func("area")(store, 2))
print(logged)
"#;
    let run_host = |path: &Path| {
        std::process::Command::new("python3")
            .arg("-c")
            .arg(HOST)
            .arg(path)
            .output()
            .unwrap()
    };
    check_file(&utf8(&base), &host_world).expect("the component fits the host's world");
    let out = run_host(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3,-4 Color::Green a+b\n12\n[('debug', 'describe')]"
    );
    // Refused by the guard before instantiation; wasmtime agrees it cannot link.
    let refused = check_file(&utf8(&import_added), &host_world).unwrap_err();
    assert!(
        refused.reasons.iter().any(|r| matches!(
            r,
            Reason::UnprovidedImport { name, .. } if name == "plugpack:host/clock@1.0.0"
        )),
        "{refused}"
    );
    let out = run_host(&import_added);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("link-error") && said.contains("now"),
        "{said}"
    );
}

/// `wasm-tools component wit` prints the world our document describes: its output, read
/// back as a host world, gives the same functions, signatures, hashes and WIT types.
#[test]
#[ignore = "interop: needs wasm-tools (.ci/setup.sh); run by .ci/test"]
fn wasm_tools_prints_the_world_the_document_describes() {
    support::require_tool("wasm-tools");
    let dir = support::tempdir();
    for feature in ["base", "http"] {
        let (doc_path, wasm) = variant(feature, dir.path());
        let out = std::process::Command::new("wasm-tools")
            .args(["component", "wit"])
            .arg(&wasm)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = dir.path().join(format!("{feature}-printed.wit"));
        std::fs::write(&printed, &out.stdout).unwrap();
        let ours = read_json(&doc_path);
        let theirs =
            plugpack_core::fingerprint::component::describe_wit(&utf8(&printed), None).unwrap();
        let theirs = serde_json::to_value(&theirs).unwrap();
        for key in ["exports", "imports", "wit", "fingerprint"] {
            assert_eq!(ours[key], theirs[key], "{feature}: {key} differs");
        }
        // And in its own words: the world's imports and exports, and a few definitions.
        let text = String::from_utf8(out.stdout).unwrap();
        for item in ours["wit"]["imports"].as_array().unwrap() {
            let name = item["name"].as_str().unwrap();
            assert!(
                text.contains(&format!("import {name};")),
                "{feature}: {name}"
            );
        }
        assert!(
            text.contains("export plugpack:fixture/api@1.2.0;"),
            "{text}"
        );
        assert!(text.contains("lookup: func(q: query) -> option<tuple<u32, access>>;"));
    }
}

/// `wasm-tools component semver-check --prev P --new N WIT` passes when a component of world
/// P can be used where world N is expected. With P = the changed plugin's world and N = the
/// world the host was built against, that is our question (a host built against the old
/// world loading the new plugin), so it fails exactly on our major verdicts, except where
/// its predicate differs (docs/components.md): it compares types invariantly (a case added
/// to a parameter-only variant fails: ours is minor) and takes versions on one track as
/// interchangeable (a newer import version passes: ours is a host requirement, major).
#[test]
#[ignore = "interop: needs wasm-tools (.ci/setup.sh); run by .ci/test"]
fn wasm_tools_semver_check_agrees_where_its_predicate_applies() {
    support::require_tool("wasm-tools");
    let dir = support::tempdir();
    let fixture = fixture_dir();
    let (base, _) = variant("base", dir.path());
    let cases = [
        ("export-removed", true),
        ("signature-changed", true),
        ("field-added", true),
        ("case-removed", true),
        ("method-removed", true),
        ("export-added", true),
        ("import-added", true),
        ("param-case-added", false),
        ("import-minor", false),
    ];
    for (feature, applies) in cases {
        // One WIT tree holding both worlds: the variant as plugpack:fixture@1.3.0, the base
        // (1.2.0) and the host packages as deps.
        let tree = dir.path().join(format!("semver-{feature}"));
        let variant_dir = fixture.join("variants").join(feature);
        std::fs::create_dir_all(tree.join("deps/base")).unwrap();
        std::fs::create_dir_all(tree.join("deps/host")).unwrap();
        let new_wit = std::fs::read_to_string(variant_dir.join("plugin.wit"))
            .unwrap()
            .replace("plugpack:fixture@1.2.0", "plugpack:fixture@1.3.0");
        std::fs::write(tree.join("plugin.wit"), new_wit).unwrap();
        std::fs::copy(
            fixture.join("wit/plugin.wit"),
            tree.join("deps/base/plugin.wit"),
        )
        .unwrap();
        std::fs::copy(
            fixture.join("wit/deps/host/host.wit"),
            tree.join("deps/host/host.wit"),
        )
        .unwrap();
        let variant_host = variant_dir.join("deps/host/host.wit");
        if std::fs::read(&variant_host).unwrap()
            != std::fs::read(fixture.join("wit/deps/host/host.wit")).unwrap()
        {
            let name = if feature == "import-minor" {
                "host-new"
            } else {
                "host"
            };
            std::fs::create_dir_all(tree.join("deps").join(name)).unwrap();
            std::fs::copy(&variant_host, tree.join("deps").join(name).join("host.wit")).unwrap();
        }
        let out = std::process::Command::new("wasm-tools")
            .args(["component", "semver-check", "--prev"])
            .arg("plugpack:fixture/plugin@1.3.0")
            .arg("--new")
            .arg("plugpack:fixture/plugin@1.2.0")
            .arg(&tree)
            .output()
            .unwrap();
        let theirs_breaking = !out.status.success();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("not semver-compatible"),
            "{feature}: {stderr}"
        );
        let (doc, _) = variant(feature, dir.path());
        let ours_major = abi_diff(&base, &doc)["verdict"] == "major";
        if applies {
            assert_eq!(ours_major, theirs_breaking, "{feature}: {stderr}");
        } else {
            assert_ne!(
                ours_major, theirs_breaking,
                "{feature}: the documented difference"
            );
        }
    }
}
