//! The Redis test harness (`tests/redis_common`) against real
//! `redis-server` processes:
//!
//! - the shared server of the run ([`redis_common::redis_url`], from
//!   `SSEKIT_REDIS_URL`) answers `PING`, stores and returns a value, and
//!   its error replies come back as replies;
//! - a private [`RedisServer`] with the append-only file keeps a stream
//!   entry (`XADD`) across a restart on the same port and across a SIGKILL;
//!   one without it comes back from a restart empty, and its directory is
//!   removed when it is dropped.
//!
//! Without `SSEKIT_REDIS_URL` the first test fails and says how to start a
//! server; without `redis-server` on `PATH` the others fail and say how to
//! install it.

mod redis_common;

use redis_common::{command, port_of, redis_port, unique_key, RedisServer};

#[test]
fn shared_server_answers() {
    let port = redis_port();
    assert_eq!(command(port, &["PING"]), "+PONG\r\n");
    let key = unique_key("harness");
    assert_eq!(command(port, &["SET", &key, "a b\r\nc"]), "+OK\r\n");
    assert_eq!(command(port, &["GET", &key]), "$6\r\na b\r\nc\r\n");
    assert_eq!(command(port, &["DEL", &key]), ":1\r\n");
    assert_eq!(command(port, &["GET", &key]), "$-1\r\n");
    let error = command(port, &["NO-SUCH-COMMAND"]);
    assert!(error.starts_with("-ERR "), "{error:?}");
}

#[test]
fn append_only_keeps_a_stream_entry_across_restart_and_kill() {
    let mut redis = RedisServer::start_append_only();
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
    let id = redis.command(&["XADD", "events", "*", "data", "first"]);
    assert!(id.starts_with('$'), "XADD: {id:?}");
    let entries = redis.command(&["XRANGE", "events", "-", "+"]);
    assert_eq!(redis.command(&["XLEN", "events"]), ":1\r\n");

    redis.restart();
    assert_eq!(redis.port(), port);
    assert!(redis.is_running());
    assert_eq!(redis.command(&["XLEN", "events"]), ":1\r\n");
    assert_eq!(redis.command(&["XRANGE", "events", "-", "+"]), entries);

    redis.kill();
    assert!(!redis.is_running());
    redis.restart();
    assert_eq!(redis.command(&["XLEN", "events"]), ":1\r\n");
    assert_eq!(redis.command(&["XRANGE", "events", "-", "+"]), entries);
}

#[test]
fn without_append_only_a_restart_comes_back_empty() {
    let mut redis = RedisServer::start();
    let dir = redis.dir().to_owned();
    assert_eq!(redis.command(&["SET", "k", "v"]), "+OK\r\n");
    redis.restart();
    assert_eq!(redis.command(&["GET", "k"]), "$-1\r\n");
    drop(redis);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn urls_give_their_port() {
    assert_eq!(port_of("redis://127.0.0.1:6390/"), 6390);
    assert_eq!(port_of("redis://127.0.0.1:6390"), 6390);
    assert_eq!(port_of("redis://user:secret@localhost:7000/2"), 7000);
    assert_eq!(port_of("redis://localhost/"), 6379);
}
