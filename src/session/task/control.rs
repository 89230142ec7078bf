//! Operator actions on one session (`coldpotato neighbor NAME …`), carried
//! out inside the neighbor's task, which alone knows the FSM state and what
//! was negotiated; and the reading of the peer's ROUTE-REFRESH subtypes
//! (RFC 7313).
//!
//! The daemon sends `Command::Control` on the task's command channel and
//! awaits the answer on a `oneshot` (`PeerHandle::control`). Each action is
//! one FSM event or one message:
//! - shutdown: `ManualStop` (Cease / Administrative Shutdown with the RFC
//!   9003 communication); the FSM stays Idle and refuses connections until
//!   enable (`ManualStart`).
//! - reset: `AutomaticStop` with Cease / Administrative Reset; the IdleHold
//!   timer brings the session back as after any error.
//! - refresh in: a ROUTE-REFRESH (RFC 2918) per negotiated family.
//! - refresh out: `Input::RefreshOut` to the engine, which re-sends the
//!   Adj-RIB-Out (within BoRR/EoRR under RFC 7313).
//! - clear max-prefix: `ClearHoldDown`.

use super::Task;
use crate::messages::control::{ControlRefused, NeighborAction};
use crate::messages::{Encoded, Input};
use crate::session::fsm::{Event, State};
use crate::wire::iana::{MessageType, RouteRefreshSubtype};
use crate::wire::notification::MAX_SHUTDOWN_COMMUNICATION;
use crate::wire::{Afi, Message, Notification, RouteRefresh, Safi};
use std::time::Instant;
use tracing::{debug, info};

impl Task {
    /// Carries out one action; the answer says what was done.
    pub(super) async fn control(
        &mut self,
        action: NeighborAction,
    ) -> Result<String, ControlRefused> {
        let name = self.name.clone();
        let state = self.fsm.state();
        match action {
            NeighborAction::Shutdown { message } => {
                let text = message.unwrap_or_default();
                let cut = cut_note(&text);
                let had_session = matches!(
                    state,
                    State::OpenSent | State::OpenConfirm | State::Established
                );
                self.feed(Event::ManualStop {
                    communication: text,
                })
                .await;
                Ok(if had_session {
                    format!(
                        "{name}: Cease/Administrative Shutdown sent{cut} (was {}); down until enable",
                        state.as_str()
                    )
                } else {
                    format!(
                        "{name}: administratively down (was {}) until enable",
                        state.as_str()
                    )
                })
            }
            NeighborAction::Enable => {
                if self.neighbor.shutdown {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} is shut down in the configuration (shutdown = true): change it there and reload"
                    )));
                }
                if self.fsm.enabled() {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} is not shut down (state {})",
                        state.as_str()
                    )));
                }
                self.admin_down = false;
                self.feed(self.start_event()).await;
                Ok(format!(
                    "{name}: enabled (state {})",
                    self.fsm.state().as_str()
                ))
            }
            NeighborAction::Reset { message } => {
                if !self.fsm.enabled() {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} is administratively down: enable it instead"
                    )));
                }
                if state == State::Idle {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} has no session to reset (Idle)"
                    )));
                }
                let text = message.unwrap_or_default();
                let cut = cut_note(&text);
                self.feed(Event::AutomaticStop {
                    notification: Notification::admin_reset(&text),
                    hold_down: None,
                })
                .await;
                Ok(
                    if state == State::Established
                        || state == State::OpenConfirm
                        || state == State::OpenSent
                    {
                        format!(
                            "{name}: Cease/Administrative Reset sent{cut} (was {}); reconnecting",
                            state.as_str()
                        )
                    } else {
                        format!(
                            "{name}: connection attempt dropped (was {}); reconnecting",
                            state.as_str()
                        )
                    },
                )
            }
            NeighborAction::RefreshIn => {
                let families = self.established_families(&name)?;
                let Some(n) = self.fsm.negotiated() else {
                    return Err(not_established(&name, state));
                };
                if !n.route_refresh {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} did not advertise the route refresh capability (RFC 2918): reset the session to get its routes again"
                    )));
                }
                let enhanced = n.enhanced_route_refresh;
                let Some(id) = self.fsm.main_conn() else {
                    return Err(not_established(&name, state));
                };
                for &(afi, safi) in &families {
                    let m = Message::RouteRefresh(RouteRefresh {
                        afi,
                        safi,
                        subtype: RouteRefreshSubtype::Normal as u8,
                    });
                    self.send(id, &m).await;
                }
                info!(families = %family_list(&families), enhanced, "ROUTE-REFRESH sent");
                Ok(format!(
                    "{name}: ROUTE-REFRESH sent for {}{}",
                    family_list(&families),
                    if enhanced {
                        " (enhanced route refresh)"
                    } else {
                        ""
                    }
                ))
            }
            NeighborAction::RefreshOut => {
                let families = self.established_families(&name)?;
                let enhanced = self
                    .fsm
                    .negotiated()
                    .is_some_and(|n| n.enhanced_route_refresh);
                self.tell_engine(Input::RefreshOut {
                    neighbor: name.clone(),
                    families: families.clone(),
                })
                .await;
                Ok(format!(
                    "{name}: our routes are being sent again for {}{}",
                    family_list(&families),
                    if enhanced { " (within BoRR/EoRR)" } else { "" }
                ))
            }
            NeighborAction::ClearMaxPrefix => {
                let now = Instant::now();
                let Some(until) = self.fsm.hold_down_until().filter(|&t| t > now) else {
                    return Err(ControlRefused::Conflict(format!(
                        "{name} serves no max-prefix restart penalty (state {})",
                        state.as_str()
                    )));
                };
                let left = until.saturating_duration_since(now).as_secs();
                self.feed(Event::ClearHoldDown).await;
                Ok(format!(
                    "{name}: max-prefix penalty cleared ({left} s were left; state {})",
                    self.fsm.state().as_str()
                ))
            }
        }
    }

    /// The negotiated families of an Established session.
    fn established_families(&self, name: &str) -> Result<Vec<(Afi, Safi)>, ControlRefused> {
        let state = self.fsm.state();
        match (state, self.fsm.negotiated()) {
            (State::Established, Some(n)) => Ok(n.families.clone()),
            _ => Err(not_established(name, state)),
        }
    }

    /// What a ROUTE-REFRESH from the peer means for the engine (RFC 7313
    /// §4/§5): subtype 0 asks for our routes; BoRR/EoRR demarcate the
    /// peer's own re-advertisement (meaningful only when Enhanced Route
    /// Refresh was negotiated); any other subtype is ignored.
    pub(super) fn refresh_input(&self, rr: RouteRefresh) -> Option<Input> {
        let enhanced = self
            .fsm
            .negotiated()
            .is_some_and(|n| n.enhanced_route_refresh);
        let end = match rr.subtype {
            s if s == RouteRefreshSubtype::Normal as u8 => {
                return Some(Input::RouteRefresh {
                    neighbor: self.name.clone(),
                    afi: rr.afi,
                    safi: rr.safi,
                })
            }
            s if s == RouteRefreshSubtype::BoRR as u8 => false,
            s if s == RouteRefreshSubtype::EoRR as u8 => true,
            other => {
                debug!(
                    subtype = other,
                    "ROUTE-REFRESH with an unknown subtype ignored"
                );
                return None;
            }
        };
        if !enhanced {
            debug!(
                subtype = rr.subtype,
                "BoRR/EoRR without enhanced route refresh ignored"
            );
            return None;
        }
        Some(Input::RefreshDemarcation {
            neighbor: self.name.clone(),
            afi: rr.afi,
            safi: rr.safi,
            end,
        })
    }
}

/// The metric type of an encoded piece from the engine: UPDATEs, or the
/// one BoRR/EoRR ROUTE-REFRESH message (RFC 7313) it sends alone.
pub(super) fn piece_type(e: &Encoded) -> &'static str {
    // The message type follows the 16-octet marker and the 2-octet length.
    if e.messages() == 1 && e.bytes().get(18) == Some(&(MessageType::RouteRefresh as u8)) {
        "route_refresh"
    } else {
        "update"
    }
}

/// Says so when the communication is longer than RFC 9003 allows (the
/// NOTIFICATION carries it cut on a character boundary).
fn cut_note(text: &str) -> String {
    if text.len() > MAX_SHUTDOWN_COMMUNICATION {
        format!(" (message cut to {MAX_SHUTDOWN_COMMUNICATION} octets, RFC 9003)")
    } else {
        String::new()
    }
}

fn not_established(name: &str, state: State) -> ControlRefused {
    ControlRefused::Conflict(format!(
        "{name} is not Established (state {})",
        state.as_str()
    ))
}

/// `ipv4 unicast, ipv6 unicast`.
fn family_list(families: &[(Afi, Safi)]) -> String {
    let one = |&(afi, safi): &(Afi, Safi)| {
        let a = match afi {
            Afi::IPV4 => "ipv4".to_string(),
            Afi::IPV6 => "ipv6".to_string(),
            Afi(n) => format!("afi {n}"),
        };
        let s = match safi {
            Safi::UNICAST => "unicast".to_string(),
            Safi(n) => format!("safi {n}"),
        };
        format!("{a} {s}")
    };
    families.iter().map(one).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_communication_over_255_octets_is_said_to_be_cut() {
        assert_eq!(cut_note(&"é".repeat(127)), "", "254 octets fit");
        assert!(cut_note(&"é".repeat(128)).contains("cut to 255 octets"));
    }

    #[test]
    fn a_borr_piece_counts_as_a_route_refresh_and_updates_as_updates() {
        let codec = crate::wire::Codec::default();
        let piece = |m: Message| {
            let mut b = bytes::BytesMut::new();
            m.encode(&codec, &mut b).expect("encodes");
            Encoded::ready(b.freeze(), 1, codec)
        };
        let borr = piece(Message::RouteRefresh(RouteRefresh {
            afi: Afi::IPV4,
            safi: Safi::UNICAST,
            subtype: RouteRefreshSubtype::BoRR as u8,
        }));
        assert_eq!(piece_type(&borr), "route_refresh");
        let eor = piece(Message::from(crate::wire::Update::default()));
        assert_eq!(piece_type(&eor), "update");
    }

    #[test]
    fn families_are_named_for_people() {
        let f = [(Afi::IPV4, Safi::UNICAST), (Afi::IPV6, Safi::UNICAST)];
        assert_eq!(family_list(&f), "ipv4 unicast, ipv6 unicast");
    }
}
