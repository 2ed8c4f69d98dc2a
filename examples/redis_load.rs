//! Load figures for the Redis fan-out, against a real `redis-server`:
//! publish and replay throughput, a reconnect storm, and exact replay
//! across three nodes under random kills. Prints one line per figure.
//!
//! ```text
//! redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes
//! cargo run --release --example redis_load -- redis://127.0.0.1:6390/ all
//! ```
//!
//! Modes: `publish`, `replay`, `storm`, `exact`, or `all`. Sizes are set by
//! the environment: `EVENTS` (publish/replay, default 200,000), `CLIENTS`
//! (storm, default 15,000), `SUBSCRIBERS` and `PER_SUBSCRIBER` (exact,
//! default 50 and 20,000: a million deliveries). Every key it writes
//! starts with `ssekit-load:<pid>:` and is deleted at the end.

use core::time::Duration;
use std::collections::HashSet;
use std::time::Instant;

use futures::StreamExt;
use ssekit::adapters::hub::{HubConfig, Position, Resume};
use ssekit::adapters::redis::{RedisConfig, RedisFanout};
use ssekit::Event;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(name: &str, max_len: usize) -> RedisConfig {
    let mut config = RedisConfig::default();
    config.key_prefix = format!("ssekit-load:{}:{name}:", std::process::id());
    config.stream_max_len = max_len;
    config
}

async fn node(url: &str, hub: HubConfig, config: &RedisConfig) -> RedisFanout {
    RedisFanout::connect(url, hub, config.clone())
        .await
        .expect("redis answers")
}

fn payload(n: usize) -> Event {
    // 60 bytes of data.
    Event::new(format!("{{\"n\":{n:>10},\"text\":\"{}\"}}", "x".repeat(39)))
}

/// Publishes `count` events in pipelines of 1,000; returns their IDs.
async fn publish(node: &RedisFanout, topic: &str, count: usize) -> Vec<Position> {
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        let n = ids.len();
        let batch: Vec<Event> = (n..(n + 1_000).min(count)).map(payload).collect();
        ids.extend(node.publish_all(topic, &batch).await.expect("XADD"));
    }
    ids
}

async fn publish_mode(url: &str) {
    let events = env("EVENTS", 200_000);
    let cfg = config("publish", events);
    let a = node(url, HubConfig::default(), &cfg).await;
    let started = Instant::now();
    publish(&a, "t", events).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "publish: {events} events of 60 bytes in pipelines of 1,000: {:.0} events/s",
        events as f64 / secs
    );
}

async fn replay_mode(url: &str) {
    let events = env("EVENTS", 200_000);
    let cfg = config("replay", events + 1);
    let a = node(url, HubConfig::default(), &cfg).await;
    let first = publish(&a, "t", events + 1).await[0];
    // A fresh node: its window is empty, so the replay reads the stream.
    let b = node(url, HubConfig::default(), &cfg).await;
    let started = Instant::now();
    let mut sub = b
        .subscribe("t", Some(&first.to_string()))
        .await
        .expect("subscribe");
    assert_eq!(sub.resume(), Resume::Exact);
    for _ in 0..events {
        sub.next().await.expect("the replay goes on");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replay: {events} entries through XRANGE in batches of 1,000 ({} reads): {:.0} entries/s",
        b.redis_stats().history_reads,
        events as f64 / secs
    );
}

async fn storm_mode(url: &str) {
    let clients = env("CLIENTS", 15_000);
    for (window, label) in [
        (1_000, "window covers"),
        (50, "window of 50: replay from Redis"),
    ] {
        let cfg = config(&format!("storm{window}"), 10_000);
        let mut hub = HubConfig::default();
        hub.replay_events = window;
        let a = node(url, hub, &cfg).await;
        // The node serves the topic, and its reader has read every event.
        drop(a.subscribe("t", None).await.expect("subscribe"));
        let ids = publish(&a, "t", 1_000).await;
        while a.hub().stats().published < 1_000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let behind = ids[899].to_string();
        let before = a.redis_stats().history_reads;
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(clients);
        for _ in 0..clients {
            let a = a.clone();
            let behind = behind.clone();
            tasks.push(tokio::spawn(async move {
                let mut sub = a.subscribe("t", Some(&behind)).await.expect("subscribe");
                for _ in 0..100 {
                    sub.next().await.expect("the replay");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client");
        }
        println!(
            "storm ({label}): {clients} clients 100 events behind all caught up in {:.0} ms, {} XRANGE reads",
            started.elapsed().as_secs_f64() * 1e3,
            a.redis_stats().history_reads - before
        );
    }
}

async fn exact_mode(url: &str) {
    let subscribers = env("SUBSCRIBERS", 50);
    let total = env("PER_SUBSCRIBER", 20_000);
    let cfg = config("exact", 1_000_000);
    let mut hub = HubConfig::default();
    hub.replay_events = 20;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(url, hub.clone(), &cfg).await);
    }
    // Every node reads the topic before anything is published.
    for node in &nodes {
        drop(node.subscribe("t", None).await.expect("subscribe"));
    }
    let publisher = nodes[0].clone();
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..subscribers {
        let nodes = nodes.clone();
        clients.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (c as u64 + 1);
            let mut random = move |below: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % below
            };
            let mut received = 0usize;
            let mut last: Option<String> = None;
            let (mut lost, mut duplicated, mut reordered, mut connections) =
                (0u64, 0u64, 0u64, 0u64);
            let mut seen = HashSet::new();
            // Subscribed before the publisher starts: nothing to miss.
            let mut sub = nodes[c % 3].subscribe("t", None).await.expect("subscribe");
            while received < total {
                connections += 1;
                let quota = random(2_000) + 1;
                for _ in 0..quota {
                    let Some(frame) = tokio::time::timeout(Duration::from_secs(30), sub.next())
                        .await
                        .expect("a frame within 30 s")
                    else {
                        break;
                    };
                    let text = String::from_utf8_lossy(&frame).into_owned();
                    if text.starts_with("retry:") {
                        break;
                    }
                    let id = text
                        .lines()
                        .find_map(|l| l.strip_prefix("id: "))
                        .expect("id")
                        .to_string();
                    let n: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("data: {\"n\":"))
                        .and_then(|rest| rest.split(',').next())
                        .and_then(|n| n.trim().parse().ok())
                        .expect("n");
                    if !seen.insert(n) {
                        duplicated += 1;
                    } else if n != received {
                        if n > received {
                            lost += (n - received) as u64;
                        } else {
                            reordered += 1;
                        }
                    }
                    received = n + 1;
                    last = Some(id);
                    if received == total {
                        break;
                    }
                }
                if received == total {
                    break;
                }
                drop(sub);
                let on = &nodes[random(3) as usize];
                sub = on
                    .subscribe("t", last.as_deref())
                    .await
                    .expect("resubscribe");
                assert_eq!(sub.resume(), Resume::Exact);
            }
            (received, lost, duplicated, reordered, connections)
        }));
    }
    let mut n = 0;
    while n < total {
        let batch: Vec<Event> = (n..(n + 100).min(total)).map(payload).collect();
        publisher.publish_all("t", &batch).await.expect("XADD");
        n += batch.len();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (mut delivered, mut lost, mut duplicated, mut reordered, mut connections) = (0, 0, 0, 0, 0);
    for client in clients {
        let (r, l, d, o, c) = client.await.expect("client");
        delivered += r;
        lost += l;
        duplicated += d;
        reordered += o;
        connections += c;
    }
    let reads: u64 = nodes.iter().map(|n| n.redis_stats().history_reads).sum();
    println!(
        "exact: {delivered} deliveries to {subscribers} subscribers over {connections} connections on 3 nodes \
         in {:.1} s ({reads} replays from Redis): {lost} lost, {duplicated} duplicated, {reordered} reordered",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    let mode = args.next().unwrap_or_else(|| "all".into());
    let all = mode == "all";
    if all || mode == "publish" {
        publish_mode(&url).await;
    }
    if all || mode == "replay" {
        replay_mode(&url).await;
    }
    if all || mode == "storm" {
        storm_mode(&url).await;
    }
    if all || mode == "exact" {
        exact_mode(&url).await;
    }
    // Clean up this run's streams, with one plain RESP command.
    let host = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string();
    if let Ok(mut conn) = std::net::TcpStream::connect(&host) {
        use std::io::{Read, Write};
        let keys: Vec<String> = ["publish", "replay", "storm1000", "storm50", "exact"]
            .iter()
            .map(|name| format!("ssekit-load:{}:{name}:t", std::process::id()))
            .collect();
        let mut command = format!("*{}\r\n$3\r\nDEL\r\n", keys.len() + 1);
        for key in &keys {
            command.push_str(&format!("${}\r\n{key}\r\n", key.len()));
        }
        let _ = conn.write_all(command.as_bytes());
        let mut reply = [0u8; 64];
        let _ = conn.read(&mut reply);
    }
}
