//! The encoder and decoder against a real `redis-server` (skipped, with one line, where it is
//! not installed): every reply type the hub relies on, pipelined, read back through the
//! decoder in small reads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use talkback_harness::RedisServer;
use talkback_resp::{Decoder, Value, encode_command};

struct Conn {
    stream: TcpStream,
    decoder: Decoder,
}

impl Conn {
    fn open(redis: &RedisServer) -> Conn {
        let stream = TcpStream::connect(redis.addr()).expect("connect to redis");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Conn { stream, decoder: Decoder::default() }
    }

    fn send(&mut self, commands: &[&[&str]]) {
        let mut out = Vec::new();
        for command in commands {
            encode_command(&mut out, command);
        }
        self.stream.write_all(&out).unwrap();
    }

    /// The next reply, reading 7 bytes at a time so replies arrive split.
    fn reply(&mut self) -> Value {
        let mut chunk = [0u8; 7];
        loop {
            if let Some(value) = self.decoder.next_value().expect("valid RESP from redis") {
                return value;
            }
            let n = self.stream.read(&mut chunk).expect("a reply within 5 s");
            assert!(n > 0, "redis closed the connection");
            self.decoder.feed(&chunk[..n]);
        }
    }
}

fn bulk(text: &str) -> Value {
    Value::Bulk(text.as_bytes().to_vec())
}

#[test]
fn pipelined_commands_get_their_replies_in_order() {
    let Some(redis) = RedisServer::start() else { return };
    let mut conn = Conn::open(&redis);
    conn.send(&[
        &["PING"],
        &["SET", "greeting", "hello\r\nworld"],
        &["GET", "greeting"],
        &["GET", "missing"],
        &["INCR", "id:room"],
        &["INCR", "id:room"],
        &["NOSUCHCOMMAND"],
        &["LRANGE", "missing", "0", "-1"],
    ]);
    assert_eq!(conn.reply(), Value::Simple("PONG".into()));
    assert_eq!(conn.reply(), Value::Simple("OK".into()));
    assert_eq!(conn.reply(), bulk("hello\r\nworld"), "bulk strings are binary-safe");
    assert_eq!(conn.reply(), Value::Nil);
    assert_eq!(conn.reply(), Value::Integer(1));
    assert_eq!(conn.reply(), Value::Integer(2));
    assert!(conn.reply().as_error().is_some_and(|e| e.starts_with("ERR unknown command")));
    assert_eq!(conn.reply(), Value::Array(vec![]), "the connection goes on after an error reply");
}

#[test]
fn a_lua_script_and_a_stream_read_nest_arrays() {
    let Some(redis) = RedisServer::start() else { return };
    let mut conn = Conn::open(&redis);
    let script = "local id = redis.call('INCR', KEYS[1]) \
                  redis.call('XADD', KEYS[2], 'MAXLEN', '2', id .. '-1', 'd', ARGV[1]) \
                  return {id, ARGV[1]}";
    for text in ["one", "two", "three"] {
        conn.send(&[&["EVAL", script, "2", "id:c", "log:c", text]]);
    }
    for (id, text) in [(1, "one"), (2, "two"), (3, "three")] {
        assert_eq!(conn.reply(), Value::Array(vec![Value::Integer(id), bulk(text)]));
    }
    conn.send(&[&["XRANGE", "log:c", "-", "+"], &["EVALSHA", "0000000000000000000000000000000000000000", "0"]]);
    let entry = |id: &str, text: &str| Value::Array(vec![bulk(id), Value::Array(vec![bulk("d"), bulk(text)])]);
    assert_eq!(conn.reply(), Value::Array(vec![entry("2-1", "two"), entry("3-1", "three")]), "MAXLEN kept two");
    assert!(conn.reply().as_error().is_some_and(|e| e.starts_with("NOSCRIPT")));
}

#[test]
fn a_subscriber_connection_receives_pushes() {
    let Some(redis) = RedisServer::start() else { return };
    let mut subscriber = Conn::open(&redis);
    subscriber.send(&[&["SUBSCRIBE", "talkback:room"]]);
    assert_eq!(subscriber.reply(), Value::Array(vec![bulk("subscribe"), bulk("talkback:room"), Value::Integer(1)]));
    let mut publisher = Conn::open(&redis);
    publisher.send(&[&["PUBLISH", "talkback:room", "7 hi"]]);
    assert_eq!(publisher.reply(), Value::Integer(1), "one subscriber heard it");
    assert_eq!(subscriber.reply(), Value::Array(vec![bulk("message"), bulk("talkback:room"), bulk("7 hi")]));
}
