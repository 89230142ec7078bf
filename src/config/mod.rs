//! Configuration: TOML → validated, immutable [`Config`] (the file's
//! model); diff for reload. The typed running configuration, with the
//! policies compiled, is `crate::running`, built on [`parse_with`]: this
//! module knows nothing of the policy compiler.
//!
//! Owned by whoever loads it (the `run`/`check` commands and the SIGHUP
//! handler); handed to the tasks as `Arc<Config>`. No task or channel of its
//! own. Errors are `file:line:col: message` lines ([`ConfigErrors`]):
//! syntax and type errors carry `toml`'s byte span; semantic errors are
//! placed by looking their key path up in a second, span-keeping parse
//! (`toml_edit::ImDocument`).

pub mod analytics_model;
pub mod diff;
pub mod error;
pub mod model;
pub mod policy_model;
mod validate;
pub mod values;

pub use diff::{diff, ConfigDiff, NeighborChange};
pub use error::{line_col, ConfigError, ConfigErrors, PathSeg};
pub use model::*;
pub use validate::{MAX_MD5_KEY_LEN, MIN_BFD_INTERVAL_MS, MIN_HOLD_TIME_S};
pub use values::BACKUP_NONE;

use error::Source;
use std::path::{Path, PathBuf};

/// A check run on the parsed configuration after validation (the policy
/// compiler): what it finds wrong, by key path (`policy.NAME...` paths are
/// placed in the policy file when there is one).
pub type Check<'a> = Box<dyn FnOnce(&Config) -> Vec<(Vec<PathSeg>, String)> + 'a>;

/// Reads and validates the configuration file at `path` (and the policy
/// file it names), without compiling the policies (`crate::running::load`).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, Box::new(|_| Vec::new()))
}

/// Reads the configuration file at `path` and [`parse_with`]s it.
pub fn load_with(path: &Path, check: Check<'_>) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_with(&text, &file, check),
        Err(e) => Err(ConfigErrors(vec![ConfigError {
            file,
            position: None,
            message: format!("cannot read file: {e}"),
        }])),
    }
}

/// Parses and validates configuration `text` (and the policy file it
/// names) without compiling the policies: `crate::running::parse` does
/// both.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    parse_with(text, file, Box::new(|_| Vec::new()))
}

/// Parses and validates configuration `text` named `file` (used in messages,
/// and to resolve a `policy = "FILE"` path relative to it), then runs
/// `check` on it; every error of both is placed at its `file:line:col`.
pub fn parse_with(text: &str, file: &str, check: Check<'_>) -> Result<Config, ConfigErrors> {
    let main = Source::new(file, text.to_string());
    let mut cfg: Config =
        toml::from_str(text).map_err(|e| ConfigErrors(vec![serde_error(&main, &e)]))?;

    let mut errors = Vec::new();
    // Where the policies' key paths are to be looked up.
    let mut policy_src: Option<Source> = None;
    // False when the policy file could not be read: references are not checked.
    let mut policies_known = true;
    match &cfg.policy {
        PolicySource::None => {}
        PolicySource::Inline(map) => cfg.policies = map.clone(),
        PolicySource::File(rel) => {
            let resolved = resolve(file, rel);
            let name = resolved.display().to_string();
            match std::fs::read_to_string(&resolved) {
                Ok(ptext) => {
                    let src = Source::new(&name, ptext);
                    match toml::from_str::<PolicyFile>(&src.text) {
                        Ok(pf) => cfg.policies = pf.policy,
                        Err(e) => {
                            errors.push(serde_error(&src, &e));
                            policies_known = false;
                        }
                    }
                    policy_src = Some(src);
                }
                Err(e) => {
                    errors.push(main.at(
                        &[PathSeg::Key("policy".into())],
                        format!("cannot read policy file {name}: {e}"),
                    ));
                    policies_known = false;
                }
            }
            cfg.policy_file = Some(resolved);
        }
    }

    errors.extend(resolve_files(&mut cfg, file, &main));
    errors.extend(validate::validate(&cfg, &main, policies_known));
    for (path, message) in check(&cfg) {
        let in_policy = matches!(path.first(), Some(PathSeg::Key(k)) if k == "policy");
        let src = match (&policy_src, in_policy) {
            (Some(s), true) => s,
            _ => &main,
        };
        errors.push(src.at(&path, message));
    }
    if errors.is_empty() {
        cfg.warnings = validate::warnings(&cfg, &main);
        Ok(cfg)
    } else {
        // Main file first, then the policy file; each in file order.
        errors.sort_by(|a, b| {
            (a.file != main.file, &a.file, a.position).cmp(&(
                b.file != main.file,
                &b.file,
                b.position,
            ))
        });
        errors.dedup();
        Err(ConfigErrors(errors))
    }
}

/// The files the configuration names besides the policy file: the event
/// file's path (resolved, checked in `validate`) and each neighbor's
/// customer cone (`customer_asns` plus its AS-SET file, read here; a bad
/// line is an error at its own `file:line:col`).
fn resolve_files(cfg: &mut Config, file: &str, main: &Source) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    cfg.events.path = cfg.events.file.as_deref().map(|f| resolve(file, f));
    for (i, n) in cfg.neighbors.iter_mut().enumerate() {
        let mut cone: Option<Vec<u32>> = n.customer_asns.clone();
        if let Some(rel) = &n.customer_as_set_file {
            let resolved = resolve(file, rel);
            let name = resolved.display().to_string();
            match std::fs::read_to_string(&resolved) {
                Ok(text) => match parse_as_set(&text) {
                    Ok(asns) => cone.get_or_insert_with(Vec::new).extend(asns),
                    Err((span, msg)) => {
                        errors.push(Source::new(&name, text).at_span(span, msg));
                    }
                },
                Err(e) => errors.push(main.at(
                    &[
                        PathSeg::Key("neighbors".into()),
                        PathSeg::Index(i),
                        PathSeg::Key("customer_as_set_file".into()),
                    ],
                    format!("cannot read AS-SET file {name}: {e}"),
                )),
            }
        }
        if let Some(c) = &mut cone {
            c.sort_unstable();
            c.dedup();
        }
        n.customer_cone = cone;
    }
    errors
}

/// `rel` resolved against the directory of the config file `file`.
fn resolve(file: &str, rel: &str) -> PathBuf {
    let rel = Path::new(rel);
    if rel.is_absolute() {
        return rel.to_path_buf();
    }
    match Path::new(file).parent() {
        Some(dir) => dir.join(rel),
        None => rel.to_path_buf(),
    }
}

/// A `toml` error at its span, with serde's wording made operator-friendly:
/// `` unknown field `x`, expected … `` becomes `unknown key "x"`.
fn serde_error(src: &Source, e: &toml::de::Error) -> ConfigError {
    let mut msg = rewrite_message(e.message());
    if msg.is_empty() {
        // `toml` gives no text for some syntax errors (a control character
        // in a comment): never print an empty message.
        msg = "invalid TOML here (a control character, or a syntax error)".to_string();
    }
    if msg.starts_with("invalid IP address syntax") {
        // The parser's message does not say which value: quote it, and
        // what was expected.
        if let Some(v) = src.snippet(e.span()) {
            msg = format!("invalid IP address or prefix {v}: {}", ip_expectation(v));
        }
    }
    if msg == "unknown key \"policy\"" {
        // The top-level key written after a [table] header lands in that table.
        msg.push_str(" (policy = \"FILE\" is a top-level key: put it before the first [table])");
    }
    src.at_span(e.span(), msg)
}

fn rewrite_message(msg: &str) -> String {
    let msg = msg.trim().replace('\n', "; ");
    let quoted = |s: &str| s.replace('`', "\"");
    for (from, to) in [
        ("unknown field `", "unknown key \""),
        ("missing field `", "missing key \""),
    ] {
        if let Some(rest) = msg.strip_prefix(from) {
            if let Some(end) = rest.find('`') {
                let key = &rest[..end];
                let hint = nearest(key, rest[end..].split('`').skip(2).step_by(2))
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_default();
                return format!("{to}{key}\"{hint}");
            }
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        return quoted(&format!("unknown value `{rest}"));
    }
    let mut msg = quoted(&msg);
    for (ty, range) in [
        ("u32", "0..=4294967295"),
        ("u16", "0..=65535"),
        ("u8", "0..=255"),
    ] {
        if let Some(head) = msg.strip_suffix(&format!("expected {ty}")) {
            msg = format!("{head}expected an integer in {range}");
        }
    }
    msg
}

/// What is wrong with a quoted address or prefix that did not parse.
fn ip_expectation(quoted: &str) -> String {
    let v = quoted.trim_matches('"');
    if let Some((addr, len)) = v.split_once('/') {
        let max = if addr.contains(':') { 128 } else { 32 };
        if addr.parse::<std::net::IpAddr>().is_ok() {
            return match len.parse::<u32>() {
                Ok(n) if n > max => format!("length {n} > {max}"),
                _ => format!("expected a prefix length 0..={max} after the /"),
            };
        }
    }
    "expected an address such as 192.0.2.1 or 2001:db8::1, or a prefix such as 192.0.2.0/24".into()
}

/// The candidate closest to `key` by edit distance, when close enough to
/// be a typo (at most 2 edits, or a third of the key).
fn nearest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (key.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(key, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_without_text_still_says_something() {
        let e = parse("# a\u{1}b\n[router]\n", "c.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("c.toml:1:") && !e.ends_with(": "), "{e}");
    }

    #[test]
    fn an_unknown_key_suggests_the_nearest_known_one() {
        assert_eq!(
            rewrite_message(
                "unknown field `remte_as`, expected one of `name`, `remote_as`, `role`"
            ),
            "unknown key \"remte_as\" (did you mean \"remote_as\"?)"
        );
        assert_eq!(
            rewrite_message("unknown field `colour`, expected one of `name`, `remote_as`"),
            "unknown key \"colour\"",
            "nothing close: no guess"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn serde_messages_are_rewritten_to_operator_wording() {
        assert_eq!(
            rewrite_message("unknown field `remte_as`, expected one of `name`, `address`"),
            "unknown key \"remte_as\""
        );
        assert_eq!(
            rewrite_message("missing field `asn`"),
            "missing key \"asn\""
        );
        assert_eq!(
            rewrite_message("unknown variant `peer`, expected `transit`"),
            "unknown value \"peer\", expected \"transit\""
        );
        assert_eq!(
            rewrite_message("invalid type: string \"1\", expected u16"),
            "invalid type: string \"1\", expected an integer in 0..=65535"
        );
    }

    #[test]
    fn unknown_key_is_reported_at_the_key() {
        let text =
            "[router]\nasn = 8075\nrouter_id = \"192.0.2.1\"\nlocation = \"a\"\nlocaton = \"b\"\n";
        let e = parse(text, "c.toml").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("c.toml:5:1: unknown key \"locaton\" (did you mean \"location\"?)")
        );
    }

    #[test]
    fn semantic_errors_are_all_collected() {
        let text = "[router]\nasn = 0\nrouter_id = \"0.0.0.0\"\nlocation = \"a\"\n";
        let errs = parse(text, "c.toml").err().unwrap_or_default();
        assert_eq!(errs.0.len(), 3, "{errs}");
    }

    #[test]
    fn an_unreadable_file_is_an_error_without_position() {
        let e = load(Path::new("/nonexistent/coldpotato.toml"))
            .err()
            .unwrap_or_default();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/coldpotato.toml: cannot read file"),
            "{e}"
        );
    }
}
