//! The hub's rules, one test each, on tokio's paused clock.

use core::time::Duration;
use std::string::{String, ToString};
use std::vec::Vec;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use ssekit_codec::Event;

use super::*;

fn event(data: &str) -> Event {
    Event::new(data.to_string())
}

/// Every frame ready now, without waiting.
fn ready(subscription: &mut Subscription) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while let Some(Some(frame)) = subscription.next().now_or_never() {
        frames.push(frame);
    }
    frames
}

fn text(frames: &[Bytes]) -> String {
    frames
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

fn data_of(frames: &[Bytes]) -> Vec<String> {
    text(frames)
        .lines()
        .filter_map(|l| l.strip_prefix("data: ").map(str::to_string))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_gets_the_same_frame_encoded_once() {
    let hub = Hub::default();
    let mut a = hub.subscribe("t", None).unwrap();
    let mut b = hub.subscribe("t", None).unwrap();
    let position = hub.publish("t", &event("hello")).unwrap();
    let fa = ready(&mut a);
    let fb = ready(&mut b);
    assert_eq!(fa.len(), 1);
    assert_eq!(fa[0], format!("id: {position}\ndata: hello\n\n"));
    // One encoding: both hold the very same bytes.
    assert_eq!(fa[0].as_ptr(), fb[0].as_ptr());
    let stats = hub.stats();
    assert_eq!(
        (stats.published, stats.delivered, stats.subscribers),
        (1, 2, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_fresh_subscriber_starts_live_or_at_the_oldest() {
    let hub = Hub::default();
    hub.publish("t", &event("old")).unwrap();
    let mut live = hub.subscribe("t", None).unwrap();
    assert_eq!(live.resume(), Resume::Fresh);
    assert!(ready(&mut live).is_empty());

    let hub = Hub::new(HubConfig {
        start: StartAt::Oldest,
        ..HubConfig::default()
    });
    hub.publish("t", &event("old")).unwrap();
    let mut oldest = hub.subscribe("t", None).unwrap();
    assert_eq!(data_of(&ready(&mut oldest)), ["old"]);
}

#[tokio::test(start_paused = true)]
async fn last_event_id_resumes_right_after_it() {
    let hub = Hub::default();
    let ids: Vec<Position> = (0..10)
        .map(|n| hub.publish("t", &event(&n.to_string())).unwrap())
        .collect();
    let mut sub = hub.subscribe("t", Some(&ids[6].to_string())).unwrap();
    assert_eq!(sub.resume(), Resume::Exact);
    assert_eq!(data_of(&ready(&mut sub)), ["7", "8", "9"]);
    hub.publish("t", &event("10")).unwrap();
    assert_eq!(data_of(&ready(&mut sub)), ["10"]);
    // The newest ID: nothing to replay, then live.
    let mut at_end = hub.subscribe("t", Some(&ids[9].to_string())).unwrap();
    assert_eq!(data_of(&ready(&mut at_end)), ["10"]);
}

#[tokio::test(start_paused = true)]
async fn replay_and_live_interleaved_have_no_gap_and_no_duplicate() {
    let hub = Hub::default();
    let first = hub.publish("t", &event("0")).unwrap();
    for n in 1..100 {
        hub.publish("t", &event(&n.to_string())).unwrap();
    }
    let mut sub = hub.subscribe("t", Some(&first.to_string())).unwrap();
    let mut got = Vec::new();
    // Publish while the replay is being read, 7 frames at a time.
    for n in 100..200 {
        hub.publish("t", &event(&n.to_string())).unwrap();
        for _ in 0..7 {
            if let Some(Some(frame)) = sub.next().now_or_never() {
                got.push(frame);
            }
        }
    }
    got.extend(ready(&mut sub));
    let want: Vec<String> = (1..200).map(|n| n.to_string()).collect();
    assert_eq!(data_of(&got), want);
}

#[tokio::test(start_paused = true)]
async fn ids_that_cannot_be_resumed_are_gaps_the_application_sees() {
    let hub = Hub::new(HubConfig {
        replay_events: 3,
        gap_frame: Some(Bytes::from_static(b"event: reset\ndata: \n\n")),
        ..HubConfig::default()
    });
    let ids: Vec<Position> = (0..10)
        .map(|n| hub.publish("t", &event(&n.to_string())).unwrap())
        .collect();
    let epoch = ids[0].major;

    let mut old = hub.subscribe("t", Some(&ids[2].to_string())).unwrap();
    assert_eq!(old.resume(), Resume::Gap(GapReason::TooOld));
    let frames = ready(&mut old);
    assert_eq!(frames[0], "event: reset\ndata: \n\n");
    assert_eq!(
        data_of(&frames[1..]),
        ["7", "8", "9"],
        "the retained ones, after the notice"
    );

    // The oldest retained event's predecessor is still an exact resume.
    let exact = hub.subscribe("t", Some(&ids[6].to_string())).unwrap();
    assert_eq!(exact.resume(), Resume::Exact);

    let other = hub
        .subscribe("t", Some(&format!("{}-5", epoch + 1)))
        .unwrap();
    assert_eq!(other.resume(), Resume::Gap(GapReason::OtherEpoch));
    let future = hub.subscribe("t", Some(&format!("{epoch}-99"))).unwrap();
    assert_eq!(future.resume(), Resume::Gap(GapReason::Unknown));
    let foreign = hub.subscribe("t", Some("42")).unwrap();
    assert_eq!(foreign.resume(), Resume::Gap(GapReason::Unknown));

    let stats = hub.stats();
    assert_eq!(
        (
            stats.gaps_too_old,
            stats.gaps_other_epoch,
            stats.gaps_unknown,
            stats.resumed
        ),
        (1, 1, 2, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_restarted_hub_has_a_new_epoch() {
    let before = Hub::default().publish("t", &event("a")).unwrap();
    let hub = Hub::default();
    let after = hub.publish("t", &event("b")).unwrap();
    assert_ne!(before.major, after.major);
    let sub = hub.subscribe("t", Some(&before.to_string())).unwrap();
    assert_eq!(sub.resume(), Resume::Gap(GapReason::OtherEpoch));
}

#[tokio::test(start_paused = true)]
async fn publisher_ids_are_kept_and_resumed_from() {
    let hub = Hub::default();
    for n in 0..5 {
        let e = Event::builder()
            .id(format!("order-{n}"))
            .data(n.to_string())
            .build()
            .unwrap();
        hub.publish("t", &e).unwrap();
    }
    let mut sub = hub.subscribe("t", Some("order-2")).unwrap();
    assert_eq!(sub.resume(), Resume::Exact);
    let frames = ready(&mut sub);
    assert_eq!(
        text(&frames),
        "id: order-3\ndata: 3\n\nid: order-4\ndata: 4\n\n"
    );
}

#[tokio::test(start_paused = true)]
async fn the_window_keeps_the_last_n_events_and_the_last_t_seconds() {
    let hub = Hub::new(HubConfig {
        replay_events: 5,
        replay_age: Duration::from_secs(10),
        start: StartAt::Oldest,
        ..HubConfig::default()
    });
    for n in 0..8 {
        hub.publish("t", &event(&n.to_string())).unwrap();
    }
    assert_eq!(hub.stats().retained_events, 5);
    tokio::time::advance(Duration::from_secs(11)).await;
    hub.publish("t", &event("late")).unwrap();
    let mut sub = hub.subscribe("t", None).unwrap();
    assert_eq!(data_of(&ready(&mut sub)), ["late"]);
    tokio::time::advance(Duration::from_secs(11)).await;
    hub.expire();
    assert_eq!(hub.stats().retained_events, 0);
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_is_disconnected_with_a_retry_hint_and_resumes() {
    let hub = Hub::new(HubConfig {
        max_backlog_bytes: 1_000,
        slow_retry: Duration::from_millis(1500),
        ..HubConfig::default()
    });
    let mut fast = hub.subscribe("t", None).unwrap();
    let mut slow = hub.subscribe("t", None).unwrap();
    let mut last_read = None;
    for n in 0..100 {
        let p = hub.publish("t", &event(&format!("{n:040}"))).unwrap();
        if n == 3 {
            // The slow one reads the first four, then stops.
            assert_eq!(ready(&mut slow).len(), 4);
            last_read = Some(p);
        }
        assert_eq!(ready(&mut fast).len(), 1, "the others are never held back");
    }
    let frames = ready(&mut slow);
    assert_eq!(frames, [Bytes::from_static(b"retry: 1500\n\n")]);
    assert_eq!(
        slow.next().now_or_never(),
        Some(None),
        "then the stream ends"
    );
    assert_eq!(hub.stats().disconnected_slow, 1);

    // It comes back with its Last-Event-ID and gets every event it missed.
    let mut back = hub
        .subscribe("t", Some(&last_read.unwrap().to_string()))
        .unwrap();
    let want: Vec<String> = (4..100).map(|n| format!("{n:040}")).collect();
    assert_eq!(data_of(&ready(&mut back)), want);
}

#[tokio::test(start_paused = true)]
async fn drop_oldest_and_keep_latest_skip_and_count() {
    for policy in [SlowPolicy::DropOldest, SlowPolicy::KeepLatest] {
        let hub = Hub::new(HubConfig {
            max_backlog_bytes: 1_000,
            slow_policy: policy,
            ..HubConfig::default()
        });
        let mut sub = hub.subscribe("t", None).unwrap();
        let mut sizes = Vec::new();
        {
            let mut witness = hub.subscribe("t", None).unwrap();
            for n in 0..100 {
                hub.publish("t", &event(&format!("{n:034}"))).unwrap();
                sizes.push(ready(&mut witness)[0].len() as u64);
            }
        }
        // DropOldest keeps the longest tail within 1,000 bytes.
        let mut tail = 0;
        let mut kept = 0;
        while kept < sizes.len() && tail + sizes[sizes.len() - 1 - kept] <= 1_000 {
            tail += sizes[sizes.len() - 1 - kept];
            kept += 1;
        }
        let want: Vec<u32> = match policy {
            SlowPolicy::DropOldest => (100 - kept as u32..100).collect(),
            _ => vec![99],
        };
        assert!(want.len() > 5 && want.len() < 50 || want == [99]);
        let got: Vec<u32> = data_of(&ready(&mut sub))
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(got, want, "{policy:?}");
        assert_eq!(hub.stats().dropped, 100 - want.len() as u64, "{policy:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_stopped_reading_is_found_by_the_sweep_within_its_time_bound() {
    let hub = Hub::new(HubConfig {
        max_backlog_age: Duration::from_secs(2),
        ..HubConfig::default()
    });
    let stalled = hub.subscribe("t", None).unwrap();
    let token = stalled.disconnect_token();
    let mut reading = hub.subscribe("t", None).unwrap();
    for _ in 0..30 {
        hub.publish("t", &event("tick")).unwrap();
        assert_eq!(ready(&mut reading).len(), 1);
        assert!(!token.is_cancelled() || hub.stats().disconnected_stalled == 1);
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    // 3 s of publishing at 10/s: past the 2 s bound by at most one sweep.
    assert!(token.is_cancelled());
    assert!(
        hub.stats().backlog_bytes > 0,
        "the stalled one's unread bytes, as of the last sweep"
    );
    assert_eq!(hub.stats().disconnected_stalled, 1);
    assert!(!reading.disconnect_token().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_ended_on_its_read_is_counted_once_and_dropped_if_it_stops_there() {
    let hub = Hub::new(HubConfig {
        max_backlog_bytes: 1_000,
        ..HubConfig::default()
    });
    let mut slow = hub.subscribe("t", None).unwrap();
    let token = slow.disconnect_token();
    for n in 0..100 {
        hub.publish("t", &event(&format!("{n:040}"))).unwrap();
    }
    // Its read finds it past the bound: the retry hint, counted once.
    assert_eq!(
        slow.next().now_or_never(),
        Some(Some(Bytes::from_static(b"retry: 1000\n\n")))
    );
    assert_eq!(hub.stats().disconnected_slow, 1);
    // The server cannot write the hint (the client stopped reading) and
    // never polls the end: the sweep has the connection dropped, without
    // counting the subscriber again.
    hub.expire();
    assert!(token.is_cancelled());
    let stats = hub.stats();
    assert_eq!(
        (stats.disconnected_slow, stats.disconnected_stalled),
        (1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_replay_is_not_a_backlog() {
    let hub = Hub::new(HubConfig {
        max_backlog_bytes: 100,
        ..HubConfig::default()
    });
    let first = hub.publish("t", &event("0")).unwrap();
    for n in 1..50 {
        hub.publish("t", &event(&format!("{n:030}"))).unwrap();
    }
    let mut sub = hub.subscribe("t", Some(&first.to_string())).unwrap();
    assert_eq!(
        ready(&mut sub).len(),
        49,
        "far over 100 bytes of replay, delivered"
    );
}

#[tokio::test(start_paused = true)]
async fn limits_refuse_with_503() {
    let hub = Hub::new(HubConfig {
        max_subscribers: 3,
        max_subscribers_per_topic: 2,
        max_topics: 2,
        max_event_size: 64,
        ..HubConfig::default()
    });
    let a = hub.subscribe("t", None).unwrap();
    let _b = hub.subscribe("t", None).unwrap();
    let err = hub.subscribe("t", None).unwrap_err();
    assert_eq!(err.max(), 2);
    assert_eq!(err.response(()).status(), 503);
    let _c = hub.subscribe("u", None).unwrap();
    assert_eq!(hub.subscribe("u", None).unwrap_err().max(), 3);
    assert_eq!(
        hub.stats().topics,
        2,
        "a refused subscription makes no topic"
    );
    drop(a);
    assert_eq!(
        hub.subscribe("v", None).unwrap_err().max(),
        2,
        "a third topic"
    );
    hub.subscribe("t", None).expect("a place was freed");

    let big = event(&"x".repeat(100));
    assert!(matches!(
        hub.publish("t", &big),
        Err(PublishError::TooLarge { max: 64, .. })
    ));
    assert!(matches!(
        hub.publish("w", &event("x")),
        Err(PublishError::TooManyTopics { max: 2 })
    ));
    let stats = hub.stats();
    assert_eq!((stats.refused_limit, stats.refused_too_large), (3, 1));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_subscription_unsubscribes() {
    let hub = Hub::default();
    let subs: Vec<Subscription> = (0..10).map(|_| hub.subscribe("t", None).unwrap()).collect();
    assert_eq!(hub.stats().subscribers, 10);
    drop(subs);
    assert_eq!(hub.stats().subscribers, 0);
    hub.publish("t", &event("nobody")).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_waiting_subscriber_is_woken_by_a_publish() {
    let hub = Hub::default();
    let mut sub = hub.subscribe("t", None).unwrap();
    let publisher = hub.clone();
    let task = tokio::spawn(async move { sub.next().await });
    tokio::task::yield_now().await;
    publisher.publish("t", &event("wake")).unwrap();
    let frame = task.await.unwrap().unwrap();
    assert!(frame.ends_with(b"data: wake\n\n"));
}

#[tokio::test]
async fn many_tasks_each_receive_every_event_in_order() {
    let hub = Hub::default();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let mut sub = hub.subscribe("t", None).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 500 {
                got.push(sub.next().await.unwrap());
            }
            data_of(&got)
        }));
    }
    for n in 0..500 {
        hub.publish("t", &event(&n.to_string())).unwrap();
        if n % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let want: Vec<String> = (0..500).map(|n| n.to_string()).collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), want);
    }
}
