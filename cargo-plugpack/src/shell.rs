//! Terminal output in cargo's style: right-aligned green status verbs and yellow warnings on
//! stderr; results on stdout (one JSON object per line with `--message-format json`).
//!
//! Human output never passes a control character through: strings from bundles, advisories,
//! manifests and key files are untrusted (an annotation `ESC[2J` would clear the screen, a
//! newline could forge a line), so commands wrap each one in [`escape`], and every line the
//! shell writes goes through the same function once more (keeping only its own line
//! breaks). JSON output is left to serde, which escapes control characters itself.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use plugpack_core::Reporter;
use serde::Serialize;

use crate::cli::{ColorChoice, MessageFormat, OutputFormat};

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();

/// An untrusted string made safe for a terminal: control characters (C0, DEL, C1, so also
/// newlines and tabs) and Unicode bidirectional overrides become visible escapes (`\n`,
/// `\t`, `\r`, `\u{1b}`, `\u{202e}`); everything else is unchanged.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// Like [`escape`] but keeps `\n`: for whole messages whose line breaks are our own.
fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_newlines && c == '\n'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push_str(&format!("\\u{{{:x}}}", u32::from(other))),
        }
    }
    Cow::Owned(out)
}

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
            // Document formats of `sbom`, `report`, `notices`, `diff`: their messages are
            // human-readable.
            MessageFormat::CyclonedxJson
            | MessageFormat::SpdxJson
            | MessageFormat::Html
            | MessageFormat::Markdown
            | MessageFormat::Text => OutputFormat::Human,
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
        let message = err.to_string();
        let mut out = format!(
            "{} {}",
            self.styled(ERROR, "error:"),
            escape_lines(&message)
        );
        let mut source = err.source();
        while let Some(cause) = source {
            out.push_str(&format!(
                "\n\nCaused by:\n  {}",
                escape_lines(&cause.to_string()).replace('\n', "\n  ")
            ));
            source = cause.source();
        }
        let _ = writeln!(std::io::stderr(), "{out}");
    }

    /// Prints one `error: …` line on stderr (a finding, not a failure of the command).
    pub fn error_line(&self, message: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "{} {}",
            self.styled(ERROR, "error:"),
            escape_lines(message)
        );
    }

    /// Writes one line of human output to stdout.
    pub fn out(&self, line: &str) -> std::io::Result<()> {
        writeln!(std::io::stdout().lock(), "{}", escape_lines(line))
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
        let _ = writeln!(std::io::stderr(), "{verb} {}", escape_lines(message));
    }

    fn begin(&self, label: &str) {
        if self.quiet {
            return;
        }
        // indicatif draws nothing when stderr is not a terminal (CI logs stay clean).
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_message(escape_lines(label).into_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = self.spinner.lock() {
            *slot = Some(bar);
        }
    }

    fn progress(&self, done: u64, total: u64) {
        let Ok(slot) = self.spinner.lock() else {
            return;
        };
        let Some(bar) = slot.as_ref() else {
            return;
        };
        // The spinner of `begin` becomes a byte bar once the step reports byte counts.
        if bar.length() != Some(total) {
            bar.set_length(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} {bar:24} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
            ) {
                bar.set_style(style);
            }
        }
        bar.set_position(done);
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
            "{} {}",
            self.styled(WARN, "warning:"),
            escape_lines(message)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_control_characters_visible() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
        assert_eq!(escape(hostile), "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J");
        assert_eq!(
            escape("a\nb\tc\rd\u{7f}e\u{9b}f"),
            "a\\nb\\tc\\rd\\u{7f}e\\u{9b}f"
        );
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert!(matches!(escape("plain — ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(escape_lines("one\ntwo\u{1b}[2J"), "one\ntwo\\u{1b}[2J");
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert!(
                !escape(&c.to_string()).chars().any(char::is_control),
                "{c:?}"
            );
        }
    }
}
