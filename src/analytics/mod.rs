//! Anomaly detection and the event log.
