//! The router side of one RTR session as a Sans-IO state machine (RFC 8210
//! §8, §7 for version negotiation): PDUs in, [`Action`]s out, time passed
//! in. The client task ([`super::client`]) owns one per cache and does the
//! I/O; tests drive it directly with PDU sequences.

use super::pdu::{ErrorCode, Intervals, Pdu, Version};
use super::table::{Vrp, VrpSet};
use std::time::{Duration, Instant};

/// What the task must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this PDU in the session's version.
    Send(Pdu),
    /// The cache's set changed: publish [`Session::vrps`].
    Publish,
    /// Close the connection and reconnect after the delay (after sending
    /// the PDU, if any).
    Close {
        report: Option<Pdu>,
        reconnect_after: Duration,
        why: String,
    },
}

/// Intervals the operator configured (used until a version-1 End of Data
/// brings the cache's own, RFC 8210 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub refresh: Duration,
    pub retry: Duration,
    pub expire: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        let d = Intervals::DEFAULT;
        Timers {
            refresh: Duration::from_secs(d.refresh.into()),
            retry: Duration::from_secs(d.retry.into()),
            expire: Duration::from_secs(d.expire.into()),
        }
    }
}

/// The per-cache state that survives reconnects.
#[derive(Debug)]
pub struct Session {
    /// The version we speak: 1 until the cache says it only does 0.
    pub version: Version,
    /// Session ID and serial of the data we hold (RFC 8210 §5.1).
    pub sync: Option<(u16, u32)>,
    /// Current timers (configured, then the cache's).
    pub timers: Timers,
    /// When the set was last confirmed current (End of Data).
    pub last_update: Option<Instant>,
    vrps: VrpSet,
    /// A transfer in progress: (is a reset, changes so far).
    transfer: Option<(bool, Vec<(bool, Vrp)>)>,
    /// A query is outstanding (no Cache Response yet): is it a reset.
    querying: Option<bool>,
    /// No answer yet on this connection: version negotiation (RFC 8210 §7).
    negotiating: bool,
}

impl Session {
    /// A session that holds no data yet.
    pub fn new(timers: Timers) -> Self {
        Session {
            version: Version::V1,
            sync: None,
            timers,
            last_update: None,
            vrps: VrpSet::default(),
            transfer: None,
            querying: None,
            negotiating: false,
        }
    }

    /// The cache's VRPs as of its last End of Data.
    pub fn vrps(&self) -> &VrpSet {
        &self.vrps
    }

    /// The connection is up: ask for everything, or for changes since our serial.
    pub fn connected(&mut self) -> Vec<Action> {
        self.transfer = None;
        self.negotiating = true;
        vec![Action::Send(self.query())]
    }

    /// The query for the current state (Reset or Serial Query).
    fn query(&mut self) -> Pdu {
        match self.sync {
            Some((session_id, serial)) => {
                self.querying = Some(false);
                Pdu::SerialQuery { session_id, serial }
            }
            None => {
                self.querying = Some(true);
                Pdu::ResetQuery
            }
        }
    }

    /// The refresh timer fired: poll unless a transfer is running.
    pub fn refresh(&mut self) -> Vec<Action> {
        if self.transfer.is_some() || self.querying.is_some() {
            return Vec::new();
        }
        vec![Action::Send(self.query())]
    }

    /// Has the data outlived the expire interval (RFC 8210 §6)? Then it is
    /// dropped (`true`: publish the now empty set).
    pub fn expire(&mut self, now: Instant) -> bool {
        match self.last_update {
            Some(t) if now.duration_since(t) >= self.timers.expire => {
                self.vrps = VrpSet::default();
                self.sync = None;
                self.last_update = None;
                true
            }
            _ => false,
        }
    }

    fn fatal(&mut self, code: ErrorCode, offending: &Pdu, why: String) -> Vec<Action> {
        let mut pdu = bytes::BytesMut::new();
        offending.encode(self.version, &mut pdu);
        self.transfer = None;
        self.querying = None;
        vec![Action::Close {
            report: Some(Pdu::ErrorReport {
                code,
                pdu: pdu.to_vec(),
                text: why.clone(),
            }),
            reconnect_after: Duration::from_secs(1),
            why,
        }]
    }

    /// One PDU from the cache.
    pub fn on_pdu(&mut self, version: Version, pdu: Pdu, now: Instant) -> Vec<Action> {
        if self.negotiating {
            // RFC 8210 §7: Serial Notify is ignored during start-up; a
            // version 0 answer to our version 1 query downgrades us.
            if matches!(pdu, Pdu::SerialNotify { .. }) {
                return Vec::new();
            }
            self.negotiating = false;
            if version < self.version && !matches!(pdu, Pdu::ErrorReport { .. }) {
                tracing::info!("RTR: cache answered in version 0; using version 0");
                self.version = version;
                if self.sync.is_some() {
                    // Our Serial Query was v1; start over in the cache's version.
                    self.sync = None;
                    self.querying = None;
                    return vec![Action::Close {
                        report: None,
                        reconnect_after: Duration::ZERO,
                        why: "cache answered in version 0; reconnecting in version 0".into(),
                    }];
                }
            }
        }
        if let Pdu::ErrorReport { code, text, .. } = &pdu {
            self.transfer = None;
            self.querying = None;
            let (after, why) = match code {
                ErrorCode::UnsupportedVersion | ErrorCode::UnexpectedVersion
                    if self.version == Version::V1 =>
                {
                    // RFC 8210 §7: fall back to version 0 and start over.
                    self.version = Version::V0;
                    self.sync = None;
                    (
                        Duration::ZERO,
                        "cache does not speak version 1; trying version 0",
                    )
                }
                ErrorCode::NoDataAvailable => (self.timers.retry, "cache has no data yet"),
                _ => (self.timers.retry, "error report from the cache"),
            };
            return vec![Action::Close {
                report: None,
                reconnect_after: after,
                why: format!("{why}: {code}: {text}"),
            }];
        }
        if version != self.version {
            return self.fatal(
                ErrorCode::UnexpectedVersion,
                &pdu,
                format!(
                    "PDU of version {} in a version {} session",
                    version as u8, self.version as u8
                ),
            );
        }
        match pdu {
            Pdu::SerialNotify { .. } => self.refresh(),
            Pdu::CacheResponse { session_id } => {
                let Some(reset) = self.querying.take() else {
                    return self.fatal(
                        ErrorCode::CorruptData,
                        &pdu,
                        "Cache Response without a query".into(),
                    );
                };
                if !reset && self.sync.is_some_and(|(s, _)| s != session_id) {
                    // RFC 8210 §5.1: a new session ID means the cache
                    // restarted; start over with a Reset Query.
                    self.sync = None;
                    return vec![Action::Send(self.query())];
                }
                self.transfer = Some((reset, Vec::new()));
                Vec::new()
            }
            Pdu::Prefix(p) => match &mut self.transfer {
                Some((_, changes)) => {
                    changes.push((p.announce, Vrp::new(p.prefix, p.max_len, p.asn)));
                    Vec::new()
                }
                None => self.fatal(
                    ErrorCode::CorruptData,
                    &pdu,
                    "prefix outside a data transfer".into(),
                ),
            },
            Pdu::RouterKey { .. } => Vec::new(),
            Pdu::EndOfData {
                session_id,
                serial,
                intervals,
            } => {
                let Some((reset, changes)) = self.transfer.take() else {
                    return self.fatal(
                        ErrorCode::CorruptData,
                        &pdu,
                        "End of Data outside a data transfer".into(),
                    );
                };
                if let Err(e) = self.vrps.apply(reset, &changes) {
                    let code = match e {
                        super::table::VrpSetError::UnknownWithdrawal(_) => {
                            ErrorCode::WithdrawalOfUnknownRecord
                        }
                        super::table::VrpSetError::DuplicateAnnouncement(_) => {
                            ErrorCode::DuplicateAnnouncement
                        }
                    };
                    self.sync = None;
                    return self.fatal(code, &pdu, e.to_string());
                }
                if let Some(i) = intervals.filter(Intervals::is_valid) {
                    self.timers = Timers {
                        refresh: Duration::from_secs(i.refresh.into()),
                        retry: Duration::from_secs(i.retry.into()),
                        expire: Duration::from_secs(i.expire.into()),
                    };
                }
                self.sync = Some((session_id, serial));
                self.last_update = Some(now);
                vec![Action::Publish]
            }
            Pdu::CacheReset => {
                // RFC 8210 §5.9: the cache cannot serve our serial.
                self.sync = None;
                vec![Action::Send(self.query())]
            }
            Pdu::SerialQuery { .. } | Pdu::ResetQuery => self.fatal(
                ErrorCode::InvalidRequest,
                &pdu,
                "router-to-cache PDU from the cache".into(),
            ),
            Pdu::ErrorReport { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
