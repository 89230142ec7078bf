//! Configs for the daemon under test, built rather than written out again
//! in every test: the `[router]` / `[api]` / `[[locations]]` preamble and
//! `[[neighbors]]` blocks. What it renders is plain TOML, so a test can
//! still append to it or `replace` a line.
//!
//! ```ignore
//! let cfg = DaemonConfig::new(8075, port, api)
//!     .router("hold_time_s = 9")
//!     .neighbor(&Neighbor::new("feed", "127.0.0.71", 3356, "transit").passive().ipv4());
//! let d = cfg.start();
//! ```

use super::Daemon;
use std::fmt;
use std::net::SocketAddr;

/// A daemon config: `[router]` (AS, router id, BGP listen addresses,
/// location `ams`, extra keys), `[api]`, the other sections in the order
/// they were added, then `[[locations]]` and everything appended.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    asn: u32,
    router_id: String,
    listen: Vec<String>,
    router: Vec<String>,
    api: Option<u16>,
    sections: Vec<String>,
    locations: Vec<String>,
    body: String,
}

impl DaemonConfig {
    /// AS `asn` with router id 127.0.0.1, BGP on 127.0.0.1:`port`, the API
    /// on 127.0.0.1:`api`, one location, `ams`.
    pub fn new(asn: u32, port: u16, api: u16) -> DaemonConfig {
        DaemonConfig {
            asn,
            router_id: "127.0.0.1".into(),
            listen: vec![format!("127.0.0.1:{port}")],
            router: Vec::new(),
            api: Some(api),
            sections: Vec::new(),
            locations: vec!["ams".into()],
            body: String::new(),
        }
    }

    /// The router id.
    pub fn router_id(mut self, id: &str) -> DaemonConfig {
        self.router_id = id.into();
        self
    }

    /// The BGP listen addresses (`ADDR:PORT`, `[V6]:PORT`), instead of
    /// 127.0.0.1:`port`.
    pub fn listen<S: AsRef<str>>(mut self, addrs: &[S]) -> DaemonConfig {
        self.listen = addrs.iter().map(|a| a.as_ref().to_string()).collect();
        self
    }

    /// One more `[router]` key, as a TOML line (`hold_time_s = 9`).
    pub fn router(mut self, line: &str) -> DaemonConfig {
        self.router.push(line.into());
        self
    }

    /// A section of its own (`[rules]`, `[rpki]` with its keys), placed
    /// after `[api]` and before `[[locations]]`.
    pub fn section(mut self, toml: &str) -> DaemonConfig {
        self.sections.push(toml.trim().to_string());
        self
    }

    /// One more location after `ams`.
    pub fn location(mut self, name: &str) -> DaemonConfig {
        self.locations.push(name.into());
        self
    }

    /// TOML appended after the locations (`[[originate]]`,
    /// `[[registered_prefixes]]`, raw `[[neighbors]]` blocks).
    pub fn append(mut self, toml: &str) -> DaemonConfig {
        self.body.push('\n');
        self.body.push_str(toml);
        self
    }

    /// A `[[neighbors]]` block appended.
    pub fn neighbor(self, n: &Neighbor) -> DaemonConfig {
        let text = n.to_string();
        self.append(&text)
    }

    /// `[[originate]]` for `prefix`.
    pub fn originate(self, prefix: &str) -> DaemonConfig {
        self.append(&format!("[[originate]]\nprefix = \"{prefix}\"\n"))
    }

    /// Where the API listens.
    pub fn api_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.api.expect("a config with [api]")))
    }

    /// Starts the daemon with this config ([`Daemon::start`]).
    pub fn start(&self) -> Daemon {
        Daemon::start(&self.to_string(), self.api_addr())
    }
}

impl fmt::Display for DaemonConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\n[router]")?;
        writeln!(f, "asn = {}", self.asn)?;
        writeln!(f, "router_id = \"{}\"", self.router_id)?;
        let listen: Vec<String> = self.listen.iter().map(|a| format!("\"{a}\"")).collect();
        writeln!(f, "listen = [{}]", listen.join(", "))?;
        writeln!(f, "location = \"ams\"")?;
        for line in &self.router {
            writeln!(f, "{line}")?;
        }
        if let Some(api) = self.api {
            writeln!(f, "\n[api]\nlisten = \"127.0.0.1:{api}\"")?;
        }
        for s in &self.sections {
            writeln!(f, "\n{s}")?;
        }
        for l in &self.locations {
            writeln!(f, "\n[[locations]]\nname = \"{l}\"")?;
        }
        writeln!(f, "{}", self.body)
    }
}

/// A `[[neighbors]]` block: name, address, remote AS, role, location
/// `ams`, then the keys added, in order.
#[derive(Clone, Debug)]
pub struct Neighbor {
    name: String,
    address: String,
    remote_as: u32,
    role: String,
    location: String,
    keys: Vec<String>,
}

impl Neighbor {
    pub fn new(name: &str, address: &str, remote_as: u32, role: &str) -> Neighbor {
        Neighbor {
            name: name.into(),
            address: address.into(),
            remote_as,
            role: role.into(),
            location: "ams".into(),
            keys: Vec::new(),
        }
    }

    /// A key as a TOML line (`hold_time_s = 3`, `bfd = { … }`).
    pub fn with(mut self, line: &str) -> Neighbor {
        if !line.trim().is_empty() {
            self.keys.push(line.trim().to_string());
        }
        self
    }

    pub fn location(mut self, name: &str) -> Neighbor {
        self.location = name.into();
        self
    }

    pub fn port(self, port: u16) -> Neighbor {
        self.with(&format!("port = {port}"))
    }

    pub fn local_address(self, addr: &str) -> Neighbor {
        self.with(&format!("local_address = \"{addr}\""))
    }

    /// `passive = true`.
    pub fn passive(self) -> Neighbor {
        self.with("passive = true")
    }

    /// `import_policy = "accept-all"`.
    pub fn accept_all(self) -> Neighbor {
        self.with("import_policy = \"accept-all\"")
    }

    /// `families = ["ipv4"]`.
    pub fn ipv4(self) -> Neighbor {
        self.with("families = [\"ipv4\"]")
    }
}

impl fmt::Display for Neighbor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[[neighbors]]")?;
        writeln!(f, "name = \"{}\"", self.name)?;
        writeln!(f, "address = \"{}\"", self.address)?;
        writeln!(f, "remote_as = {}", self.remote_as)?;
        writeln!(f, "location = \"{}\"", self.location)?;
        writeln!(f, "role = \"{}\"", self.role)?;
        for k in &self.keys {
            writeln!(f, "{k}")?;
        }
        Ok(())
    }
}
