//! BFD (RFC 5880/5881): packets, Sans-IO FSM, UDP task and the request/notify service.
