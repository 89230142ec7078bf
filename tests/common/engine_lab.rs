//! Shared harness of the route engine scenario tests (`engine_*`,
//! `api_audit`; `use common::engine_lab as lab;`): a configuration with two
//! locations and one neighbor per role, and a `Lab` that feeds `EngineCore`
//! and reads its views.

#![allow(unused_imports)]

pub use coldpotato::config::Config;
pub use coldpotato::engine::{EngineCore, Output};
pub use coldpotato::messages::views::{DecisionView, RouteView};
pub use coldpotato::messages::Input;
pub use coldpotato::messages::{BfdStatus, NeighborName, Query, QueryReply, SessionInfo, ToPeer};
pub use coldpotato::policy::ahead::ImportEval;
pub use coldpotato::running::Running;
pub use coldpotato::wire::update::{MpReach, MpUnreach};
pub use coldpotato::wire::{
    AddPathPrefix, Afi, AsPath, AttrAction, AttrCause, AttrError, Codec, Community, Origin,
    PathAttributes, Prefix, Safi, Update,
};
use std::collections::HashMap;
pub use std::net::IpAddr;
pub use std::sync::Arc;
pub use std::time::{Duration, Instant};

pub const BASE: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[rules]
reject_reserved_asn = false
reject_bogons = false

[[locations]]
name = "ams"
[[locations]]
name = "fra"

[[neighbors]]
name = "ps-ams-1"
address = "192.0.2.2"
remote_as = 64500
location = "ams"
role = "peering-service"

[[neighbors]]
name = "ps-ams-2"
address = "192.0.2.6"
remote_as = 64500
location = "ams"
role = "peering-service"

[[neighbors]]
name = "ps-fra"
address = "192.0.2.10"
remote_as = 64500
location = "fra"
role = "peering-service"

[[neighbors]]
name = "transit"
address = "192.0.2.14"
remote_as = 3356
location = "ams"
role = "transit"

[[neighbors]]
name = "rr1"
address = "10.0.0.1"
remote_as = 8075
location = "ams"
role = "internal"

[[neighbors]]
name = "rr2"
address = "10.0.0.2"
remote_as = 8075
location = "ams"
role = "internal"

[[registered_prefixes]]
prefix = "203.0.113.0/24"
peer_asn = 64500
primary = "ams"
backup = "fra"

[[originate]]
prefix = "198.51.100.0/24"
communities = ["8075:100"]
"#;

pub const REG: &str = "203.0.113.0/24";

pub fn cfg(extra: &str) -> Arc<Config> {
    Arc::new(toml::from_str(&format!("{BASE}\n{extra}")).unwrap())
}

/// `c` with its policies compiled, as the engine runs it.
pub fn running(c: Arc<Config>) -> Running {
    Running::new((*c).clone()).expect("policies compile")
}

pub struct Lab {
    pub core: EngineCore,
    pub now: Instant,
    /// What the engine handed each neighbor's session to work out import
    /// verdicts with: `update` uses it as the session task does.
    pub evals: HashMap<String, Arc<ImportEval>>,
}

pub fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub fn name(s: &str) -> NeighborName {
    NeighborName::from(s)
}

pub fn info(local: &str, remote: &str, remote_as: u32) -> SessionInfo {
    SessionInfo {
        remote_as,
        remote_id: "192.0.2.200".parse().unwrap(),
        local_address: local.parse().unwrap(),
        remote_address: remote.parse().unwrap(),
        codec: Codec::default(),
        families: vec![(Afi::IPV4, Safi::UNICAST), (Afi::IPV6, Safi::UNICAST)],
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: None,
        hold_time: 90,
        wire: Default::default(),
    }
}

pub fn attrs(path: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        next_hop: Some("192.0.2.2".parse().unwrap()),
        communities: vec![Community::new(8075, 8007)],
        ..Default::default()
    }
}

pub fn ann(prefixes: &[&str], path: &[u32]) -> Update {
    Update {
        attrs: attrs(path),
        nlri: prefixes
            .iter()
            .map(|s| AddPathPrefix {
                path_id: None,
                prefix: p(s),
            })
            .collect(),
        ..Default::default()
    }
}

/// An UPDATE withdrawing `prefixes` (IPv4).
pub fn wd(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes
            .iter()
            .map(|s| AddPathPrefix {
                path_id: None,
                prefix: p(s),
            })
            .collect(),
        ..Default::default()
    }
}

/// The UPDATEs sent to `to`, decoded back from the wire bytes the engine
/// produced (IPv6 routes' next hop moved from MP_REACH_NLRI into
/// `attrs.next_hop`, as the engine holds them).
pub fn sent(out: &[Output], to: &str) -> Vec<Update> {
    out.iter()
        .filter(|(n, _)| &**n == to)
        .flat_map(|(_, m)| match m {
            ToPeer::Send(u) => u.clone(),
            ToPeer::Wire(e) => e.updates().expect("the engine's UPDATEs decode"),
            _ => Vec::new(),
        })
        .collect()
}

pub fn announced(out: &[Output], to: &str) -> Vec<(Prefix, PathAttributes)> {
    sent(out, to)
        .into_iter()
        .flat_map(|u| {
            let mut v6 = u.attrs.clone();
            let mp = u.mp_reach.clone();
            if let Some(m) = &mp {
                v6.next_hop = Some(m.next_hop);
            }
            let v4 = u.attrs.clone();
            u.nlri
                .into_iter()
                .map(move |n| (n.prefix, v4.clone()))
                .chain(
                    mp.into_iter()
                        .flat_map(|m| m.nlri)
                        .map(move |n| (n.prefix, v6.clone())),
                )
        })
        .collect()
}

impl Lab {
    pub fn new(extra: &str) -> Lab {
        Lab {
            core: EngineCore::new(running(cfg(extra))),
            now: Instant::now(),
            evals: HashMap::new(),
        }
    }

    /// A lab whose first neighbor (`ps-ams-1`) imports with policy
    /// `policy`, defined in `extra` (added to [`BASE`]).
    pub fn with_import_policy(extra: &str, policy: &str) -> Lab {
        let mut c = (*cfg(extra)).clone();
        c.neighbors[0].import_policy = Some(policy.into());
        Lab {
            core: EngineCore::new(Running::new(c).expect("policies compile")),
            now: Instant::now(),
            evals: HashMap::new(),
        }
    }

    pub fn input(&mut self, i: Input) -> Vec<Output> {
        let out = self.core.handle(i, self.now);
        for (n, m) in &out {
            if let ToPeer::ImportEval(e) = m {
                self.evals.insert(n.to_string(), e.clone());
            }
        }
        out
    }

    pub fn up(&mut self, n: &str) -> Vec<Output> {
        let (local, remote, asn) = match n {
            "rr1" => ("10.0.0.100", "10.0.0.1", 8075),
            "rr2" => ("10.0.0.100", "10.0.0.2", 8075),
            "transit" => ("192.0.2.13", "192.0.2.14", 3356),
            _ => ("192.0.2.1", "192.0.2.2", 64500),
        };
        self.input(Input::SessionUp {
            neighbor: name(n),
            info: info(local, remote, asn),
        })
    }

    pub fn down(&mut self, n: &str, gr: Option<Duration>) -> Vec<Output> {
        self.input(Input::SessionDown {
            neighbor: name(n),
            reason: "test".into(),
            graceful_restart: gr,
        })
    }

    /// An UPDATE from `n`, with the import verdicts its session would
    /// send along (see [`Lab::update_unevaluated`]).
    pub fn update(&mut self, n: &str, u: Update) -> Vec<Output> {
        let ahead = self.evals.get(n).and_then(|e| e.evaluate(&u));
        self.input(Input::Update {
            neighbor: name(n),
            update: u.into(),
            ahead,
        })
    }

    /// An UPDATE from `n` without verdicts: the engine runs policy itself.
    pub fn update_unevaluated(&mut self, n: &str, u: Update) -> Vec<Output> {
        self.input(Input::Update {
            neighbor: name(n),
            update: u.into(),
            ahead: None,
        })
    }

    pub fn bfd(&mut self, n: &str, status: BfdStatus) -> Vec<Output> {
        self.input(Input::Bfd {
            neighbor: name(n),
            status,
            diagnostic: 0,
        })
    }

    pub fn routes(&self, prefix: Option<&str>, all: bool) -> Vec<RouteView> {
        self.routes_matching(prefix, all, false)
    }

    /// Like [`Lab::routes`], by longest match when `longest`.
    pub fn routes_matching(
        &self,
        prefix: Option<&str>,
        all: bool,
        longest: bool,
    ) -> Vec<RouteView> {
        match self.core.query(
            &Query::Routes {
                prefix: prefix.map(p),
                all,
                longest,
            },
            self.now,
        ) {
            QueryReply::Routes(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn decision(&self, prefix: &str) -> DecisionView {
        match self.core.query(&Query::Decisions, self.now) {
            QueryReply::Decisions(d) => d.into_iter().find(|d| d.prefix == prefix).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn event_kinds(&self) -> Vec<String> {
        match self.core.query(&Query::Events { since: 0 }, self.now) {
            QueryReply::Events(e) => e.into_iter().map(|e| e.kind).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub fn limited(action: &str) -> Lab {
    let base = Lab::new("");
    let mut c = (*base.core.config().clone()).clone();
    c.neighbors[0].max_prefixes = toml::from_str(&format!("limit = 2\naction = \"{action}\"")).ok();
    let mut lab = Lab {
        evals: HashMap::new(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: base.now,
    };
    lab.up("ps-ams-1");
    lab
}
