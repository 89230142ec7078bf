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

use crate::config::values::{parse_community, parse_large_community};
use crate::config::{Config, ConfigErrors};
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
    let mut policy = None;
    let cfg = crate::config::load_with(path, compile_into(&mut policy))?;
    finish(cfg, policy)
}

/// [`load`] from `text`, named `file` in messages.
pub fn parse(text: &str, file: &str) -> Result<Running, ConfigErrors> {
    let mut policy = None;
    let cfg = crate::config::parse_with(text, file, compile_into(&mut policy))?;
    finish(cfg, policy)
}

/// The policy compiler as a `config` check: the compiled set lands in `out`.
fn compile_into(out: &mut Option<PolicySet>) -> crate::config::Check<'_> {
    Box::new(move |cfg: &Config| match PolicySet::compile(cfg) {
        Ok(set) => {
            *out = Some(set);
            Vec::new()
        }
        Err(errs) => errs.into_iter().map(|e| (e.path, e.message)).collect(),
    })
}

fn finish(cfg: Config, policy: Option<PolicySet>) -> Result<Running, ConfigErrors> {
    match policy {
        Some(p) => Running::with_policy(cfg, p).map_err(|e| {
            ConfigErrors(vec![crate::config::ConfigError {
                file: String::new(),
                position: None,
                message: e.to_string(),
            }])
        }),
        // parse_with returned Ok, so the check ran and compiled.
        None => Err(ConfigErrors(vec![crate::config::ConfigError {
            file: String::new(),
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
    #[error("[[originate]] {prefix}: {message}")]
    Originate {
        prefix: ipnet::IpNet,
        message: String,
    },
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
        let originate = cfg
            .originate
            .iter()
            .map(|o| {
                let bad = |message: String| RunningError::Originate {
                    prefix: o.prefix,
                    message,
                };
                Ok(Originate {
                    prefix: o.prefix.trunc(),
                    communities: o
                        .communities
                        .iter()
                        .map(|c| parse_community(c))
                        .collect::<Result<_, _>>()
                        .map_err(bad)?,
                    large_communities: o
                        .large_communities
                        .iter()
                        .map(|c| parse_large_community(c))
                        .collect::<Result<_, _>>()
                        .map_err(bad)?,
                    next_hop: o.next_hop,
                })
            })
            .collect::<Result<Vec<_>, RunningError>>()?;
        Ok(Running {
            config: Arc::new(cfg),
            policy: Arc::new(policy),
            originate: originate.into(),
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
