//! `coldpotato lab`: the newcomer's first command. Starts the daemon on an
//! embedded config with simulated provider routers on loopback, narrates
//! sessions and decisions while sessions and BFD fail and recover, then exits
//! with a summary.

pub mod sim;
pub mod table;

/// The embedded lab configuration (`@BGP_PORT@`/`@API_PORT@` filled at start).
pub const LAB_CONFIG: &str = include_str!("lab.toml");
