//! Operators' control of the running daemon: the requests the API's write
//! endpoints send (`messages::control`), carried out by the daemon's main
//! loop (`daemon::run` receives them beside the signals).
//!
//! Per-neighbor actions go to the neighbor's peer task
//! (`PeerHandle::control`), which alone knows the session's state; reload is
//! [`Daemon::reload`], the SIGHUP path; the log level is
//! `logging::set_level`. The daemon remembers which neighbors an operator
//! shut down, so that a reload replacing their task keeps them down.
//! Every action is a log line naming who asked and a `control` event
//! (`Input::Control`).

use super::Daemon;
use crate::api::auth::{self, Tokens, TokensFileError};
use crate::config::{ConfigDiff, NeighborChange};
use crate::messages::control::{
    ControlAction, ControlDone, ControlRefused, ControlRequest, NeighborAction,
};
use crate::messages::Input;
use crate::running::Running;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

impl Daemon {
    /// Carries out one request and answers it.
    pub(super) async fn control(&mut self, req: ControlRequest) {
        let ControlRequest { action, who, reply } = req;
        let name = match &action {
            ControlAction::Neighbor { name, .. } => Some(name.clone()),
            _ => None,
        };
        let result = self.carry_out(action.clone()).await;
        let what = action.as_str();
        let message = match &result {
            Ok(done) => {
                info!(by = %who, action = what, neighbor = name.as_deref(), "{} (asked by {who})", done.message);
                format!("{} (asked by {who})", done.message)
            }
            Err(e) => {
                warn!(by = %who, action = what, neighbor = name.as_deref(), "{what} refused: {e} (asked by {who})");
                format!("{what} refused: {e} (asked by {who})")
            }
        };
        // Unknown neighbors are not events about a neighbor.
        let known = name.filter(|n| self.peers.contains_key(n));
        let _ = self
            .engine
            .send(
                Input::Control {
                    action: what,
                    neighbor: known.map(|n| n.as_str().into()),
                    who,
                    message,
                }
                .into(),
            )
            .await;
        let _ = reply.send(result);
    }

    async fn carry_out(&mut self, action: ControlAction) -> Result<ControlDone, ControlRefused> {
        let what = action.as_str().to_string();
        match action {
            ControlAction::Neighbor { name, action } => {
                let entry = self
                    .peers
                    .get(&name)
                    .ok_or_else(|| ControlRefused::UnknownNeighbor(name.clone()))?;
                let shutdown = matches!(action, NeighborAction::Shutdown { .. });
                let enable = action == NeighborAction::Enable;
                let message = entry.handle.control(action).await?;
                if shutdown {
                    self.admin_down.insert(name.clone());
                } else if enable {
                    self.admin_down.remove(&name);
                }
                Ok(ControlDone {
                    ok: true,
                    action: what,
                    neighbor: Some(name),
                    message,
                    changes: Vec::new(),
                })
            }
            ControlAction::Reload => {
                let Some(path) = self.path.clone() else {
                    return Err(ControlRefused::Conflict(
                        "this daemon was started without a configuration file".into(),
                    ));
                };
                match self.reload().await {
                    Ok(changes) => Ok(ControlDone {
                        ok: true,
                        action: what,
                        neighbor: None,
                        message: match changes.len() {
                            0 => format!("{}: valid; no changes", path.display()),
                            n => format!("{}: valid; {n} changes applied", path.display()),
                        },
                        changes,
                    }),
                    Err(errs) => Err(ControlRefused::InvalidConfig(
                        errs.iter().map(|e| e.to_string()).collect(),
                    )),
                }
            }
            ControlAction::LogLevel { directive } => match crate::logging::set_level(&directive) {
                Ok(()) => Ok(ControlDone {
                    ok: true,
                    action: what,
                    neighbor: None,
                    message: format!("log level set to {}", directive.trim()),
                    changes: Vec::new(),
                }),
                Err(e @ crate::logging::LogLevelError::Invalid { .. }) => {
                    Err(ControlRefused::BadRequest(e.to_string()))
                }
                Err(e) => Err(ControlRefused::Failed(e.to_string())),
            },
        }
    }

    /// Re-reads the tokens file of `new` (every reload: its contents may
    /// have changed). A file that cannot be used keeps the tokens in force;
    /// the answer says so.
    pub(super) fn reload_tokens(&mut self, new: &Running) -> Option<String> {
        match load_tokens(new, self.path.as_deref()) {
            Ok(tokens) => {
                self.tokens.set(tokens);
                None
            }
            Err(e) => {
                warn!("reload: {e}; the tokens in force are kept");
                Some(format!(
                    "[api] tokens_file not reloaded: {e}; the tokens in force are kept"
                ))
            }
        }
    }
}

/// The tokens of `[api] tokens_file` (relative to the config file's
/// directory), `None` when not configured.
pub(super) fn load_tokens(
    cfg: &Running,
    config_path: Option<&Path>,
) -> Result<Option<Tokens>, TokensFileError> {
    let Some(file) = &cfg.api.tokens_file else {
        return Ok(None);
    };
    let path = resolve(file, config_path);
    let tokens = auth::load(&path)?;
    info!(path = %path.display(), tokens = tokens.len(), "API writes enabled");
    Ok(Some(tokens))
}

fn resolve(file: &Path, config_path: Option<&Path>) -> PathBuf {
    match config_path.and_then(Path::parent) {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file.to_path_buf(),
    }
}

/// One line per change a reload makes, for the operator.
pub(super) fn describe(d: &ConfigDiff) -> Vec<String> {
    let mut out = Vec::new();
    let fields = |c: &NeighborChange| c.fields.join(", ");
    out.extend(
        d.neighbors_added
            .iter()
            .map(|n| format!("neighbor {n} added")),
    );
    out.extend(
        d.neighbors_removed
            .iter()
            .map(|n| format!("neighbor {n} removed (Cease/Peer De-configured)")),
    );
    out.extend(d.neighbors_reset.iter().map(|c| {
        format!(
            "neighbor {}: {} changed; session reset (Cease/Other Configuration Change)",
            c.name,
            fields(c)
        )
    }));
    out.extend(d.neighbors_updated.iter().map(|c| {
        format!(
            "neighbor {}: {} changed; routes re-evaluated",
            c.name,
            fields(c)
        )
    }));
    if !d.policies_changed.is_empty() {
        out.push(format!(
            "policies changed: {}",
            d.policies_changed.join(", ")
        ));
    }
    let flags = [
        (d.router_changed, "[router] changed"),
        (
            d.listen_changed,
            "[router] listen changed: takes effect at the next restart",
        ),
        (
            d.api_changed,
            "[api] listen changed: takes effect at the next restart",
        ),
        (d.locations_changed, "[[locations]] changed"),
        (
            d.registered_prefixes_changed,
            "[[registered_prefixes]] changed",
        ),
        (d.originate_changed, "[[originate]] changed"),
        (d.rules_changed, "[rules] changed"),
        (d.rpki_changed, "[rpki] changed"),
        (d.events_changed, "[events] changed"),
        (d.analytics_changed, "[analytics] changed"),
    ];
    out.extend(flags.iter().filter(|(c, _)| *c).map(|(_, s)| s.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_tokens_file_is_next_to_the_config() {
        let cfg = Path::new("/etc/coldpotato/coldpotato.toml");
        assert_eq!(
            resolve(Path::new("tokens"), Some(cfg)),
            PathBuf::from("/etc/coldpotato/tokens")
        );
        assert_eq!(
            resolve(Path::new("/run/t"), Some(cfg)),
            PathBuf::from("/run/t")
        );
        assert_eq!(resolve(Path::new("tokens"), None), PathBuf::from("tokens"));
    }

    #[test]
    fn reload_changes_are_described_one_per_line() {
        let d = ConfigDiff {
            neighbors_added: vec!["b".into()],
            neighbors_reset: vec![NeighborChange {
                name: "a".into(),
                fields: vec!["remote_as"],
            }],
            rules_changed: true,
            ..ConfigDiff::default()
        };
        assert_eq!(
            describe(&d),
            vec![
                "neighbor b added".to_string(),
                "neighbor a: remote_as changed; session reset (Cease/Other Configuration Change)"
                    .into(),
                "[rules] changed".into(),
            ]
        );
        assert!(describe(&ConfigDiff::default()).is_empty());
    }
}
