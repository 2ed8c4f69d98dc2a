//! Multi-node fan-out on a real `redis-server`: nodes are `RedisFanout`s
//! in this process on one Redis, subscribers are their `Subscription`s.
//! The shared server comes from `SSEKIT_REDIS_URL` (`.ci/run` starts one);
//! the fault tests start private ones.

mod redis_common;

use core::time::Duration;
use std::collections::HashSet;

use bytes::Bytes;
use futures::StreamExt;
use redis_common::{redis_url, unique_key, RedisServer};
use ssekit::adapters::hub::{GapReason, HubConfig, Resume, Subscription};
use ssekit::adapters::redis::{RedisConfig, RedisFanout};
use ssekit::Event;

/// How long any one wait for an event may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn redis_config(test: &str) -> RedisConfig {
    let mut config = RedisConfig::default();
    config.key_prefix = format!("{}:", unique_key(test));
    config.block = Duration::from_millis(500);
    config.reconnect_min = Duration::from_millis(20);
    config.reconnect_max = Duration::from_millis(200);
    config
}

async fn node(url: &str, hub: HubConfig, config: &RedisConfig) -> RedisFanout {
    RedisFanout::connect(url, hub, config.clone())
        .await
        .expect("redis answers")
}

/// The next frame, its ID and its data; `None` at the end of the stream.
async fn next(sub: &mut Subscription) -> Option<(String, String)> {
    let text = next_frame(sub).await?;
    assert!(text.contains("data: "), "not an event: {text:?}");
    Some(parse(&text))
}

/// The next frame as text; `None` at the end of the stream.
async fn next_frame(sub: &mut Subscription) -> Option<String> {
    let frame: Bytes = match tokio::time::timeout(PATIENCE, sub.next()).await {
        Ok(frame) => frame?,
        Err(_) => panic!("no frame within 10 s: {sub:?}"),
    };
    Some(String::from_utf8(frame.to_vec()).unwrap())
}

/// The ID and data of an event frame.
fn parse(text: &str) -> (String, String) {
    let mut id = String::new();
    let mut data = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = v.to_string();
        }
    }
    (id, data)
}

async fn publish_range(node: &RedisFanout, topic: &str, range: core::ops::Range<u32>) {
    for n in range {
        node.publish(topic, &Event::new(n.to_string()))
            .await
            .expect("XADD");
    }
}

#[tokio::test]
async fn a_subscriber_on_one_node_gets_what_another_node_publishes() {
    let url = redis_url();
    let config = redis_config("two-nodes");
    let a = node(&url, HubConfig::default(), &config).await;
    let b = node(&url, HubConfig::default(), &config).await;
    let mut sub = a.subscribe("news", None).await.unwrap();
    assert_eq!(sub.resume(), Resume::Fresh);
    let typed = Event::builder()
        .event_type("update")
        .data("line 1\nline 2")
        .build()
        .unwrap();
    let id = b.publish("news", &typed).await.unwrap();
    let frame = tokio::time::timeout(PATIENCE, sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        frame,
        format!("event: update\nid: {id}\ndata: line 1\ndata: line 2\n\n")
    );
    assert_eq!(
        a.redis_stats().reader_connects,
        1,
        "one reader for the topic"
    );
}

#[tokio::test]
async fn one_reader_per_topic_whatever_the_subscriber_count() {
    let url = redis_url();
    let config = redis_config("one-reader");
    let a = node(&url, HubConfig::default(), &config).await;
    let mut subs = Vec::new();
    for _ in 0..200 {
        subs.push(a.subscribe("t", None).await.unwrap());
    }
    publish_range(&a, "t", 0..5).await;
    for sub in &mut subs {
        for n in 0..5 {
            assert_eq!(next(sub).await.unwrap().1, n.to_string());
        }
    }
    assert_eq!(a.redis_stats().reader_connects, 1);
    assert_eq!(
        a.hub().stats().published,
        5,
        "each entry pushed once, for 200 subscribers"
    );
}

/// Kill a client at a random point, publish more, reconnect it to a random
/// node (three nodes, small windows so that many resumes read Redis):
/// every event exactly once, in order.
#[tokio::test]
async fn random_kills_and_reconnects_to_other_nodes_lose_and_repeat_nothing() {
    let url = redis_url();
    let config = redis_config("kills");
    let mut hub = HubConfig::default();
    hub.replay_events = 16;
    let nodes = [
        node(&url, hub.clone(), &config).await,
        node(&url, hub.clone(), &config).await,
        node(&url, hub, &config).await,
    ];
    // A deterministic sequence of kill points and nodes (xorshift).
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let total: u32 = 2_000;
    let mut published;
    let mut received: Vec<u32> = Vec::new();
    let mut last_id: Option<String>;
    let mut reconnects = 0;
    let mut seen = HashSet::new();
    let mut ended_by_hub = 0;
    // A first event, read: a client without an ID yet would start live.
    {
        let mut sub = nodes[0].subscribe("t", None).await.unwrap();
        publish_range(&nodes[1], "t", 0..1).await;
        let (id, data) = next(&mut sub).await.unwrap();
        seen.insert(id.clone());
        received.push(data.parse().unwrap());
        last_id = Some(id);
        published = 1;
    }
    while received.len() < total as usize {
        let on = &nodes[random(3) as usize];
        let mut sub = on.subscribe("t", last_id.as_deref()).await.unwrap();
        if last_id.is_some() {
            assert_eq!(sub.resume(), Resume::Exact);
        }
        reconnects += 1;
        // Publish a random burst from a random node while connected ...
        let burst = (random(60) as u32 + 1).min(total - published);
        publish_range(
            &nodes[random(3) as usize],
            "t",
            published..published + burst,
        )
        .await;
        published += burst;
        // ... read a random part of what is due (all of it at the end),
        // then drop the client. A stream the hub ends (this client fell
        // out of a node's 16-event window: `retry:`, then the end) is a
        // reconnection too, as it is for a browser.
        let due = published as usize - received.len();
        let mut read = random(due as u64 + 1) as usize;
        if published == total {
            read = due;
        }
        for _ in 0..read {
            let Some(text) = next_frame(&mut sub).await else {
                break;
            };
            if text.starts_with("retry:") {
                ended_by_hub += 1;
                break;
            }
            let (id, data) = parse(&text);
            assert!(seen.insert(id.clone()), "{id} twice");
            received.push(data.parse().unwrap());
            last_id = Some(id);
        }
    }
    let want: Vec<u32> = (0..total).collect();
    assert_eq!(received, want, "every event once, in order");
    let history: u64 = nodes.iter().map(|n| n.redis_stats().history_reads).sum();
    eprintln!(
        "{total} events, {reconnects} connections ({ended_by_hub} ended by the hub), {history} replays read from Redis"
    );
    assert!(
        history > 0,
        "some resumes were older than the 16-event windows"
    );
}

#[tokio::test]
async fn an_id_trimmed_from_the_stream_is_a_gap() {
    let url = redis_url();
    let mut config = redis_config("trimmed");
    config.stream_max_len = 10;
    let mut hub = HubConfig::default();
    hub.replay_events = 5;
    let a = node(&url, hub.clone(), &config).await;
    let first = a.publish("t", &Event::new("0")).await.unwrap();
    // Exact `MAXLEN` is not promised with `~`: publish well past it.
    publish_range(&a, "t", 1..2_000).await;
    let b = node(&url, hub, &config).await;
    let sub = b.subscribe("t", Some(&first.to_string())).await.unwrap();
    assert_eq!(sub.resume(), Resume::Gap(GapReason::TooOld));
    let unknown = b.subscribe("t", Some("not-an-id")).await.unwrap();
    assert_eq!(unknown.resume(), Resume::Gap(GapReason::Unknown));
}

/// `CLIENT KILL` of every normal connection, repeatedly, while events are
/// published: the readers reconnect by themselves and every subscriber gets
/// every event exactly once.
#[tokio::test]
async fn killed_redis_connections_are_recovered_without_loss() {
    let server = RedisServer::start();
    let url = server.url();
    let config = redis_config("client-kill");
    let a = node(&url, HubConfig::default(), &config).await;
    let b = node(&url, HubConfig::default(), &config).await;
    let publisher = node(&url, HubConfig::default(), &config).await;
    let mut subs = vec![
        a.subscribe("t", None).await.unwrap(),
        b.subscribe("t", None).await.unwrap(),
    ];
    let mut n = 0;
    for round in 0..10 {
        for _ in 0..50 {
            // A publish can fail while its connection is being killed: retry.
            let event = Event::new(n.to_string());
            while publisher.publish("t", &event).await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            n += 1;
        }
        let killed = server.command(&["CLIENT", "KILL", "TYPE", "normal"]);
        assert!(killed.starts_with(':'), "round {round}: {killed}");
    }
    for sub in &mut subs {
        for want in 0..n {
            assert_eq!(next(sub).await.unwrap().1, want.to_string());
        }
    }
    let errors = a.redis_stats().reader_errors + b.redis_stats().reader_errors;
    eprintln!("{n} events through 10 CLIENT KILLs; {errors} reader reconnections");
    assert!(errors > 0, "the kills reached the readers");
}

/// A restart of redis-server with append-only persistence: clients stay
/// subscribed, the nodes reconnect, nothing is lost or repeated.
#[tokio::test]
async fn a_redis_restart_with_persistence_loses_nothing() {
    let mut server = RedisServer::start_append_only();
    let url = server.url();
    let config = redis_config("restart");
    let a = node(&url, HubConfig::default(), &config).await;
    let b = node(&url, HubConfig::default(), &config).await;
    let mut sub_a = a.subscribe("t", None).await.unwrap();
    let mut sub_b = b.subscribe("t", None).await.unwrap();
    publish_range(&a, "t", 0..100).await;
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    let mut n = 100;
    while n < 200 {
        if a.publish("t", &Event::new(n.to_string())).await.is_ok() {
            n += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for sub in [&mut sub_a, &mut sub_b] {
        for want in 0..200 {
            assert_eq!(next(sub).await.unwrap().1, want.to_string());
        }
    }
    assert!(
        a.redis_stats().reader_errors > 0,
        "the reader saw the restart"
    );
    drop(server);
}

/// One subscriber stops reading while 1,000 events are published: the
/// others get everything, the slow one is ended with a `retry:` hint and
/// catches up through replay.
#[tokio::test]
async fn a_slow_subscriber_is_ended_and_catches_up_by_replay() {
    let url = redis_url();
    let config = redis_config("slow");
    let mut hub = HubConfig::default();
    hub.max_backlog_bytes = 64 * 1024;
    hub.replay_events = 100;
    let a = node(&url, hub, &config).await;
    let mut slow = a.subscribe("t", None).await.unwrap();
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut sub = a.subscribe("t", None).await.unwrap();
        others.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 1_001 {
                got.push(
                    next(&mut sub)
                        .await
                        .expect("never ended")
                        .1
                        .parse::<u32>()
                        .unwrap(),
                );
            }
            got
        }));
    }
    publish_range(&a, "t", 0..1).await;
    let (first_id, _) = next(&mut slow).await.unwrap();
    for chunk in 0..50 {
        let events: Vec<Event> = (1 + chunk * 20..21 + chunk * 20)
            .map(|n| Event::new(format!("{n:060}")))
            .collect();
        a.publish_all("t", &events).await.unwrap();
    }
    let want: Vec<u32> = (0..1_001).collect();
    for other in others {
        assert_eq!(other.await.unwrap(), want);
    }
    // The slow one: a retry hint, then the end.
    let frame = tokio::time::timeout(PATIENCE, slow.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame, "retry: 1000\n\n");
    assert!(slow.next().await.is_none());
    // Back with its Last-Event-ID: the 1,000 it missed, from Redis and the window.
    let mut back = a.subscribe("t", Some(&first_id)).await.unwrap();
    assert_eq!(back.resume(), Resume::Exact);
    for want in 1..1_001u32 {
        assert_eq!(
            next(&mut back).await.unwrap().1.parse::<u32>().unwrap(),
            want
        );
    }
    assert_eq!(a.hub().stats().disconnected_slow, 1);
}

#[tokio::test]
async fn an_id_ahead_of_the_stream_is_unknown() {
    let url = redis_url();
    let config = redis_config("ahead");
    let a = node(&url, HubConfig::default(), &config).await;
    publish_range(&a, "t", 0..3).await;
    let sub = a.subscribe("t", Some("99999999999999-0")).await.unwrap();
    assert_eq!(sub.resume(), Resume::Gap(GapReason::Unknown));
}

/// A client that replays, then falls behind while the stream is trimmed
/// far past it, is ended with the retry hint after the events it got in
/// order (no silent hole), and its next resume is a gap, not an exact
/// resume over the trimmed entries.
#[tokio::test]
async fn a_client_overtaken_by_trimming_is_ended_and_then_told_of_the_gap() {
    let url = redis_url();
    let mut config = redis_config("overtaken");
    config.stream_max_len = 1_000;
    let mut hub = HubConfig::default();
    hub.replay_events = 5;
    let a = node(&url, hub.clone(), &config).await;
    let ids: Vec<_> = {
        let events: Vec<Event> = (0..1_500).map(|n| Event::new(n.to_string())).collect();
        a.publish_all("t", &events).await.unwrap()
    };
    // 1,000 or more are kept; resume 900 behind the end.
    let from = ids[599].to_string();
    let b = node(&url, hub, &config).await;
    let mut sub = b.subscribe("t", Some(&from)).await.unwrap();
    assert_eq!(sub.resume(), Resume::Exact);
    // The first batch (those 900) came with the subscription; now the
    // stream moves on by far more than its length, and the node's 5-event
    // window with it.
    for chunk in 0..10 {
        let events: Vec<Event> = (0..1_000)
            .map(|n| Event::new(format!("more {chunk} {n}")))
            .collect();
        a.publish_all("t", &events).await.unwrap();
    }
    let mut got = 0;
    let mut last = String::new();
    loop {
        let text = next_frame(&mut sub)
            .await
            .expect("a retry hint before the end");
        if text.starts_with("retry:") {
            break;
        }
        let (id, data) = parse(&text);
        assert_eq!(data, (600 + got).to_string(), "in order, no hole");
        got += 1;
        last = id;
    }
    assert_eq!(got, 900, "the first batch, then the end");
    assert!(next_frame(&mut sub).await.is_none());
    let again = b.subscribe("t", Some(&last)).await.unwrap();
    assert_eq!(again.resume(), Resume::Gap(GapReason::TooOld));
}
