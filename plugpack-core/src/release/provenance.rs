//! Collecting SLSA provenance for a release from the workspace and the CI environment
//! (GitHub Actions, GitLab CI, anything else), all through [`Ctx`].

use std::collections::BTreeMap;

use camino::Utf8Path;

use crate::ctx::Ctx;
use crate::process::git_stdout as git;
use crate::project::FeatureFlags;
use crate::sign::{
    BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, ExternalParameters, GENERIC_BUILDER_ID,
    Provenance, ResourceDescriptor, RunDetails,
};
use crate::types::{Sha256Digest, rfc3339};

/// What the build was asked to do, for `buildDefinition.externalParameters`.
#[derive(Debug, Clone, Default)]
pub struct ProvenanceParams {
    /// The release tag, when there is one.
    pub tag: Option<String>,
    /// Targets built.
    pub targets: Vec<String>,
    /// Cargo profile, when known.
    pub profile: Option<String>,
    /// Feature flags given.
    pub features: FeatureFlags,
    /// When the build started (seconds since 1970; `SOURCE_DATE_EPOCH` wins when set).
    pub started_on: i64,
}

/// SLSA provenance for a build of the workspace at `root` (HEAD commit `revision`).
pub fn collect(
    ctx: &Ctx,
    root: &Utf8Path,
    revision: Option<&str>,
    params: &ProvenanceParams,
) -> Provenance {
    let epoch = ctx.source_date_epoch().ok().flatten();
    let started = epoch.unwrap_or(params.started_on);
    let finished = epoch.unwrap_or_else(crate::sign::now);
    let mut features = params.features.features.clone();
    features.sort();
    features.dedup();
    let mut feature_flags = Vec::new();
    if params.features.all_features {
        feature_flags.push("all-features".to_owned());
    }
    if params.features.no_default_features {
        feature_flags.push("no-default-features".to_owned());
    }
    let mut targets = params.targets.clone();
    targets.sort();
    targets.dedup();
    let mut resolved = Vec::new();
    resolved.push(source(ctx, root, revision, params.tag.as_deref()));
    if let Some(lock) = cargo_lock(root) {
        resolved.push(lock);
    }
    if let Some(rustc) = toolchain(ctx, root) {
        resolved.push(rustc);
    }
    let (builder, invocation_id) = builder(ctx);
    Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.to_owned(),
            external_parameters: ExternalParameters {
                tag: params.tag.clone(),
                targets,
                profile: params.profile.clone(),
                features,
                feature_flags,
            },
            resolved_dependencies: resolved,
        },
        run_details: RunDetails {
            builder: Builder { id: builder },
            metadata: BuildMetadata {
                invocation_id,
                started_on: Some(rfc3339(started)),
                finished_on: Some(rfc3339(finished.max(started))),
            },
        },
    }
}

/// Provenance for `sign --provenance` of an existing bundle: the workspace is the git
/// checkout containing `dir` (else `dir` itself), the targets are the bundle's, the tag is
/// resolved as `release` does (not checked), the profile and features are unknown.
pub fn for_bundle(ctx: &Ctx, dir: &Utf8Path, bundle: &Utf8Path) -> crate::Result<Provenance> {
    let started = crate::sign::now();
    let info = crate::oci::inspect(&crate::oci::read_bundle(bundle)?)?;
    let root = git(dir, &["rev-parse", "--show-toplevel"])
        .map(camino::Utf8PathBuf::from)
        .unwrap_or_else(|| dir.to_owned());
    let revision = git(&root, &["rev-parse", "HEAD"]);
    let params = ProvenanceParams {
        tag: super::tag::resolve(None, ctx, &root).map(|(t, _)| t),
        targets: info
            .manifests
            .iter()
            .filter_map(|m| m.target.clone())
            .collect(),
        profile: None,
        features: FeatureFlags::default(),
        started_on: started,
    };
    Ok(collect(ctx, &root, revision.as_deref(), &params))
}

fn var<'a>(ctx: &'a Ctx, key: &str) -> Option<&'a str> {
    ctx.var(key).filter(|v| !v.is_empty())
}

/// The source repository and commit: the CI's repository URL, else `git remote get-url
/// origin`, else the workspace path; the ref is the CI's, else `refs/tags/<tag>`.
fn source(
    ctx: &Ctx,
    root: &Utf8Path,
    revision: Option<&str>,
    tag: Option<&str>,
) -> ResourceDescriptor {
    let (repo, git_ref, commit) = if var(ctx, "GITHUB_ACTIONS") == Some("true") {
        let repo = match (var(ctx, "GITHUB_SERVER_URL"), var(ctx, "GITHUB_REPOSITORY")) {
            (Some(server), Some(repo)) => Some(format!("{server}/{repo}")),
            _ => None,
        };
        (
            repo,
            var(ctx, "GITHUB_REF").map(str::to_owned),
            var(ctx, "GITHUB_SHA").map(str::to_owned),
        )
    } else if var(ctx, "GITLAB_CI") == Some("true") {
        let git_ref = var(ctx, "CI_COMMIT_TAG")
            .map(|t| format!("refs/tags/{t}"))
            .or_else(|| var(ctx, "CI_COMMIT_BRANCH").map(|b| format!("refs/heads/{b}")));
        (
            var(ctx, "CI_PROJECT_URL").map(str::to_owned),
            git_ref,
            var(ctx, "CI_COMMIT_SHA").map(str::to_owned),
        )
    } else {
        (None, None, None)
    };
    let repo = repo
        .or_else(|| git(root, &["remote", "get-url", "origin"]).map(|u| normalize_remote(&u)))
        .unwrap_or_else(|| format!("file://{root}"));
    let git_ref = git_ref.or_else(|| tag.map(|t| format!("refs/tags/{t}")));
    let commit = commit.or_else(|| revision.map(str::to_owned));
    let uri = match git_ref {
        Some(r) => format!("git+{repo}@{r}"),
        None => format!("git+{repo}"),
    };
    let mut digest = BTreeMap::new();
    if let Some(commit) = commit {
        digest.insert("gitCommit".to_owned(), commit);
    }
    ResourceDescriptor {
        name: None,
        uri: Some(uri),
        digest,
        annotations: BTreeMap::new(),
    }
}

/// `git@host:o/r.git` → `ssh://git@host/o/r.git`, `/srv/r.git` → `file:///srv/r.git`;
/// other URLs unchanged (minus credentials
/// in `https://user:token@host/…`, which must never reach a signed statement).
fn normalize_remote(url: &str) -> String {
    let url = url.trim();
    if !url.contains("://") {
        // `host:path` (scp syntax) unless the part before `:` is a path; else a local path.
        return match url.split_once(':') {
            Some((host, path)) if !host.contains('/') => format!("ssh://{host}/{path}"),
            _ => format!("file://{url}"),
        };
    }
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && !userinfo.contains('/')
        && userinfo.contains(':')
    {
        return format!("{scheme}://{host}");
    }
    url.to_owned()
}

fn cargo_lock(root: &Utf8Path) -> Option<ResourceDescriptor> {
    let (digest, _) = Sha256Digest::of_file(&root.join("Cargo.lock")).ok()?;
    Some(ResourceDescriptor {
        name: Some("Cargo.lock".to_owned()),
        uri: None,
        digest: [("sha256".to_owned(), digest.hex())].into_iter().collect(),
        annotations: BTreeMap::new(),
    })
}

/// `rustc -vV`: `pkg:generic/rustc@<release>`, its commit hash, every field as annotation.
fn toolchain(ctx: &Ctx, root: &Utf8Path) -> Option<ResourceDescriptor> {
    let out = ctx.rustc_stdout(root, &["-vV".to_owned()]).ok()?;
    let mut annotations = BTreeMap::new();
    let mut lines = out.lines();
    annotations.insert("version".to_owned(), lines.next()?.trim().to_owned());
    for line in lines {
        if let Some((k, v)) = line.split_once(": ") {
            annotations.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    let release = annotations.get("release")?.clone();
    let mut digest = BTreeMap::new();
    if let Some(commit) = annotations
        .get("commit-hash")
        .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        digest.insert("gitCommit".to_owned(), commit.clone());
    }
    Some(ResourceDescriptor {
        name: Some("rustc".to_owned()),
        uri: Some(format!("pkg:generic/rustc@{release}")),
        digest,
        annotations,
    })
}

/// The builder id and invocation id from the CI environment.
fn builder(ctx: &Ctx) -> (String, Option<String>) {
    if var(ctx, "GITHUB_ACTIONS") == Some("true") {
        let server = var(ctx, "GITHUB_SERVER_URL").unwrap_or("https://github.com");
        let id = match var(ctx, "GITHUB_WORKFLOW_REF") {
            Some(workflow) => format!("{server}/{workflow}"),
            None => format!("{server}/actions/runner"),
        };
        let invocation = match (var(ctx, "GITHUB_REPOSITORY"), var(ctx, "GITHUB_RUN_ID")) {
            (Some(repo), Some(run)) => Some(format!(
                "{server}/{repo}/actions/runs/{run}/attempts/{}",
                var(ctx, "GITHUB_RUN_ATTEMPT").unwrap_or("1")
            )),
            _ => None,
        };
        return (id, invocation);
    }
    if var(ctx, "GITLAB_CI") == Some("true") {
        let server = var(ctx, "CI_SERVER_URL").unwrap_or("https://gitlab.com");
        let id = match (var(ctx, "CI_PROJECT_PATH"), var(ctx, "CI_RUNNER_ID")) {
            (Some(project), Some(runner)) => format!("{server}/{project}/-/runners/{runner}"),
            _ => format!("{server}/gitlab-runner"),
        };
        return (id, var(ctx, "CI_JOB_URL").map(str::to_owned));
    }
    (
        var(ctx, "PLUGPACK_BUILDER_ID")
            .unwrap_or(GENERIC_BUILDER_ID)
            .to_owned(),
        var(ctx, "PLUGPACK_INVOCATION_ID").map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ctx(vars: &[(&str, &str)]) -> Ctx {
        Ctx::with_env(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            Arc::new(crate::ctx::SilentReporter),
        )
    }

    #[test]
    fn builder_ids_come_from_the_ci_environment() {
        let gh = ctx(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/plugin"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/plugin/.github/workflows/release.yml@refs/tags/v1.0.0",
            ),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]);
        assert_eq!(
            builder(&gh),
            (
                "https://github.com/acme/plugin/.github/workflows/release.yml@refs/tags/v1.0.0"
                    .to_owned(),
                Some("https://github.com/acme/plugin/actions/runs/42/attempts/2".to_owned())
            )
        );
        let gl = ctx(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example"),
            ("CI_PROJECT_PATH", "g/p"),
            ("CI_RUNNER_ID", "7"),
            ("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/9"),
        ]);
        assert_eq!(
            builder(&gl),
            (
                "https://gitlab.example/g/p/-/runners/7".to_owned(),
                Some("https://gitlab.example/g/p/-/jobs/9".to_owned())
            )
        );
        assert_eq!(builder(&ctx(&[])).0, GENERIC_BUILDER_ID);
    }

    #[test]
    fn remotes_lose_credentials_and_scp_syntax() {
        assert_eq!(
            normalize_remote("git@github.com:acme/plugin.git"),
            "ssh://git@github.com/acme/plugin.git"
        );
        assert_eq!(
            normalize_remote("https://x-access-token:secret@github.com/acme/plugin"),
            "https://github.com/acme/plugin"
        );
        assert_eq!(
            normalize_remote("/srv/git/plugin.git"),
            "file:///srv/git/plugin.git"
        );
        assert_eq!(
            normalize_remote("https://github.com/acme/plugin.git\n"),
            "https://github.com/acme/plugin.git"
        );
    }
}
