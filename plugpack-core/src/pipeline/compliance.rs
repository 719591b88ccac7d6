//! `notices` and the notices referrer of `package`.

use crate::Result;
use crate::build::{self, BuildOptions, BuildOutput};
use crate::ctx::Ctx;
use crate::depset;
use crate::notices::{self, Notices};
use crate::oci::Attachment;
use crate::project::{LoadOptions, Plugin, Project};

/// The notices of `plugin`, from the dependency sets of its artifacts in `build`.
pub(super) fn plugin_notices(
    project: &Project,
    build: &BuildOutput,
    plugin: &Plugin,
    ctx: &Ctx,
) -> Result<Notices> {
    let mut sets = Vec::new();
    for artifact in build.artifacts.iter().filter(|a| a.plugin == plugin.name) {
        sets.push(depset::compute_exact(project, build, artifact, ctx)?);
    }
    let sets: Vec<&depset::DepSet> = sets.iter().collect();
    Ok(notices::collect(&plugin.name, &plugin.version, &sets))
}

/// The notices document as a referrer of each of `targets`' plugin manifests (the same bytes
/// for every target, like the audit report).
pub(super) fn notices_attachments(notices: &Notices, targets: &[&str]) -> Vec<Attachment> {
    let bytes = notices.to_json();
    targets
        .iter()
        .map(|target| Attachment {
            target: (*target).to_owned(),
            artifact_type: notices::MEDIA_TYPE.to_owned(),
            media_type: notices::MEDIA_TYPE.to_owned(),
            bytes: bytes.clone(),
            title: format!("{}-{}.notices.json", notices.plugin, notices.version),
            subject_annotations: Default::default(),
        })
        .collect()
}

/// `notices` on a project: builds (or, with `no_build`, reads the last build's record) and
/// collects each selected plugin's notices.
pub fn notices(
    load_options: &LoadOptions,
    build_options: &BuildOptions,
    no_build: bool,
    ctx: &Ctx,
) -> Result<Vec<Notices>> {
    let (project, build) = if no_build {
        build::record::load(ctx, load_options, build_options)?
    } else {
        super::load_and_build(load_options, build_options, true, ctx)?
    };
    project
        .plugins
        .iter()
        .map(|plugin| plugin_notices(&project, &build, plugin, ctx))
        .collect()
}
