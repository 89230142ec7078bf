//! Logging set-up for the binary: human lines or one JSON object per line
//! on stderr, at the level `--log-level` gives (else `RUST_LOG`, else the
//! command's default).
//!
//! In JSON every field is top-level: the event's own and those of the spans
//! it happens in, so a line about a session always has `neighbor` at the
//! same place (`{"timestamp":…,"level":"WARN","target":…,"neighbor":"rr1",
//! "message":"session down",…}`), whether the field came from the
//! per-neighbor span or from the event.
//!
//! The filter is reloadable: [`set_level`] replaces it in the running
//! process (`coldpotato log-level`).

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Installs the global logger. `level` (`--log-level`: `error`, `warn`,
/// `info`, `debug`, `trace` or any `RUST_LOG` directive) wins over
/// `RUST_LOG`, which wins over `default`.
pub fn init(format: Format, level: Option<&str>, default: &str) {
    let filter = match level {
        Some(l) => tracing_subscriber::EnvFilter::new(l),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
    };
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // The filter is reloadable (`set_level`); the reload layer's type
    // depends on the format, hence the handle boxed per branch.
    let _ = match format {
        Format::Human => {
            let b = b
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter_reloading();
            let handle = b.reload_handle();
            b.try_init().map(|()| {
                set_reloader(Box::new(move |f| {
                    handle.reload(f).map_err(|e| e.to_string())
                }))
            })
        }
        Format::Json => {
            let b = b
                .fmt_fields(JsonFields::new())
                .event_format(FlatJson)
                .with_filter_reloading();
            let handle = b.reload_handle();
            b.try_init().map(|()| {
                set_reloader(Box::new(move |f| {
                    handle.reload(f).map_err(|e| e.to_string())
                }))
            })
        }
    };
}

/// Replaces the installed filter; set once by [`init`].
type Reloader = Box<dyn Fn(tracing_subscriber::EnvFilter) -> Result<(), String> + Send + Sync>;

static RELOADER: std::sync::OnceLock<Reloader> = std::sync::OnceLock::new();

fn set_reloader(r: Reloader) {
    let _ = RELOADER.set(r);
}

/// Why the log level could not be changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogLevelError {
    #[error("invalid log directive {directive:?}: {error} (use error, warn, info, debug, trace or a RUST_LOG directive such as info,coldpotato::session=debug)")]
    Invalid { directive: String, error: String },
    #[error("this process did not install a reloadable logger")]
    NotReloadable,
    #[error("cannot change the log level: {0}")]
    Reload(String),
}

/// Replaces the running log filter with `directive` (`coldpotato
/// log-level`, `PUT /api/v1/log-level`), as `--log-level` would have set it.
pub fn set_level(directive: &str) -> Result<(), LogLevelError> {
    let filter = parse_level(directive)?;
    let reload = RELOADER.get().ok_or(LogLevelError::NotReloadable)?;
    reload(filter).map_err(LogLevelError::Reload)
}

/// A filter from a level or a `RUST_LOG` directive; refuses one that does
/// not parse (where `EnvFilter::new` would silently drop the bad part).
pub fn parse_level(directive: &str) -> Result<tracing_subscriber::EnvFilter, LogLevelError> {
    let d = directive.trim();
    let invalid = |error: String| LogLevelError::Invalid {
        directive: directive.to_string(),
        error,
    };
    if d.is_empty() {
        return Err(invalid("empty".into()));
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(d)
        .map_err(|e| invalid(e.to_string()))
}

/// One JSON object per event with span fields lifted to the top level.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut map = Map::new();
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        map.insert("timestamp".into(), Value::String(ts));
        let meta = event.metadata();
        map.insert("level".into(), Value::String(meta.level().to_string()));
        map.insert("target".into(), Value::String(meta.target().to_string()));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>() {
                    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(fields) {
                        map.extend(o);
                    }
                }
            }
        }
        event.record(&mut Fields(&mut map));
        writeln!(writer, "{}", Value::Object(map))
    }
}

/// Records an event's fields into a JSON map.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), Value::String(v.into()));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0
            .insert(f.name().into(), Value::String(format!("{v:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_parse_and_garbage_is_refused() {
        for ok in ["info", "debug", "warn,coldpotato::session=debug", " trace "] {
            assert!(parse_level(ok).is_ok(), "{ok}");
        }
        for bad in ["", "   ", "coldpotato=loud", "[x"] {
            assert!(
                matches!(parse_level(bad), Err(LogLevelError::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
