//! The typed running configuration: what the daemon runs with after a load
//! or a reload. [`Running`] holds the validated file model
//! ([`crate::config::Config`]), its policies compiled once
//! ([`crate::policy::PolicySet`], shared with the engine by `Arc`) and the
//! values the file writes as text, parsed (the `[[originate]]` communities).
//!
//! Module order: `config` (file → validated model) knows nothing of the
//! policy compiler; `policy` compiles from the model; this module joins
//! them, so that `running::load` reports every error of both at its
//! `file:line:col`. Owned by whoever loads (the `run`/`check` commands, the
//! SIGHUP handler); handed to the engine in `Input::Reload`.

use crate::config::error::cfg_path;
use crate::config::values::{parse_community, parse_large_community};
use crate::config::{Config, ConfigErrors, PathSeg};
use crate::policy::{PolicyError, PolicySet};
use crate::wire::{Community, LargeCommunity, Prefix};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// A loaded configuration with everything it names compiled and parsed.
#[derive(Debug, Clone)]
pub struct Running {
    pub config: Arc<Config>,
    pub policy: Arc<PolicySet>,
    /// `[[originate]]`, parsed.
    pub originate: Arc<[Originate]>,
}

/// One of our own prefixes (`[[originate]]`) with its values parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Originate {
    pub prefix: Prefix,
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    pub next_hop: Option<IpAddr>,
}

/// Reads, validates and compiles the configuration at `path` (and the
/// policy file it names).
pub fn load(path: &Path) -> Result<Running, ConfigErrors> {
    let mut parts = None;
    let cfg = crate::config::load_with(path, compile_into(&mut parts))?;
    finish(cfg, parts, &path.display().to_string())
}

/// [`load`] from `text`, named `file` in messages.
pub fn parse(text: &str, file: &str) -> Result<Running, ConfigErrors> {
    let mut parts = None;
    let cfg = crate::config::parse_with(text, file, compile_into(&mut parts))?;
    finish(cfg, parts, file)
}

/// An error at a key path of the configuration (what a check returns).
type PlacedError = (Vec<PathSeg>, String);

/// What the check compiles and parses from a validated [`Config`].
type Parts = (PolicySet, Arc<[Originate]>);

/// The policy compiler and the `[[originate]]` parser as a `config` check,
/// so their errors come out at `file:line:col` with the rest; what they
/// built lands in `out`.
fn compile_into(out: &mut Option<Parts>) -> crate::config::Check<'_> {
    Box::new(move |cfg: &Config| {
        let policy = PolicySet::compile(cfg);
        let originate = parse_originate(cfg);
        match (policy, originate) {
            (Ok(set), Ok(orig)) => {
                *out = Some((set, orig));
                Vec::new()
            }
            (policy, originate) => {
                let mut errs: Vec<_> = policy
                    .err()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| (e.path, e.message))
                    .collect();
                errs.extend(originate.err().unwrap_or_default());
                errs
            }
        }
    })
}

/// The `[[originate]]` entries with their community strings parsed; an
/// error names the entry's field (validation already checked the same
/// strings, so this only fails on a config built in code).
fn parse_originate(cfg: &Config) -> Result<Arc<[Originate]>, Vec<PlacedError>> {
    let mut errs = Vec::new();
    let mut out = Vec::with_capacity(cfg.originate.len());
    for (i, o) in cfg.originate.iter().enumerate() {
        let mut communities = Vec::new();
        for (j, c) in o.communities.iter().enumerate() {
            match parse_community(c) {
                Ok(c) => communities.push(c),
                Err(m) => errs.push((cfg_path!["originate", i, "communities", j], m)),
            }
        }
        let mut large_communities = Vec::new();
        for (j, c) in o.large_communities.iter().enumerate() {
            match parse_large_community(c) {
                Ok(c) => large_communities.push(c),
                Err(m) => errs.push((cfg_path!["originate", i, "large_communities", j], m)),
            }
        }
        out.push(Originate {
            prefix: o.prefix.trunc(),
            communities,
            large_communities,
            next_hop: o.next_hop,
        });
    }
    if errs.is_empty() {
        Ok(out.into())
    } else {
        Err(errs)
    }
}

/// `originate[0].communities[1]`: a key path as a config built in code
/// names it (it has no file to point into).
fn dotted(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) if out.is_empty() => out.push_str(k),
            PathSeg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn finish(cfg: Config, parts: Option<Parts>, file: &str) -> Result<Running, ConfigErrors> {
    match parts {
        Some((policy, originate)) => Ok(Running {
            config: Arc::new(cfg),
            policy: Arc::new(policy),
            originate,
        }),
        // Not reached: parse_with returned Ok, so the check ran and built them.
        None => Err(ConfigErrors(vec![crate::config::ConfigError {
            file: file.to_string(),
            position: None,
            message: "policies were not compiled".into(),
        }])),
    }
}

/// Why a configuration built in code (not loaded) cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RunningError {
    #[error("policy does not compile: {}", join(.0))]
    Policy(Vec<PolicyError>),
    #[error("{field}: {message}")]
    Originate { field: String, message: String },
}

fn join(errs: &[PolicyError]) -> String {
    errs.iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Running {
    /// Compiles and parses a configuration built or edited in code (tests,
    /// the lab); a loaded one comes from [`load`] or [`parse`].
    pub fn new(cfg: Config) -> Result<Running, RunningError> {
        let policy = PolicySet::compile(&cfg).map_err(RunningError::Policy)?;
        Running::with_policy(cfg, policy)
    }

    fn with_policy(cfg: Config, policy: PolicySet) -> Result<Running, RunningError> {
        let originate = parse_originate(&cfg).map_err(|errs| {
            let (path, message) = errs.into_iter().next().unwrap_or_default();
            RunningError::Originate {
                field: dotted(&path),
                message,
            }
        })?;
        Ok(Running {
            config: Arc::new(cfg),
            policy: Arc::new(policy),
            originate,
        })
    }
}

/// The configuration's fields read through the running configuration.
impl std::ops::Deref for Running {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[router]
asn = 65000
router_id = "192.0.2.1"
location = "ams"

[[locations]]
name = "ams"

[[originate]]
prefix = "198.51.100.0/24"
communities = ["8075:8007"]
large_communities = ["8075:1:2"]
"#;

    #[test]
    fn originate_is_parsed_once_at_load() {
        let r = parse(BASE, "c.toml").expect("valid");
        assert_eq!(r.originate.len(), 1);
        assert_eq!(r.originate[0].communities.len(), 1);
        assert_eq!(r.originate[0].large_communities.len(), 1);
    }

    #[test]
    fn a_bad_originate_community_in_a_file_is_placed() {
        let text = BASE.replace("\"8075:8007\"", "\"8075:x\"");
        let errs = parse(&text, "c.toml").expect_err("bad community");
        let shown = errs.to_string();
        assert!(shown.starts_with("c.toml:"), "{shown}");
        assert!(shown.contains("8075:x"), "{shown}");
        assert!(!shown.starts_with(':'), "{shown}");
    }

    #[test]
    fn a_bad_originate_community_built_in_code_names_its_field() {
        let mut cfg = parse(BASE, "c.toml")
            .expect("valid")
            .config
            .as_ref()
            .clone();
        cfg.originate[0].communities.push("nope".into());
        let err = Running::new(cfg).expect_err("bad community");
        assert!(
            err.to_string().starts_with("originate[0].communities[1]: "),
            "{err}"
        );
    }
}
