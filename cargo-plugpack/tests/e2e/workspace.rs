//! Package selection and config precedence on a virtual workspace with two plugins and a
//! plain library (`tests/fixtures/multi-plugin`).

use crate::support::*;

/// `package --profile dev --message-format json EXTRA…`: the `bundle-written` messages.
fn bundles_written(extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--profile", "dev", "--message-format", "json"];
    args.extend_from_slice(extra);
    let out = run_ok(&mut on_fixture("package", "multi-plugin", &args));
    json_lines(&out)
        .into_iter()
        .filter(|l| l["reason"] == "bundle-written")
        .collect()
}

#[test]
fn workspace_packages_every_plugin_and_skips_plain_libraries() {
    let bundles = bundles_written(&["--workspace"]);
    let names: Vec<&str> = bundles
        .iter()
        .map(|b| b["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alpha", "beta-plugin"],
        "metadata.plugpack.name renames beta; common is no plugin"
    );
    for b in &bundles {
        let path = std::path::Path::new(b["path"].as_str().unwrap());
        // Not release: the profile is in the default file name (issue 11).
        assert!(
            path.ends_with(format!(
                "plugpack/{}-0.2.0-dev.oci.tar",
                b["plugin"].as_str().unwrap()
            )),
            "{path:?}"
        );
        assert!(path.exists());
    }
    // Package config overrides workspace config; the workspace's applies where the package is silent.
    let owner = |b: &serde_json::Value| {
        b["info"]["manifests"][0]["annotations"]["com.example.owner"].clone()
    };
    assert_eq!(owner(&bundles[0]), "workspace");
    assert_eq!(owner(&bundles[1]), "beta-team");
}

#[test]
fn default_members_of_a_virtual_workspace_are_all_plugins_found() {
    let names: Vec<String> = bundles_written(&[])
        .iter()
        .map(|b| b["plugin"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "beta-plugin"]);
}

#[test]
fn exclude_and_package_select_plugins() {
    let names: Vec<String> = bundles_written(&["--workspace", "--exclude", "beta"])
        .iter()
        .map(|b| b["plugin"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alpha"]);
    let dir = tempdir();
    let out = dir.path().join("beta.oci.tar");
    let bundles = bundles_written(&["-p", "beta", "-o", out.to_str().unwrap()]);
    assert_eq!(bundles.len(), 1);
    assert!(out.exists());
}

#[test]
fn selecting_a_plain_library_or_one_output_for_two_plugins_is_a_usage_error() {
    let err = run_fails(
        &mut on_fixture("build", "multi-plugin", &["-p", "common"]),
        2,
    );
    assert!(
        err.contains("package `common`") && err.contains("does not build a cdylib"),
        "{err}"
    );
    let dir = tempdir();
    let out = dir.path().join("both.oci.tar");
    let err = run_fails(
        &mut on_fixture(
            "package",
            "multi-plugin",
            &["--workspace", "-o", out.to_str().unwrap()],
        ),
        2,
    );
    assert!(
        err.contains("-o/--output FILE needs exactly one selected plugin"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn output_directory_receives_every_plugins_bundle_under_its_default_name() {
    // Issue 10: `-o DIR/` (created) and `-o DIR` (existing) mean "into this directory".
    let dir = tempdir();
    let new_dir = format!("{}/bundles/", dir.path().display());
    let bundles = bundles_written(&["--workspace", "-o", &new_dir]);
    let paths: Vec<&str> = bundles
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    let expected = [
        dir.path().join("bundles/alpha-0.2.0-dev.oci.tar"),
        dir.path().join("bundles/beta-plugin-0.2.0-dev.oci.tar"),
    ];
    assert_eq!(
        paths,
        expected
            .iter()
            .map(|p| p.to_str().unwrap())
            .collect::<Vec<_>>()
    );
    for p in &expected {
        run_ok(plugpack().args(["inspect", "-q"]).arg(p));
    }
    let existing = dir.path().join("bundles");
    let again = bundles_written(&["-p", "alpha", "-o", existing.to_str().unwrap()]);
    assert_eq!(again[0]["path"], paths[0]);
}
