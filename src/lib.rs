//! coldpotato — BGP speaker and route-policy daemon for a peering-service edge.
//!
//! Data flows one way: socket → framing → decode (`wire`) → FSM (`session`)
//! → route engine (`engine`, sole owner of the `rib`) → import `policy` →
//! `decision` → export → encode → socket. BFD (`bfd`) is a service sessions
//! request and that notifies them. The `api` answers from engine snapshots.

pub mod analytics;
pub mod api;
pub mod bfd;
pub mod bmp;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod engine;
pub mod lab;
pub mod logging;
pub mod messages;
pub mod metrics;
pub mod policy;
pub mod rib;
pub mod rpki;
pub mod running;
pub mod session;
pub mod wire;
