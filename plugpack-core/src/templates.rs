//! Templates embedded in the binary (so `new` works offline), rendered with minijinja in
//! strict mode: an undefined variable is an error, never an empty string.

use minijinja::{Environment, UndefinedBehavior};

/// `(name, source)` of every embedded template.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "cdylib/Cargo.toml",
        include_str!("../../templates/cdylib/Cargo.toml.j2"),
    ),
    (
        "cdylib/lib.rs",
        include_str!("../../templates/cdylib/lib.rs.j2"),
    ),
    (
        "wasm/Cargo.toml",
        include_str!("../../templates/wasm/Cargo.toml.j2"),
    ),
    (
        "wasm/lib.rs",
        include_str!("../../templates/wasm/lib.rs.j2"),
    ),
    (
        "wasm/rust-toolchain.toml",
        include_str!("../../templates/wasm/rust-toolchain.toml.j2"),
    ),
    (
        "wasm/cargo-config.toml",
        include_str!("../../templates/wasm/cargo-config.toml.j2"),
    ),
    ("gitignore", include_str!("../../templates/gitignore.j2")),
    (
        "github/plugpack-release.yml",
        include_str!("../../templates/github/plugpack-release.yml.j2"),
    ),
    (
        "component/Cargo.toml",
        include_str!("../../templates/component/Cargo.toml.j2"),
    ),
    (
        "component/lib.rs",
        include_str!("../../templates/component/lib.rs.j2"),
    ),
    (
        "component/world.wit",
        include_str!("../../templates/component/world.wit.j2"),
    ),
    (
        "component/rust-toolchain.toml",
        include_str!("../../templates/component/rust-toolchain.toml.j2"),
    ),
    (
        "component/cargo-config.toml",
        include_str!("../../templates/component/cargo-config.toml.j2"),
    ),
];

/// A template failed to render (a bug in the template or its context).
#[derive(Debug, thiserror::Error)]
#[error("cannot render template `{name}`")]
pub struct RenderError {
    /// Template name.
    pub name: String,
    /// minijinja's error.
    #[source]
    pub source: minijinja::Error,
}

/// The environment with every embedded template loaded, strict about undefined values.
pub fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| RenderError {
                name: (*name).to_owned(),
                source,
            })?;
    }
    Ok(env)
}

/// Renders template `name` with `context`.
pub fn render(name: &str, context: minijinja::Value) -> Result<String, RenderError> {
    let err = |source| RenderError {
        name: name.to_owned(),
        source,
    };
    let env = environment()?;
    let template = env.get_template(name).map_err(err)?;
    let mut text = template.render(context).map_err(err)?;
    // Files end with exactly one newline whatever the renderer does with the template's.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_with_a_sample_context() {
        // The workflow template has its own context and keeps GitHub's `${{ … }}`
        // expressions; `github::init_ci`'s tests render it.
        for (name, _) in TEMPLATES.iter().filter(|(n, _)| !n.starts_with("github/")) {
            let out = render(
                name,
                minijinja::context! {
                    name => "demo-plugin",
                    symbol => "demo_plugin",
                    wit_name => "demo-plugin",
                },
            )
            .unwrap();
            assert!(!out.contains("{{"), "{name} left a placeholder");
        }
    }

    #[test]
    fn undefined_variables_are_errors() {
        assert!(render("cdylib/lib.rs", minijinja::context! { name => "x" }).is_err());
    }
}
