//! BGP sessions: Sans-IO FSM, per-neighbor task, listener.
