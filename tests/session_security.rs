//! Transport security end to end on loopback between two of our peer
//! tasks: TCP MD5 signatures (RFC 2385) and GTSM (RFC 5082).

mod common;

use common::session_util as util;

use std::time::Duration;
use util::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test]
async fn sessions_with_the_same_md5_key_establish() -> TestResult {
    let key = "password = \"s3cret-key\"";
    let mut p = pair_with(None, &format!("passive = true\n{key}"), key, false).await?;
    session_up(&mut p.a.engine, SECS(10))
        .await
        .ok_or("A never established")?;
    session_up(&mut p.b.engine, SECS(10))
        .await
        .ok_or("B never established")?;
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_wrong_md5_key_never_gets_a_session() -> TestResult {
    let mut p = pair_with(
        None,
        "passive = true\npassword = \"right\"",
        "password = \"wrong\"",
        false,
    )
    .await?;
    assert!(session_up(&mut p.b.engine, SECS(3)).await.is_none());
    assert!(session_up(&mut p.a.engine, Duration::from_millis(100))
        .await
        .is_none());
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_unsigned_peer_is_ignored_by_a_neighbor_with_an_md5_key() -> TestResult {
    let mut p = pair_with(None, "passive = true\npassword = \"right\"", "", false).await?;
    assert!(session_up(&mut p.b.engine, SECS(3)).await.is_none());
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn gtsm_on_both_sides_establishes() -> TestResult {
    let g = "ttl_security = true";
    let mut p = pair_with(None, &format!("passive = true\n{g}"), g, false).await?;
    session_up(&mut p.a.engine, SECS(10))
        .await
        .ok_or("A never established")?;
    session_up(&mut p.b.engine, SECS(10))
        .await
        .ok_or("B never established")?;
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn gtsm_drops_a_peer_that_sends_with_a_low_ttl() -> TestResult {
    // B sends with the default TTL 64, below A's minimum of 254.
    let mut p = pair_with(None, "passive = true\nttl_security = true", "", false).await?;
    assert!(session_up(&mut p.a.engine, SECS(3)).await.is_none());
    p.stop().await;
    Ok(())
}
