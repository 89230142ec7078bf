//! The route engine tokio task: messages in over `ToEngine`, outputs on the
//! session's `ToPeer` channel, queries answered over oneshot.

use coldpotato::config::Config;
use coldpotato::messages::{NeighborName, Query, QueryReply, SessionInfo, ToEngine, ToPeer};
use coldpotato::wire::{Afi, Codec, Safi};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const CONFIG: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[[locations]]
name = "ams"

[[neighbors]]
name = "transit"
address = "127.0.0.2"
remote_as = 3356
location = "ams"
role = "transit"

[[originate]]
prefix = "198.51.100.0/24"
"#;

#[tokio::test]
async fn the_task_delivers_the_initial_dump_and_answers_queries() {
    let cfg: Config = toml::from_str(CONFIG).unwrap();
    let cfg = coldpotato::running::Running::new(cfg).expect("policies compile");
    let (tx, rx) = mpsc::channel(16);
    let engine = tokio::spawn(coldpotato::engine::run(cfg, rx));
    let (peer_tx, mut peer_rx) = mpsc::channel(4);
    let info = SessionInfo {
        remote_as: 3356,
        remote_id: "127.0.0.2".parse().unwrap(),
        local_address: "127.0.0.1".parse().unwrap(),
        remote_address: "127.0.0.2".parse().unwrap(),
        codec: Codec::default(),
        families: vec![(Afi::IPV4, Safi::UNICAST)],
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: None,
        hold_time: 90,
        wire: Default::default(),
    };
    for m in ToEngine::session_up(NeighborName::from("transit"), info, peer_tx) {
        tx.send(m).await.unwrap();
    }
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), peer_rx.recv())
            .await
            .unwrap()
            .unwrap()
    };
    // First what the session runs import policy with, then the dump.
    let msg = next().await;
    assert!(matches!(msg, ToPeer::ImportEval(_)), "{msg:?}");
    match next().await {
        ToPeer::Wire(e) => {
            let updates = e.updates().unwrap();
            assert_eq!(
                updates[0].nlri[0].prefix,
                "198.51.100.0/24".parse().unwrap()
            );
            assert_eq!(
                updates.last().cloned().unwrap_or_default(),
                Default::default(),
                "End-of-RIB last"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let (qtx, qrx) = oneshot::channel();
    tx.send(ToEngine::Query(Query::Neighbors, qtx))
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(5), qrx)
        .await
        .unwrap()
        .unwrap()
    {
        QueryReply::Neighbors(n) => assert_eq!(n[0].state, "Established"),
        other => panic!("unexpected {other:?}"),
    }
    drop(tx);
    tokio::time::timeout(Duration::from_secs(5), engine)
        .await
        .unwrap()
        .unwrap();
}
