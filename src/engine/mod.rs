//! The route engine: one task that alone owns the RIB. Sessions talk to it
//! only through [`messages`].

pub mod messages;
