//! Stream entries as Redis returns them, and the frames they become.
//!
//! An entry holds the fields `data` and, optionally, `event` (the event
//! type), so that any producer can publish with a plain
//! `XADD <key> * data <text>`. Its SSE ID is the entry ID.

use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;
use redis::Value;
use ssekit_codec::EventRef;

use crate::hub::Position;

/// The field of an entry that holds the event's data.
pub(crate) const DATA_FIELD: &str = "data";
/// The field of an entry that holds the event's type.
pub(crate) const TYPE_FIELD: &str = "event";

/// One entry: its position and its frame, or why it has none.
pub(crate) type Decoded = (Position, Result<Bytes, String>);

/// The entries of an `XRANGE` reply (`[[id, [field, value, ...]], ...]`),
/// or of one stream of an `XREAD` reply.
pub(crate) fn entries(reply: &Value) -> Result<Vec<Decoded>, String> {
    let Value::Array(items) = reply else {
        return match reply {
            Value::Nil => Ok(Vec::new()),
            other => Err(std::format!(
                "expected a list of stream entries, got {other:?}"
            )),
        };
    };
    items.iter().map(entry).collect()
}

/// The entries of an `XREAD` reply for one key: `[[key, entries]]`, or nil
/// when the block timed out.
pub(crate) fn xread_entries(reply: &Value) -> Result<Vec<Decoded>, String> {
    match reply {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => match streams.first() {
            None => Ok(Vec::new()),
            Some(Value::Array(pair)) if pair.len() == 2 => entries(&pair[1]),
            Some(other) => Err(std::format!(
                "expected [key, entries] in an XREAD reply, got {other:?}"
            )),
        },
        // RESP3 answers with a map of key to entries.
        Value::Map(streams) => match streams.first() {
            None => Ok(Vec::new()),
            Some((_, list)) => entries(list),
        },
        other => Err(std::format!("unexpected XREAD reply {other:?}")),
    }
}

/// The ID of the newest entry in an `XREVRANGE ... COUNT 1` reply.
pub(crate) fn newest_id(reply: &Value) -> Result<Option<Position>, String> {
    Ok(entries(reply)?.first().map(|(position, _)| *position))
}

fn entry(item: &Value) -> Result<Decoded, String> {
    let Value::Array(pair) = item else {
        return Err(std::format!("expected [id, fields], got {item:?}"));
    };
    let (Some(id), Some(fields)) = (pair.first(), pair.get(1)) else {
        return Err("a stream entry without its fields".into());
    };
    let id = text(id).ok_or_else(|| std::format!("an entry ID that is not text: {id:?}"))?;
    let position =
        Position::parse(&id).ok_or_else(|| std::format!("{id:?} is not a stream entry ID"))?;
    Ok((position, frame(&id, fields)))
}

/// The frame of an entry: `event` if given, `id`, `data`, encoded from
/// the reply's own bytes.
fn frame(id: &str, fields: &Value) -> Result<Bytes, String> {
    let mut data: Option<&[u8]> = None;
    let mut event_type: Option<&[u8]> = None;
    let pairs: Box<dyn Iterator<Item = (&Value, &Value)>> = match fields {
        Value::Array(flat) => Box::new(flat.chunks_exact(2).map(|p| (&p[0], &p[1]))),
        Value::Map(map) => Box::new(map.iter().map(|(k, v)| (k, v))),
        Value::Nil => Box::new(core::iter::empty()),
        other => return Err(std::format!("entry {id}: fields are not a list: {other:?}")),
    };
    for (name, value) in pairs {
        if let (Some(name), Some(value)) = (bytes_of(name), bytes_of(value)) {
            if name == DATA_FIELD.as_bytes() {
                data = Some(value);
            } else if name == TYPE_FIELD.as_bytes() {
                event_type = Some(value);
            }
        }
    }
    let Some(data) = data else {
        return Err(std::format!("entry {id} has no `{DATA_FIELD}` field"));
    };
    let mut event = EventRef::new().id(id).data(data);
    if let Some(t) = event_type.filter(|t| !t.is_empty()) {
        event = event.event_type(t);
    }
    event
        .to_bytes()
        .map_err(|err| std::format!("entry {id}: {err}"))
}

fn bytes_of(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Int(n) => Some(n.to_string()),
        other => String::from_utf8(bytes_of(other)?.to_vec()).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn an_entry_becomes_a_frame_with_its_id() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("5-1"),
                Value::Array(vec![bulk("data"), bulk("a\nb")]),
            ]),
            Value::Array(vec![
                bulk("5-2"),
                Value::Array(vec![
                    bulk("event"),
                    bulk("update"),
                    bulk("data"),
                    bulk("c"),
                    bulk("x"),
                    bulk("y"),
                ]),
            ]),
        ]);
        let got = entries(&reply).unwrap();
        assert_eq!(
            got[0],
            (
                Position::new(5, 1),
                Ok(Bytes::from_static(b"id: 5-1\ndata: a\ndata: b\n\n"))
            )
        );
        assert_eq!(
            got[1],
            (
                Position::new(5, 2),
                Ok(Bytes::from_static(b"event: update\nid: 5-2\ndata: c\n\n"))
            )
        );
    }

    #[test]
    fn entries_that_cannot_be_events_say_why() {
        let no_data = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("x"), bulk("y")]),
        ])]);
        assert!(entries(&no_data).unwrap()[0]
            .1
            .as_ref()
            .unwrap_err()
            .contains("no `data`"));
        let bad_type = Value::Array(vec![Value::Array(vec![
            bulk("1-1"),
            Value::Array(vec![bulk("event"), bulk("a\nb"), bulk("data"), bulk("d")]),
        ])]);
        assert!(entries(&bad_type).unwrap()[0].1.is_err());
        assert!(entries(&Value::Array(vec![Value::Array(vec![
            bulk("nope"),
            Value::Nil
        ])]))
        .is_err());
    }

    #[test]
    fn xread_replies_and_timeouts() {
        assert!(xread_entries(&Value::Nil).unwrap().is_empty());
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("ssekit:t"),
            Value::Array(vec![Value::Array(vec![
                bulk("9-0"),
                Value::Array(vec![bulk("data"), bulk("z")]),
            ])]),
        ])]);
        assert_eq!(xread_entries(&reply).unwrap()[0].0, Position::new(9, 0));
        assert_eq!(newest_id(&Value::Array(vec![])).unwrap(), None);
    }
}
