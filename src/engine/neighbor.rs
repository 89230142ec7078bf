//! Per-neighbor state the route engine keeps: configuration, what the
//! session and BFD last reported (latency included), counters, max-prefix
//! state, graceful restart deadline and its update group. Owned by the route
//! engine task.

use crate::config::{LocationId, NeighborConfig, Role};
use crate::messages::detail::SessionDetail;
use crate::messages::{BfdStatus, NeighborName, SessionInfo, SessionState};
use crate::policy::Rule;
use crate::rib::{NeighborIdx, PathFlags};
use crate::wire::Notification;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One configured neighbor as the engine sees it.
#[derive(Debug)]
pub struct Neighbor {
    pub idx: NeighborIdx,
    pub name: NeighborName,
    pub cfg: NeighborConfig,
    /// `cfg.location`, resolved (set by the reload that adds or updates it).
    pub location: Option<LocationId>,
    /// `remote_as` differs from our ASN.
    pub ebgp: bool,
    /// The negotiated session while Established.
    pub session: Option<SessionInfo>,
    pub established_at: Option<Instant>,
    /// The session's last reported RFC 4271 state.
    pub state: SessionState,
    /// When `state` was entered (`None`: never reported).
    pub state_since: Option<Instant>,
    /// Why the session last went down; cleared once it is Established again.
    pub last_error: Option<String>,
    /// When `last_error` happened.
    pub last_error_at: Option<Instant>,
    pub bfd: BfdStatus,
    /// The session's TCP round-trip time (`Input::SessionRtt`) while
    /// Established, once measured.
    pub rtt: Option<Measured>,
    /// The RTT the optional tie-break (`[router] rtt_tiebreak`) compares,
    /// in whole milliseconds; see [`rtt_rank`].
    pub rtt_rank: Option<u32>,
    /// BFD's receive interval and jitter (`Input::BfdRx`) while BFD is Up.
    pub bfd_rx: Option<Measured>,
    /// Stale routes are withdrawn at this instant (RFC 4724 §4.2).
    pub gr_deadline: Option<Instant>,
    /// A max-prefix teardown was sent: ignore its UPDATEs until it returns.
    pub tripped: bool,
    /// Warning / exceeded events already logged for the current excursion.
    pub warned: bool,
    pub exceeded: bool,
    /// The update group whose Adj-RIB-Out this neighbor shares, while
    /// Established (see [`super::groups`]).
    pub group: Option<super::groups::GroupId>,
    /// Paths in the Adj-RIB-In (pre-policy).
    pub received: u64,
    /// Paths counted against the max-prefix limit (received minus refused).
    pub limit_count: u64,
    pub accepted: u64,
    /// Rejected paths by rule.
    pub rejected: BTreeMap<Rule, u64>,
    /// Paths by RPKI state flags: valid, invalid, neither (not-found or off).
    pub rpki: [u64; 3],
    /// Log lines for malformed UPDATEs (RFC 7606/7607), which a peer can
    /// send by the thousand.
    pub attr_error_log: LogLimit,
    /// What only `show neighbor NAME` needs (`super::detail`).
    pub detail: DetailState,
}

/// What the engine keeps per neighbor for the detail view only.
#[derive(Debug, Clone, Default)]
pub struct DetailState {
    /// The session's own report of what it negotiated (cleared when the
    /// session goes down: shown only while `Neighbor::session` is set).
    pub session: Option<SessionDetail>,
    /// The last NOTIFICATION sent and received, with its Unix time (ms).
    pub last_sent: Option<(Notification, u64)>,
    pub last_received: Option<(Notification, u64)>,
    /// Withdrawals received since start: IPv4, IPv6.
    pub withdrawn: [u64; 2],
    /// The last BFD diagnostic reported (RFC 5880 §4.1).
    pub bfd_diagnostic: Option<u8>,
}

/// A measured duration and its mean deviation: a smoothed RTT and its
/// variance, or a mean packet interval and its jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub mean: Duration,
    pub deviation: Duration,
}

/// Below this a change of a session's RTT never moves its tie-break figure.
pub const RTT_RANK_MIN_STEP: Duration = Duration::from_millis(2);

/// The figure the RTT tie-break compares after a new smoothed RTT `rtt`,
/// given the current one: the RTT rounded to whole milliseconds, moved
/// only when the RTT leaves the current figure by more than 10 % and more
/// than [`RTT_RANK_MIN_STEP`]: a jittery link does not reorder a
/// location's sessions every few seconds.
pub fn rtt_rank(current: Option<u32>, rtt: Duration) -> u32 {
    let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
    let rounded = u32::try_from(us.saturating_add(500) / 1000).unwrap_or(u32::MAX);
    match current {
        None => rounded,
        Some(c) => {
            let c_us = u64::from(c) * 1000;
            let slack = (c_us / 10).max(RTT_RANK_MIN_STEP.as_micros() as u64);
            if us.abs_diff(c_us) > slack {
                rounded
            } else {
                c
            }
        }
    }
}

/// A log line a peer can trigger once per UPDATE: the first is written,
/// then at most one per [`LogLimit::EVERY`], saying how many were held back.
#[derive(Debug, Default)]
pub struct LogLimit {
    last: Option<Instant>,
    held_back: u64,
}

impl LogLimit {
    /// The least time between two lines.
    pub const EVERY: Duration = Duration::from_secs(60);

    /// `Some(n)` when a line is due now, `n` being the occurrences held
    /// back since the last line; `None` counts this one as held back.
    pub fn due(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < Self::EVERY)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

impl Neighbor {
    /// A neighbor with no session yet.
    pub fn new(idx: NeighborIdx, cfg: NeighborConfig, local_asn: u32) -> Self {
        Neighbor {
            idx,
            name: NeighborName::from(cfg.name.as_str()),
            ebgp: cfg.remote_as != local_asn,
            bfd: if cfg.bfd.is_some() {
                BfdStatus::Down
            } else {
                BfdStatus::Disabled
            },
            cfg,
            rtt: None,
            rtt_rank: None,
            bfd_rx: None,
            location: None,
            session: None,
            established_at: None,
            state: SessionState::Idle,
            state_since: None,
            last_error: None,
            last_error_at: None,
            gr_deadline: None,
            tripped: false,
            warned: false,
            exceeded: false,
            group: None,
            received: 0,
            limit_count: 0,
            accepted: 0,
            rejected: BTreeMap::new(),
            rpki: [0; 3],
            attr_error_log: LogLimit::default(),
            detail: Default::default(),
        }
    }

    /// Its routes may be used: BFD (when configured) is Up and no
    /// max-prefix teardown is pending.
    pub fn usable(&self) -> bool {
        !self.tripped
            && (self.cfg.bfd.is_none()
                // The remote taking BFD AdminDown is not a failure (RFC 5882 §3.2).
                || matches!(self.bfd, BfdStatus::Up | BfdStatus::AdminDown))
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.cfg.role
    }

    /// Adds (`add = true`) or removes one path with `flags` (and the rule that
    /// rejected it) from the counters.
    pub fn account(&mut self, flags: PathFlags, rule: Option<&Rule>, add: bool) {
        let step = |v: &mut u64| {
            if add {
                *v += 1
            } else {
                *v = v.saturating_sub(1)
            }
        };
        step(&mut self.received);
        step(&mut self.rpki[counter_slot(flags)]);
        if !flags.contains(PathFlags::REFUSED) {
            step(&mut self.limit_count);
        }
        if flags.contains(PathFlags::ACCEPTED) {
            step(&mut self.accepted);
        } else {
            let rule = rule.unwrap_or(&Rule::Unknown);
            match self.rejected.get_mut(rule) {
                Some(v) => step(v),
                None if add => {
                    self.rejected.insert(rule.clone(), 1);
                }
                None => {}
            }
        }
    }

    /// Forgets the session's RTT (a new or a lost session).
    pub fn forget_rtt(&mut self) {
        self.rtt = None;
        self.rtt_rank = None;
    }

    /// Forgets every counted path.
    pub fn reset_counters(&mut self) {
        self.received = 0;
        self.limit_count = 0;
        self.accepted = 0;
        self.rpki = [0; 3];
        for v in self.rejected.values_mut() {
            *v = 0;
        }
        self.warned = false;
        self.exceeded = false;
    }
}

/// Index into `Neighbor::rpki` for a path's flags.
pub fn counter_slot(flags: PathFlags) -> usize {
    if flags.contains(PathFlags::RPKI_VALID) {
        0
    } else if flags.contains(PathFlags::RPKI_INVALID) {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1000.0)
    }

    #[test]
    fn rtt_rank_rounds_the_first_sample_to_whole_milliseconds() {
        assert_eq!(rtt_rank(None, ms(20.4)), 20);
        assert_eq!(rtt_rank(None, ms(20.5)), 21);
        assert_eq!(rtt_rank(None, ms(0.2)), 0);
    }

    #[test]
    fn rtt_rank_ignores_noise_and_follows_a_clear_change() {
        // 20 ms: the slack is 2 ms (10 % is less).
        assert_eq!(rtt_rank(Some(20), ms(21.9)), 20);
        assert_eq!(rtt_rank(Some(20), ms(18.1)), 20);
        assert_eq!(rtt_rank(Some(20), ms(22.6)), 23);
        assert_eq!(rtt_rank(Some(20), ms(17.0)), 17);
        // 100 ms: 10 % is 10 ms.
        assert_eq!(rtt_rank(Some(100), ms(109.0)), 100);
        assert_eq!(rtt_rank(Some(100), ms(111.0)), 111);
        // Sub-millisecond links: 2 ms of slack.
        assert_eq!(rtt_rank(Some(0), ms(1.9)), 0);
        assert_eq!(rtt_rank(Some(0), ms(2.6)), 3);
    }
}
