//! BGP sessions: the Sans-IO FSM (`fsm`, its vocabulary in `events`, OPEN
//! negotiation in `negotiate`, NOTIFICATION codes in `codes`), the
//! per-neighbor tokio task (API in `peer`, loop in `task`, connection I/O
//! and framing in `conn`, UPDATE packing in `encode`) and the TCP listener
//! with its socket options (`listen`, `sockopt`).
//!
//! Data flow: listener → accepted stream handed to the neighbor's task →
//! framing → decode → FSM → `ToEngine` on the shared bounded engine channel;
//! the engine answers through the per-session `ToPeer` channel it receives
//! in `ToEngine::Attach`, just before `Input::SessionUp`.
//!
//! How the daemon wires it up:
//! 1. `listen::Listener::bind(&router.listen)`, keep `listener.neighbors()`,
//!    then `listener.spawn()`.
//! 2. Per neighbor: `peer::spawn(peer::PeerParams { .. })` → `PeerHandle`;
//!    `neighbors.register(addr, handle.registration())`.
//! 3. Reload: `register`/`unregister` and `PeerHandle::remove` (does not
//!    wait; dropping the handle does the same); per-neighbor
//!    admin shutdown with `PeerHandle::shutdown(text)`; SIGTERM sets the
//!    shared shutdown `watch` to `Some(text)` and joins every handle.
//! 4. Operators' actions (`coldpotato neighbor NAME …`):
//!    `PeerHandle::control(action)`, answered by the task (`task::control`);
//!    a neighbor an operator shut down is respawned by a reload with
//!    `peer::spawn_admin_down`.

pub mod codes;
pub mod conn;
pub mod encode;
pub mod events;
pub mod fsm;
pub mod listen;
pub mod negotiate;
pub mod peer;
pub mod sockopt;
mod task;
