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
//! Pipeline per UPDATE ([`import`]): treat-as-withdraw → Adj-RIB-In store →
//! max-prefix → registered-prefix checks → import policy → Loc-RIB best and
//! nearest-edge decisions ([`decide`]) → export by role with Adj-RIB-Out
//! diffs ([`export`]). Queries are answered in [`query`]; the partner
//! compliance audit in [`audit`]; what changed goes to the BMP collectors
//! through [`bmp`] (hooks that cost nothing without `[[bmp]]`).

pub mod audit;
pub mod backlog;
pub mod bmp;
mod control;
pub mod core;
pub mod decide;
pub mod detail;
pub mod export;
pub mod groups;
pub mod import;
pub mod neighbor;
pub mod otc;
pub mod paging;
pub mod prefix_metrics;
pub mod query;
pub mod reload;
pub mod rpki;
pub mod task;

pub use self::core::{EngineCore, Output};
pub use task::{run, run_with_rpki};
