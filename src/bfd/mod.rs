//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop over IPv4 and IPv6).
//!
//! - [`packet`]: the Control packet codec and its reception checks.
//! - [`fsm`]: the Sans-IO session state machine (inputs in, actions out).
//! - [`service`]: the request/notify service; its UDP I/O and timers run on a
//!   dedicated OS thread with its own current-thread tokio runtime, so load on
//!   the main runtime never delays BFD. Sessions call [`BfdHandle::request`]
//!   and watch the returned `watch::Receiver<BfdEvent>`.
//!
//! ```no_run
//! use coldpotato::bfd::{BfdRequest, BfdService, State};
//! # async fn session() -> Result<(), Box<dyn std::error::Error>> {
//! let bfd = BfdService::start()?; // once per daemon; the handle is Clone
//! let mut events = bfd.request(BfdRequest {
//!     peer: "192.0.2.2".parse()?,
//!     local: Some("192.0.2.1".parse()?),
//!     min_tx_ms: 300,
//!     min_rx_ms: 300,
//!     multiplier: 3,
//!     interface: None,
//! })?;
//! while events.changed().await.is_ok() {
//!     let event = *events.borrow_and_update();
//!     if event.state != State::Up {
//!         // tear the BGP session down: event.diag says why
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod fsm;
pub mod packet;
pub mod service;
mod socket;

pub use fsm::{Action, Session, SessionConfig};
pub use packet::{ControlPacket, Diagnostic, Flags, PacketError, State};
pub use service::{
    BfdError, BfdEvent, BfdHandle, BfdRequest, BfdService, ServiceOptions, SessionKey,
};
