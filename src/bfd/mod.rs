//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop over IPv4 and IPv6).
//!
//! - [`packet`]: the Control packet codec and its reception checks.
//! - [`fsm`]: the Sans-IO session state machine (inputs in, actions out).
//! - [`service`]: the request/notify service; its UDP I/O and timers run on a
//!   dedicated OS thread with its own current-thread tokio runtime, so load on
//!   the main runtime never delays BFD. Sessions call [`BfdHandle::request`]
//!   and watch the returned `watch::Receiver<BfdEvent>`.

pub mod fsm;
pub mod packet;
pub mod service;
mod socket;

pub use fsm::{Action, Session, SessionConfig};
pub use packet::{ControlPacket, Diagnostic, Flags, PacketError, State};
pub use service::{
    BfdError, BfdEvent, BfdHandle, BfdRequest, BfdService, ServiceOptions, SessionKey,
};
