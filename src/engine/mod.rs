//! The route engine: one task that alone owns the RIB. Sessions, BFD, the
//! API and the SIGHUP handler talk to it only through [`crate::messages`]
//! (`mpsc::Receiver<ToEngine>` in, one `mpsc::Sender<ToPeer>` per
//! established session out).
//!
//! - [`core::EngineCore`] is Sans-IO (no tokio; time passed in): inputs in,
//!   `(neighbor, ToPeer)` outputs back. Whole scenarios run in tests by
//!   feeding inputs and asserting outputs.
//! - [`task::run`] is the thin tokio task around it; [`backlog`] holds what
//!   a session has not taken yet, bounded (drop and resend from the
//!   Adj-RIB-Out).
//!
//! Layers (no module names one above it; `tests/structure.rs` checks
//! there is no cycle):
//! - state: [`pass`] (what one call changed), [`decision`], [`groups`] (the
//!   update groups and their Adj-RIBs-Out), [`neighbor`], then [`core`]
//!   (the `EngineCore` that holds them and the RIB; it names no step);
//! - steps, each an `impl EngineCore` block over that state: `sessions`,
//!   [`import`] (treat-as-withdraw → Adj-RIB-In store → max-prefix →
//!   registered-prefix checks → import policy, with [`rpki`], [`otc`] and
//!   `attr_errors`),
//!   [`decide`] (Loc-RIB best and nearest-edge decisions), [`export`]
//!   (export by role with Adj-RIB-Out diffs, one per update group, encoded
//!   by an [`outbox`]),
//!   `membership` (who is in which group), [`reload`], `control`, the views
//!   ([`query`], [`paging`], [`detail`], [`audit`], [`prefix_metrics`]) and
//!   the BMP hooks ([`bmp`], which cost nothing without `[[bmp]]`);
//! - entry: `dispatch` (new, handle, handle_updates, tick, query) and the
//!   [`task`].

pub mod admission;
mod attr_errors;
pub mod audit;
pub mod backlog;
pub mod bmp;
mod control;
pub mod core;
pub mod decide;
pub mod decision;
pub mod detail;
mod dispatch;
pub mod export;
pub mod groups;
pub mod import;
mod membership;
pub mod neighbor;
pub mod otc;
pub mod outbox;
pub mod paging;
pub mod pass;
pub mod prefix_metrics;
pub mod query;
pub mod reload;
pub mod rpki;
mod sessions;
pub mod task;

pub use self::core::EngineCore;
pub use self::pass::Output;
pub use task::{run, run_with_rpki};
