//! Debian's ExaBGP as a test peer: a config in a temp dir, run in the
//! foreground (optionally inside a network namespace), logging to its own
//! file. ExaBGP 4 opens no listener unless told to, so it is the
//! active-only peer operators meet: it connects, we never can.

use super::{netns_cmd, Proc};
use std::path::PathBuf;

/// A running ExaBGP, stopped when dropped.
pub struct ExaBgp {
    pub proc: Proc,
    pub dir: tempfile::TempDir,
}

impl ExaBgp {
    /// Starts ExaBGP on `config` (its own syntax), inside `netns` if given.
    pub fn start_in(netns: Option<&str>, config: &str) -> ExaBgp {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("exabgp.conf");
        std::fs::write(&conf, config).expect("write exabgp.conf");
        let mut cmd = netns_cmd(netns, "exabgp");
        cmd.arg(&conf)
            .current_dir(dir.path())
            .env("exabgp.daemon.daemonize", "false")
            .env("exabgp.daemon.user", "root")
            .env("exabgp.log.destination", "stdout")
            .env("exabgp.tcp.bind", "")
            .env("exabgp.api.cli", "false");
        let log: PathBuf = dir.path().join("exabgp.log");
        ExaBgp {
            proc: Proc::spawn("exabgp", cmd, log),
            dir,
        }
    }

    /// An active-only neighbor: connects from `local` to `remote` port
    /// `port` as `local_as` and announces `routes` (ExaBGP `route` lines).
    pub fn neighbor_config(
        local: &str,
        remote: &str,
        port: u16,
        local_as: u32,
        peer_as: u32,
        family: &str,
        routes: &[&str],
    ) -> String {
        let statics: String = routes.iter().map(|r| format!("    route {r};\n")).collect();
        format!(
            "neighbor {remote} {{\n  router-id 192.0.2.81;\n  local-address {local};\n  \
             local-as {local_as};\n  peer-as {peer_as};\n  connect {port};\n  \
             family {{ {family} unicast; }}\n  static {{\n{statics}  }}\n}}\n"
        )
    }

    pub fn log(&self) -> String {
        self.proc.log_text()
    }
}
