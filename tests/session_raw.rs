//! Our peer task against a scripted peer that speaks raw BGP over a plain
//! TCP socket (using the wire codec): checks our OPEN, the switch to the
//! negotiated codec for a 2-octet-AS peer, and the exact NOTIFICATIONs we
//! send for a bad hold time and for a broken message header.

mod common;

use common::session_util as util;

use bytes::BytesMut;
use coldpotato::messages::{Input, SessionState, ToEngine};
use coldpotato::session::conn::Framer;
use coldpotato::wire::{
    AddPathPrefix, Afi, AsPath, Capability, Codec, Message, Open, Origin, PathAttributes, Safi,
    Update,
};
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use util::*;

const THEIR_AS: u32 = 64500;
const OUR_AS: u32 = 65001;

/// Reads the next whole message (5 s limit).
async fn read_msg(s: &mut TcpStream, f: &mut Framer, codec: &Codec) -> Option<Message> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(Some(m)) = f.next_message(codec) {
            return Some(m);
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => f.extend(&buf[..n]),
            _ => return None,
        }
    }
}

fn encode(msgs: &[Message], codec: &Codec) -> Result<BytesMut, Box<dyn std::error::Error>> {
    let mut out = BytesMut::new();
    for m in msgs {
        m.encode(codec, &mut out)?;
    }
    Ok(out)
}

/// A scripted peer on 127.0.0.6 and our task connecting to it.
async fn scripted() -> Result<(TcpListener, TestPeer), Box<dyn std::error::Error>> {
    let l = TcpListener::bind("127.0.0.6:0").await?;
    let port = l.local_addr()?.port();
    let us = spawn_peer(
        neighbor(
            "raw",
            "127.0.0.6",
            THEIR_AS,
            &format!(
                "port = {port}\nlocal_address = \"127.0.0.1\"\nhold_time_s = 30\nsend_hold_time_s = 3"
            ),
        ),
        OUR_AS,
        Ipv4Addr::new(10, 0, 0, 1),
        None,
    );
    Ok((l, us))
}

fn two_octet_open(hold_time: u16) -> Open {
    Open {
        version: 4,
        my_as: THEIR_AS as u16,
        hold_time,
        bgp_id: Ipv4Addr::new(10, 0, 0, 6),
        capabilities: vec![],
    }
}

#[tokio::test]
async fn two_octet_peer_gets_our_open_and_its_update_is_decoded_with_two_octet_paths() -> TestResult
{
    let (l, mut us) = scripted().await?;
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), l.accept()).await??;
    let mut f = Framer::default();
    let pre = Codec::default();

    let Some(Message::Open(ours)) = read_msg(&mut s, &mut f, &pre).await else {
        return Err("no OPEN from us".into());
    };
    assert_eq!(
        (ours.version, ours.my_as, ours.hold_time),
        (4, OUR_AS as u16, 30)
    );
    assert_eq!(ours.bgp_id, Ipv4Addr::new(10, 0, 0, 1));
    for cap in [
        Capability::FourOctetAs(OUR_AS),
        Capability::RouteRefresh,
        Capability::Multiprotocol {
            afi: Afi::IPV4,
            safi: Safi::UNICAST,
        },
        Capability::Multiprotocol {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
        },
    ] {
        assert!(ours.capabilities.contains(&cap), "our OPEN lacks {cap:?}");
    }
    assert!(ours
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::GracefulRestart(_))));

    // A peer without the 4-octet AS capability: its UPDATE, written right
    // behind its KEEPALIVE, uses 2-octet AS_PATHs.
    let two = Codec {
        four_octet_as: false,
        ..Codec::default()
    };
    s.write_all(&encode(
        &[Message::Open(two_octet_open(90)), Message::Keepalive],
        &two,
    )?)
    .await?;
    assert_eq!(
        read_msg(&mut s, &mut f, &two).await,
        Some(Message::Keepalive)
    );
    let update = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![THEIR_AS, 64501])),
            next_hop: Some("127.0.0.6".parse()?),
            ..PathAttributes::default()
        },
        nlri: vec![AddPathPrefix {
            path_id: None,
            prefix: "192.0.2.0/24".parse()?,
        }],
        ..Update::default()
    };
    s.write_all(&encode(
        &[Message::Keepalive, Message::from(update.clone())],
        &two,
    )?)
    .await?;

    let info = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::SessionUp { info, .. }) => Some(info),
        _ => None,
    })
    .await
    .ok_or("no SessionUp")?;
    assert!(!info.codec.four_octet_as);
    assert_eq!(
        info.families,
        vec![(Afi::IPV4, Safi::UNICAST)],
        "no MP capability: IPv4 only"
    );
    assert_eq!(info.hold_time, 30);
    let got = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::Update { update, .. }) => Some(*update),
        _ => None,
    })
    .await
    .ok_or("no Update")?;
    assert_eq!(got.attrs.as_path, update.attrs.as_path);
    assert_eq!(got.nlri, update.nlri);

    // A broken marker: Message Header Error / Connection Not Synchronized.
    s.write_all(&[0u8; 19]).await?;
    let n = read_msg(&mut s, &mut f, &two).await;
    let Some(Message::Notification(n)) = n else {
        return Err(format!("expected a NOTIFICATION, got {n:?}").into());
    };
    assert_eq!((n.code, n.subcode), (1, 1));
    let down = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::SessionDown {
            reason,
            graceful_restart,
            ..
        }) => Some((reason, graceful_restart)),
        _ => None,
    })
    .await;
    assert_eq!(
        down,
        Some((
            "sent NOTIFICATION Message Header Error/Connection Not Synchronized".into(),
            None
        ))
    );
    let _ = us.shutdown.send(Some("bye".into()));
    us.handle.join().await;
    Ok(())
}

#[tokio::test]
async fn hold_time_of_one_second_is_refused_with_unacceptable_hold_time() -> TestResult {
    let (l, mut us) = scripted().await?;
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), l.accept()).await??;
    let mut f = Framer::default();
    let c = Codec::default();
    let _ours = read_msg(&mut s, &mut f, &c).await.ok_or("no OPEN")?;
    s.write_all(&encode(&[Message::Open(two_octet_open(1))], &c)?)
        .await?;
    let n = read_msg(&mut s, &mut f, &c).await;
    let Some(Message::Notification(n)) = n else {
        return Err(format!("expected a NOTIFICATION, got {n:?}").into());
    };
    assert_eq!((n.code, n.subcode), (2, 6));
    let state = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::PeerState {
            state: SessionState::Idle,
            last_error,
            ..
        }) => last_error,
        _ => None,
    })
    .await;
    assert_eq!(
        state.as_deref(),
        Some("sent NOTIFICATION OPEN Message Error/Unacceptable Hold Time")
    );
    let _ = us.shutdown.send(Some("bye".into()));
    us.handle.join().await;
    Ok(())
}

#[tokio::test]
async fn dropped_connection_keeps_routes_for_the_peers_restart_time_and_counts_metrics(
) -> TestResult {
    let (l, mut us) = scripted().await?;
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), l.accept()).await??;
    let mut f = Framer::default();
    let c = Codec::default();
    let _ours = read_msg(&mut s, &mut f, &c).await.ok_or("no OPEN")?;
    let mut open = two_octet_open(90);
    open.capabilities = vec![
        Capability::FourOctetAs(THEIR_AS),
        Capability::GracefulRestart(coldpotato::wire::GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 77,
            families: vec![(Afi::IPV4, Safi::UNICAST, true)],
        }),
    ];
    s.write_all(&encode(&[Message::Open(open), Message::Keepalive], &c)?)
        .await?;
    assert_eq!(read_msg(&mut s, &mut f, &c).await, Some(Message::Keepalive));
    wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::SessionUp { .. }) => Some(()),
        _ => None,
    })
    .await
    .ok_or("no SessionUp")?;

    drop(s); // the peer's control plane "restarts": TCP closes, no NOTIFICATION
    let down = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Input(Input::SessionDown {
            graceful_restart, ..
        }) => Some(graceful_restart),
        _ => None,
    })
    .await;
    assert_eq!(down, Some(Some(Duration::from_secs(77))));

    let text = coldpotato::metrics::gather();
    for want in [
        r#"coldpotato_session_established_total{location="lab",neighbor="raw"}"#,
        r#"coldpotato_messages_received_total{location="lab",neighbor="raw",type="open"}"#,
        r#"coldpotato_messages_sent_total{location="lab",neighbor="raw",type="keepalive"}"#,
        r#"coldpotato_session_state{location="lab",neighbor="raw",state="Idle"}"#,
    ] {
        assert!(text.contains(want), "metrics lack {want}");
    }
    let _ = us.shutdown.send(Some("bye".into()));
    us.handle.join().await;
    Ok(())
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_by_the_send_hold_timer() -> TestResult {
    const N: u32 = 2_500_000;
    let (l, mut us) = scripted().await?;
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), l.accept()).await??;
    let mut f = Framer::default();
    let c = Codec::default();
    let _ours = read_msg(&mut s, &mut f, &c).await.ok_or("no OPEN")?;
    s.write_all(&encode(
        &[Message::Open(two_octet_open(3)), Message::Keepalive],
        &c,
    )?)
    .await?;
    let tx = wait_for(&mut us.engine, Duration::from_secs(5), |m| match m {
        ToEngine::Attach { tx, .. } => Some(tx),
        _ => None,
    })
    .await
    .ok_or("no SessionUp")?;

    // The peer keeps sending KEEPALIVEs (so our hold timer never fires) but
    // reads nothing, while the engine pushes ~10 MB of UPDATEs at it.
    let (_rd, mut wr) = s.into_split();
    let keepalives = tokio::spawn(async move {
        let mut ka = BytesMut::new();
        if Message::Keepalive
            .encode(&Codec::default(), &mut ka)
            .is_err()
        {
            return;
        }
        for _ in 0..30 {
            if wr.write_all(&ka).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let base = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![OUR_AS])),
            next_hop: Some("127.0.0.1".parse()?),
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    let updates = (0..N / 100_000)
        .map(|chunk| {
            let nlri = (0..100_000u32)
                .map(|i| {
                    let a = Ipv4Addr::from(0x0100_0000 + ((chunk * 100_000 + i) << 8));
                    Ok(AddPathPrefix {
                        path_id: None,
                        prefix: ipnet::Ipv4Net::new(a, 24)?.into(),
                    })
                })
                .collect::<Result<Vec<_>, ipnet::PrefixLenError>>()?;
            Ok(Update {
                nlri,
                ..base.clone()
            })
        })
        .collect::<Result<Vec<_>, ipnet::PrefixLenError>>()?;
    let t0 = tokio::time::Instant::now();
    tx.send(coldpotato::messages::ToPeer::Send(updates)).await?;
    let reason = wait_for(&mut us.engine, Duration::from_secs(15), |m| match m {
        ToEngine::Input(Input::SessionDown { reason, .. }) => Some(reason),
        _ => None,
    })
    .await
    .ok_or("a peer that reads nothing kept its session")?;
    let took = t0.elapsed();
    eprintln!("write stall detected after {took:?}: {reason}");
    // RFC 9687, with send_hold_time_s = 3 (the hold time, 30 s, never
    // fires: the peer keeps sending KEEPALIVEs).
    assert_eq!(reason, "sent NOTIFICATION Send Hold Timer Expired");
    assert!(
        took < Duration::from_secs(12),
        "took {took:?}, not the send hold time"
    );
    keepalives.abort();
    let _ = us.shutdown.send(Some("bye".into()));
    us.handle.join().await;
    Ok(())
}
