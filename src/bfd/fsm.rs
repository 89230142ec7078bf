//! The Sans-IO BFD session state machine (RFC 5880 §6.2, §6.8, asynchronous
//! mode, no Demand mode, no Echo, no authentication). Inputs are received
//! packets, timer expiries and admin up/down, each with the current `now`;
//! outputs are [`Action`]s. No tokio, no sockets, no clock: the BFD service
//! thread ([`super::service`]) owns the sessions, turns actions into UDP
//! sends and timer deadlines, and tests drive it directly.

use super::packet::{ControlPacket, Diagnostic, Flags, State};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use thiserror::Error;

/// bfd.DesiredMinTxInterval floor while the session is not Up (RFC 5880 §6.8.3).
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);
/// Initial bfd.RemoteMinRxInterval (RFC 5880 §6.8.1: "initialized to 1").
pub const INITIAL_REMOTE_MIN_RX: Duration = Duration::from_micros(1);

/// Locally configured timers of one session (RFC 5880 §6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once Up.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult (must be at least 1).
    pub detect_mult: u8,
}

/// The two timers a session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Periodic transmission (RFC 5880 §6.8.7).
    Tx,
    /// Detection time (RFC 5880 §6.8.4).
    Detect,
}

/// What the FSM asks its owner to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The session state changed, with the local diagnostic.
    StateChanged {
        from: State,
        to: State,
        diag: Diagnostic,
    },
    /// Send this packet now.
    Send(ControlPacket),
    /// (Re)arm a timer to fire at the instant.
    Arm(Timer, Instant),
    /// Cancel a timer.
    Cancel(Timer),
}

/// One input to the FSM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A packet that passed [`ControlPacket::decode`] and was demultiplexed here.
    Packet(ControlPacket),
    /// The [`Timer::Tx`] deadline passed.
    TxTimer,
    /// The [`Timer::Detect`] deadline passed.
    DetectTimer,
    /// Leave AdminDown (RFC 5880 §6.8.16).
    AdminUp,
    /// Enter AdminDown (RFC 5880 §6.8.16).
    AdminDown,
}

/// Why the session discards a packet (RFC 5880 §6.8.6, session checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Discard {
    /// The A bit is set but this session uses no authentication.
    #[error("authentication present but not in use")]
    AuthNotInUse,
    /// Your Discriminator names another session.
    #[error("your discriminator {0} is not ours")]
    WrongDiscriminator(u32),
    /// The session is AdminDown: packets only update remote state.
    #[error("session is AdminDown")]
    AdminDown,
}

/// How the periodic interval is jittered (RFC 5880 §6.8.7).
#[derive(Debug)]
pub enum Jitter {
    /// Uniform 75–100 % (75–90 % with a detect multiplier of 1), seeded.
    Random(Box<StdRng>),
    /// Always this percentage (tests).
    Fixed(u32),
}

/// One BFD session's state variables (RFC 5880 §6.8.1) and timers.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diagnostic,
    /// bfd.DesiredMinTxInterval as currently advertised.
    desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval as currently advertised.
    required_min_rx: Duration,
    remote_min_rx: Duration,
    /// Desired Min TX Interval of the last received packet.
    remote_desired_min_tx: Duration,
    /// Detect Mult of the last received packet; 0 before the first one.
    remote_detect_mult: u8,
    /// bfd.RemoteDemandMode: the D bit of the last received packet.
    remote_demand: bool,
    /// A Poll Sequence is in progress (RFC 5880 §6.5).
    polling: bool,
    /// Transmit interval kept until the poll ends after an increase (§6.8.3).
    old_desired_min_tx: Option<Duration>,
    /// Receive interval kept for detection until the poll ends after a decrease (§6.8.3).
    old_required_min_rx: Option<Duration>,
    jitter: Jitter,
    last_tx: Option<Instant>,
    /// The interval used to arm the Tx timer last time.
    armed_interval: Option<Duration>,
}

impl Session {
    /// A new session in Down with a random jitter seeded by `seed`.
    pub fn new(local_discr: u32, config: SessionConfig, seed: u64) -> Session {
        let required_min_rx = config.required_min_rx;
        Session {
            config,
            state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diagnostic::None,
            desired_min_tx: config.desired_min_tx.max(SLOW_TX_INTERVAL),
            required_min_rx,
            remote_min_rx: INITIAL_REMOTE_MIN_RX,
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_demand: false,
            polling: false,
            old_desired_min_tx: None,
            old_required_min_rx: None,
            jitter: Jitter::Random(Box::new(StdRng::seed_from_u64(seed))),
            last_tx: None,
            armed_interval: None,
        }
    }

    /// Replaces the jitter source (tests use [`Jitter::Fixed`]).
    pub fn set_jitter(&mut self, jitter: Jitter) {
        self.jitter = jitter;
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    /// bfd.LocalDiag.
    pub fn diag(&self) -> Diagnostic {
        self.local_diag
    }

    /// A Poll Sequence is in progress.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The configured timers.
    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// The detection time (RFC 5880 §6.8.4, asynchronous mode): the remote
    /// Detect Mult times the larger of our RequiredMinRxInterval and the
    /// remote's last Desired Min TX Interval. `None` before the first packet.
    pub fn detection_time(&self) -> Option<Duration> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let rx = self
            .old_required_min_rx
            .map_or(self.required_min_rx, |old| old.max(self.required_min_rx));
        Some(rx.max(self.remote_desired_min_tx) * u32::from(self.remote_detect_mult))
    }

    /// The periodic transmit interval before jitter (RFC 5880 §6.8.2, §6.8.3).
    pub fn tx_interval(&self) -> Duration {
        let desired = self.old_desired_min_tx.unwrap_or(self.desired_min_tx);
        desired.max(self.remote_min_rx)
    }

    /// Starts the session: first packet now, then periodic transmission.
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::with_capacity(2);
        self.send_periodic(now, &mut actions);
        actions
    }

    /// Changes the configured timers; a Poll Sequence verifies the change
    /// (RFC 5880 §6.8.3).
    pub fn set_config(&mut self, now: Instant, config: SessionConfig) -> Vec<Action> {
        self.config = config;
        self.update_advertised_timers();
        let mut actions = Vec::new();
        if self.armed_interval != Some(self.tx_interval()) {
            self.arm_tx(now, &mut actions);
        }
        actions
    }

    /// Feeds one input.
    pub fn handle(&mut self, now: Instant, input: Input) -> Result<Vec<Action>, Discard> {
        match input {
            Input::Packet(packet) => self.on_packet(now, &packet),
            Input::TxTimer => Ok(self.on_tx_timer(now)),
            Input::DetectTimer => Ok(self.on_detect_timer(now)),
            Input::AdminUp => Ok(self.admin_up(now)),
            Input::AdminDown => Ok(self.admin_down(now)),
        }
    }

    /// Reception of a BFD Control packet (RFC 5880 §6.8.6, after the packet
    /// checks done by the decoder and the demultiplexing by the service).
    pub fn on_packet(&mut self, now: Instant, p: &ControlPacket) -> Result<Vec<Action>, Discard> {
        if p.flags.contains(Flags::AUTH) || p.auth.is_some() {
            return Err(Discard::AuthNotInUse);
        }
        if p.your_discriminator != 0 && p.your_discriminator != self.local_discr {
            return Err(Discard::WrongDiscriminator(p.your_discriminator));
        }
        let mut actions = Vec::new();
        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        self.remote_min_rx = p.required_min_rx();
        self.remote_desired_min_tx = p.desired_min_tx();
        self.remote_detect_mult = p.detect_mult;
        self.remote_demand = p.flags.contains(Flags::DEMAND);
        if self.polling && p.flags.contains(Flags::FINAL) {
            self.polling = false;
            self.old_desired_min_tx = None;
            self.old_required_min_rx = None;
        }
        if self.state == State::AdminDown {
            return Err(Discard::AdminDown);
        }
        // §6.8.6 state transitions (self.state is not AdminDown here).
        let next = match (self.state, p.state) {
            (State::Down, State::AdminDown) => None,
            (_, State::AdminDown) => Some((State::Down, Diagnostic::NeighborSignaledDown)),
            (State::Down, State::Down) => Some((State::Init, Diagnostic::None)),
            (State::Down, State::Init) => Some((State::Up, Diagnostic::None)),
            (State::Init, State::Init | State::Up) => Some((State::Up, Diagnostic::None)),
            (State::Up, State::Down) => Some((State::Down, Diagnostic::NeighborSignaledDown)),
            _ => None,
        };
        let changed = next.is_some();
        if let Some((to, diag)) = next {
            self.change_state(to, diag, &mut actions);
        }
        if let Some(detect) = self.detection_time() {
            actions.push(Action::Arm(Timer::Detect, now + detect));
        }
        if changed {
            self.update_advertised_timers();
        }
        if p.flags.contains(Flags::POLL) {
            // §6.8.6: answer a Poll with Final at once, whatever the timer.
            let mut reply = self.packet();
            reply.flags = Flags::FINAL;
            actions.push(Action::Send(reply));
            if changed {
                self.last_tx = Some(now);
                self.arm_tx(now, &mut actions);
            }
        } else if changed {
            self.send_periodic(now, &mut actions);
        } else if self.armed_interval != Some(self.tx_interval()) {
            self.arm_tx(now, &mut actions);
        }
        Ok(actions)
    }

    /// The transmit timer fired: send the periodic packet and rearm.
    pub fn on_tx_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::with_capacity(2);
        self.send_periodic(now, &mut actions);
        actions
    }

    /// The detection timer fired (RFC 5880 §6.8.4): Init or Up go Down with
    /// "Control Detection Time Expired"; the remote discriminator is forgotten.
    pub fn on_detect_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_detect_mult = 0;
        self.remote_demand = false;
        self.remote_min_rx = INITIAL_REMOTE_MIN_RX;
        if matches!(self.state, State::Init | State::Up) {
            self.change_state(
                State::Down,
                Diagnostic::ControlDetectionTimeExpired,
                &mut actions,
            );
            self.update_advertised_timers();
            self.send_periodic(now, &mut actions);
        }
        actions
    }

    /// Enters AdminDown with diagnostic 7 and tells the remote at once.
    pub fn admin_down(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state == State::AdminDown {
            return actions;
        }
        self.change_state(
            State::AdminDown,
            Diagnostic::AdministrativelyDown,
            &mut actions,
        );
        actions.push(Action::Cancel(Timer::Detect));
        self.update_advertised_timers();
        self.send_periodic(now, &mut actions);
        actions
    }

    /// Leaves AdminDown for Down.
    pub fn admin_up(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != State::AdminDown {
            return actions;
        }
        self.change_state(State::Down, Diagnostic::None, &mut actions);
        self.send_periodic(now, &mut actions);
        actions
    }

    /// The packet this session would send now (RFC 5880 §6.8.7).
    pub fn packet(&self) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            flags: if self.polling {
                Flags::POLL
            } else {
                Flags::empty()
            },
            detect_mult: self.config.detect_mult.max(1),
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: duration_us(self.desired_min_tx),
            required_min_rx_us: duration_us(self.required_min_rx),
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }

    fn change_state(&mut self, to: State, diag: Diagnostic, actions: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        actions.push(Action::StateChanged { from, to, diag });
    }

    /// Applies §6.8.3: the slow rate while not Up, the configured rate when
    /// Up; any change to the advertised values starts a Poll Sequence.
    fn update_advertised_timers(&mut self) {
        let desired = if self.state == State::Up {
            self.config.desired_min_tx
        } else {
            self.config.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        let required = self.config.required_min_rx;
        if desired == self.desired_min_tx && required == self.required_min_rx {
            return;
        }
        if self.state == State::Up {
            if desired > self.desired_min_tx && self.old_desired_min_tx.is_none() {
                self.old_desired_min_tx = Some(self.desired_min_tx);
            }
            if required < self.required_min_rx && self.old_required_min_rx.is_none() {
                self.old_required_min_rx = Some(self.required_min_rx);
            }
        }
        self.desired_min_tx = desired;
        self.required_min_rx = required;
        self.polling = true;
    }

    fn send_periodic(&mut self, now: Instant, actions: &mut Vec<Action>) {
        // §6.8.7: no periodic packets while the remote asks for none, or
        // while Demand mode is active on the remote and no Poll is running.
        let silenced_by_demand = self.remote_demand
            && self.state == State::Up
            && self.remote_state == State::Up
            && !self.polling;
        if !self.remote_min_rx.is_zero() && !silenced_by_demand {
            actions.push(Action::Send(self.packet()));
            self.last_tx = Some(now);
        }
        self.arm_tx(now, actions);
    }

    fn arm_tx(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let interval = self.tx_interval();
        self.armed_interval = Some(interval);
        let jittered = self.jittered(interval);
        let at = self.last_tx.map_or(now, |last| (last + jittered).max(now));
        actions.push(Action::Arm(Timer::Tx, at));
    }

    /// §6.8.7: reduce the interval by a random 0–25 % (10–25 % with a
    /// detect multiplier of 1).
    fn jittered(&mut self, interval: Duration) -> Duration {
        let max_percent = if self.config.detect_mult == 1 {
            90
        } else {
            100
        };
        let percent = match &mut self.jitter {
            Jitter::Random(rng) => rng.gen_range(75..=max_percent),
            Jitter::Fixed(percent) => (*percent).clamp(75, max_percent),
        };
        interval * percent / 100
    }
}

/// A duration in wire microseconds, saturating.
fn duration_us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "fsm_tests.rs"]
mod tests;
