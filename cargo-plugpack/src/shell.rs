//! Terminal output in cargo's style: right-aligned green status verbs and yellow warnings on
//! stderr; results on stdout (one JSON object per line with `--message-format json`).

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use plugpack_core::Reporter;
use serde::Serialize;

use crate::cli::{ColorChoice, MessageFormat, OutputFormat};

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();

/// Where the CLI's output goes.
#[derive(Debug, Clone)]
pub struct Shell {
    color: bool,
    quiet: bool,
    format: MessageFormat,
    spinner: std::sync::Arc<std::sync::Mutex<Option<indicatif::ProgressBar>>>,
}

impl Shell {
    /// Resolves colour from `--color`, then `CARGO_TERM_COLOR`, then whether stderr is a terminal.
    pub fn new(
        color: Option<ColorChoice>,
        env_color: Option<&str>,
        quiet: bool,
        format: MessageFormat,
    ) -> Self {
        let choice = color.unwrap_or(match env_color {
            Some("always") => ColorChoice::Always,
            Some("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        });
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal(),
        };
        Self {
            color,
            quiet,
            format,
            spinner: Default::default(),
        }
    }

    /// Whether stderr output is coloured (`--color`, `CARGO_TERM_COLOR`, terminal).
    pub fn color(&self) -> bool {
        self.color
    }

    /// `--color` value to forward to cargo.
    pub fn cargo_color(&self) -> &'static str {
        if self.color { "always" } else { "never" }
    }

    /// The selected message format.
    pub fn format(&self) -> OutputFormat {
        // Only `audit` writes SARIF; every other command answers `sarif` with JSON lines.
        match self.format {
            MessageFormat::Human => OutputFormat::Human,
            MessageFormat::Json | MessageFormat::Sarif => OutputFormat::Json,
        }
    }

    /// The format exactly as requested (`audit` honours `sarif`).
    pub fn requested_format(&self) -> MessageFormat {
        self.format
    }

    fn styled(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// Prints `error: …` with its cause chain on stderr.
    pub fn error(&self, err: &(dyn std::error::Error + 'static)) {
        let mut out = format!("{} {err}", self.styled(ERROR, "error:"));
        let mut source = err.source();
        while let Some(cause) = source {
            out.push_str(&format!(
                "\n\nCaused by:\n  {}",
                cause.to_string().replace('\n', "\n  ")
            ));
            source = cause.source();
        }
        let _ = writeln!(std::io::stderr(), "{out}");
    }

    /// Prints one `error: …` line on stderr (a finding, not a failure of the command).
    pub fn error_line(&self, message: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "{} {message}",
            self.styled(ERROR, "error:")
        );
    }

    /// Writes one line of human output to stdout.
    pub fn out(&self, line: &str) -> std::io::Result<()> {
        writeln!(std::io::stdout().lock(), "{line}")
    }

    /// Writes one JSON message (`{"reason": …, …}`) to stdout.
    pub fn json<T: Serialize>(&self, reason: &str, value: &T) -> std::io::Result<()> {
        let mut value = serde_json::to_value(value).map_err(std::io::Error::other)?;
        if let Some(map) = value.as_object_mut() {
            let mut with_reason = serde_json::Map::new();
            with_reason.insert(
                "reason".to_owned(),
                serde_json::Value::String(reason.to_owned()),
            );
            with_reason.extend(std::mem::take(map));
            value = serde_json::Value::Object(with_reason);
        }
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, &value).map_err(std::io::Error::other)?;
        writeln!(stdout)
    }
}

impl Reporter for Shell {
    fn status(&self, verb: &str, message: &str) {
        if self.quiet {
            return;
        }
        let verb = self.styled(STATUS, &format!("{verb:>12}"));
        let _ = writeln!(std::io::stderr(), "{verb} {message}");
    }

    fn begin(&self, label: &str) {
        if self.quiet {
            return;
        }
        // indicatif draws nothing when stderr is not a terminal (CI logs stay clean).
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = self.spinner.lock() {
            *slot = Some(bar);
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.spinner.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn warn(&self, message: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "{} {message}",
            self.styled(WARN, "warning:")
        );
    }
}
