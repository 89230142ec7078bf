//! Two of our own peer tasks on loopback: A (127.0.0.1, passive, behind
//! our listener) and B (connecting from 127.0.0.2). Sessions establish,
//! UPDATEs flow from A's engine channel to B's, and administrative
//! shutdown, BFD Down and max-prefix teardown behave as specified.

mod common;

use common::session_util as util;

use coldpotato::messages::{BfdStatus, Input, SessionState, ToEngine, ToPeer};
use coldpotato::session::codes::{cease, CeaseSubcode};
use coldpotato::wire::{AddPathPrefix, AsPath, Origin, PathAttributes, Update};
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use util::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A listens passively on 127.0.0.1, B connects to it from 127.0.0.2.
async fn pair(
    bfd_a: Option<watch::Receiver<BfdStatus>>,
) -> Result<Pair, Box<dyn std::error::Error>> {
    pair_with(bfd_a, "passive = true", "", false).await
}

/// Waits until A and B both report Established; the channels their
/// engines write to (A's, B's).
async fn both_up(
    p: &mut Pair,
) -> Result<(mpsc::Sender<ToPeer>, mpsc::Sender<ToPeer>), Box<dyn std::error::Error>> {
    let a = session_up(&mut p.a.engine, SECS(10))
        .await
        .ok_or("A never established")?;
    let b = session_up(&mut p.b.engine, SECS(10))
        .await
        .ok_or("B never established")?;
    Ok((a, b))
}

fn announcement() -> Result<Update, Box<dyn std::error::Error>> {
    Ok(Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![AS_A])),
            next_hop: Some("127.0.0.1".parse()?),
            ..PathAttributes::default()
        },
        nlri: vec![AddPathPrefix {
            path_id: None,
            prefix: "203.0.113.0/24".parse()?,
        }],
        ..Update::default()
    })
}

#[tokio::test]
async fn two_peer_tasks_establish_and_exchange_an_update() -> TestResult {
    let mut p = pair(None).await?;
    let (tx_a, _tx_b) = both_up(&mut p).await?;

    let eor = Update::end_of_rib(coldpotato::wire::Afi::IPV4, coldpotato::wire::Safi::UNICAST);
    tx_a.send(ToPeer::Send(vec![announcement()?, eor])).await?;
    let got = wait_for(&mut p.b.engine, SECS(5), |m| match m {
        ToEngine::Input(Input::Update { update, .. }) => Some(*update),
        _ => None,
    })
    .await
    .ok_or("no UPDATE at B")?;
    assert_eq!(got.nlri, announcement()?.nlri);
    assert_eq!(got.attrs.as_path, Some(AsPath::from_sequence(vec![AS_A])));
    let eor_seen = wait_for(&mut p.b.engine, SECS(5), |m| match m {
        ToEngine::Input(Input::Update { update, .. }) => Some(update.is_end_of_rib()),
        _ => None,
    })
    .await;
    assert_eq!(eor_seen, Some(true), "End-of-RIB is forwarded");

    // ROUTE-REFRESH (RFC 2918) from A's engine reaches B's.
    tx_a.send(ToPeer::RequestRefresh {
        afi: coldpotato::wire::Afi::IPV4,
        safi: coldpotato::wire::Safi::UNICAST,
    })
    .await?;
    let refresh = wait_for(&mut p.b.engine, SECS(5), |m| match m {
        ToEngine::Input(Input::RouteRefresh { afi, safi, .. }) => Some((afi, safi)),
        _ => None,
    })
    .await;
    assert_eq!(
        refresh,
        Some((coldpotato::wire::Afi::IPV4, coldpotato::wire::Safi::UNICAST))
    );

    // Administrative shutdown of A's session only: B hears the RFC 9003 text.
    p.a.handle.shutdown("maintenance window").await;
    let reason = session_down(&mut p.b.engine, SECS(5))
        .await
        .ok_or("B stayed up")?;
    assert_eq!(
        reason,
        "received NOTIFICATION Cease/Administrative Shutdown: \"maintenance window\""
    );
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn bfd_down_tears_the_session_down_until_bfd_is_up_again() -> TestResult {
    let (bfd_tx, bfd_rx) = watch::channel(BfdStatus::Up);
    let mut p = pair(Some(bfd_rx)).await?;
    both_up(&mut p).await?;

    bfd_tx.send(BfdStatus::Down)?;
    let reason = session_down(&mut p.b.engine, SECS(5))
        .await
        .ok_or("B stayed up")?;
    assert_eq!(reason, "received NOTIFICATION Cease/BFD Down");
    // B keeps retrying every ≤ 1 s; A must refuse while BFD is Down.
    let seen = states_during(&mut p.a.engine, SECS(3)).await;
    // Skip what was reported before the teardown.
    let a_states: Vec<_> = seen
        .iter()
        .skip_while(|s| **s != SessionState::Idle)
        .collect();
    assert!(!a_states.is_empty(), "A never went Idle: {seen:?}");
    assert!(
        !a_states.contains(&&SessionState::OpenSent)
            && !a_states.contains(&&SessionState::Established),
        "A came back while BFD was down: {a_states:?}"
    );

    bfd_tx.send(BfdStatus::Up)?;
    session_up(&mut p.a.engine, SECS(10))
        .await
        .ok_or("A did not come back after BFD Up")?;
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn teardown_keeps_the_session_down_for_the_hold_down() -> TestResult {
    let mut p = pair(None).await?;
    let (tx_a, _) = both_up(&mut p).await?;

    let t0 = tokio::time::Instant::now();
    tx_a.send(ToPeer::Teardown {
        notification: cease(CeaseSubcode::MaxPrefixesReached),
        hold_down: Some(SECS(3)),
    })
    .await?;
    let reason = session_down(&mut p.b.engine, SECS(5))
        .await
        .ok_or("B stayed up")?;
    assert_eq!(
        reason,
        "received NOTIFICATION Cease/Maximum Number of Prefixes Reached"
    );
    session_up(&mut p.a.engine, SECS(10))
        .await
        .ok_or("A did not come back")?;
    let waited = t0.elapsed();
    assert!(
        waited >= SECS(3),
        "came back after {waited:?}, before the hold-down"
    );
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn simultaneous_connects_resolve_the_collision_into_one_stable_session() -> TestResult {
    let mut p = pair_with(None, "", "", true).await?;
    both_up(&mut p).await?;
    // Neither side flaps afterwards.
    assert_eq!(session_down(&mut p.a.engine, SECS(2)).await, None);
    assert_eq!(
        session_down(&mut p.b.engine, Duration::from_millis(100)).await,
        None
    );
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_table_of_200k_prefixes_crosses_the_session_complete() -> TestResult {
    const N: u32 = 200_000;
    let mut p = pair(None).await?;
    let (tx_a, _) = both_up(&mut p).await?;
    let base = announcement()?;
    let mut updates = Vec::new();
    for chunk in 0..N / 10_000 {
        let nlri = (0..10_000u32)
            .map(|i| {
                let n = chunk * 10_000 + i;
                let a = Ipv4Addr::from(0x0100_0000 + (n << 8));
                Ok(AddPathPrefix {
                    path_id: None,
                    prefix: ipnet::Ipv4Net::new(a, 24)?.into(),
                })
            })
            .collect::<Result<Vec<_>, ipnet::PrefixLenError>>()?;
        updates.push(Update {
            nlri,
            ..base.clone()
        });
    }
    let t0 = std::time::Instant::now();
    tx_a.send(ToPeer::Send(updates)).await?;
    let mut got = 0usize;
    let mut messages = 0usize;
    while got < N as usize {
        let n = wait_for(&mut p.b.engine, SECS(60), |m| match m {
            ToEngine::Input(Input::Update { update, .. }) => Some(update.nlri.len()),
            _ => None,
        })
        .await
        .ok_or(format!("stalled after {got} prefixes"))?;
        got += n;
        messages += 1;
    }
    let took = t0.elapsed();
    eprintln!(
        "{N} prefixes in {messages} UPDATEs in {took:?} ({:.0} prefixes/s, debug build)",
        f64::from(N) / took.as_secs_f64()
    );
    assert_eq!(got, N as usize);
    // Both sides offer Extended Message (RFC 8654), so 65535 octets per UPDATE.
    assert!(
        messages > (N as usize * 4) / 65535,
        "{messages} UPDATEs cannot hold {N} prefixes"
    );
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_stalled_engine_does_not_stop_the_session_writing_what_the_engine_sends() -> TestResult {
    let mut p = pair(None).await?;
    let (tx_a, tx_b) = both_up(&mut p).await?;
    // B floods A; nobody reads A's engine channel (capacity 64), so A's task
    // waits for room in it...
    let flood: Vec<Update> = (0..200).map(|_| announcement()).collect::<Result<_, _>>()?;
    tx_b.send(ToPeer::Send(flood)).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...while "the engine" pushes more than the ToPeer capacity (64) to A.
    let pushes = async {
        for _ in 0..200 {
            tx_a.send(ToPeer::Send(vec![announcement()?])).await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    tokio::time::timeout(SECS(10), pushes)
        .await
        .map_err(|_| "A stopped taking ToPeer messages: deadlock")??;
    let mut got = 0;
    while got < 200 {
        wait_for(&mut p.b.engine, SECS(10), |m| match m {
            ToEngine::Input(Input::Update { .. }) => Some(()),
            _ => None,
        })
        .await
        .ok_or(format!("B got only {got} of A's 200 UPDATEs"))?;
        got += 1;
    }
    // A's engine channel is still full and unread: shutdown must not hang.
    tokio::time::timeout(SECS(5), p.stop())
        .await
        .map_err(|_| "shutdown hung behind a stalled engine")?;
    Ok(())
}

/// The neighbor helper every peer-task test builds its config with.
#[test]
fn neighbor_helper_builds_a_config() {
    let n = neighbor("x", "127.0.0.9", 65009, "passive = true");
    assert!(n.passive);
    assert_eq!(n.remote_as, 65009);
}

/// The engine's import policy handed to a session (`ToPeer::ImportEval`)
/// runs in the session task: the UPDATE reaches the engine with its
/// verdicts worked out, under the generation it was handed.
#[tokio::test]
async fn a_session_sends_its_updates_with_the_verdicts_of_the_policy_it_was_handed() -> TestResult {
    use coldpotato::policy::ahead::{Ahead, ImportEval};
    use coldpotato::policy::PolicySet;
    let cfg = coldpotato::config::parse(
        r#"
[router]
asn = 65002
router_id = "192.0.2.2"
location = "ams"

[[locations]]
name = "ams"

[[neighbors]]
name = "a"
address = "127.0.0.1"
remote_as = 3356
location = "ams"
role = "transit"
builtin_rules = false
import_policy = "none-of-it"

[policy.none-of-it]
default = "reject"
"#,
        "test.toml",
    )
    .map_err(|e| e.to_string())?;
    let policy = std::sync::Arc::new(PolicySet::compile(&cfg).map_err(|e| format!("{e:?}"))?);
    let mut p = pair(None).await?;
    let (tx_a, tx_b) = both_up(&mut p).await?;
    let eval = ImportEval::new(7, policy, cfg.neighbors[0].clone());
    tx_b.send(ToPeer::ImportEval(std::sync::Arc::new(eval)))
        .await?;
    // B's task takes the ImportEval from its engine channel while A's
    // UPDATE travels over TCP: resend until one comes with verdicts.
    let mut ahead = None;
    for _ in 0..10 {
        tx_a.send(ToPeer::Send(vec![announcement()?])).await?;
        let got = wait_for(&mut p.b.engine, SECS(5), |m| match m {
            ToEngine::Input(Input::Update { ahead, .. }) => Some(ahead),
            _ => None,
        })
        .await
        .ok_or("no UPDATE at B")?;
        if got.is_some() {
            ahead = got;
            break;
        }
    }
    let ahead = ahead.ok_or("no verdicts with the UPDATEs")?;
    assert_eq!(ahead.generation, 7);
    assert!(
        matches!(ahead.nlri.as_slice(), [Ahead::Reject(r)] if r.rule == "none-of-it/default"),
        "{ahead:?}"
    );
    p.stop().await;
    Ok(())
}
