//! The cluster flags: `--redis URL` joins the node to a cluster whose ids, history and fan-out
//! live in one Redis; the rest bound how it talks to Redis. Every limit here has a flag, and
//! docs/scaling.md says what happens past it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::flags::{self, Unit};

/// Where Redis is, from `redis://HOST:PORT[/DB]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// The address, resolved once when the flag is read (a name is looked up then, never
    /// on a loop).
    pub addr: SocketAddr,
    /// The logical database (`SELECT DB`; 0 unless the URL names one).
    pub db: u32,
}

impl RedisUrl {
    /// Parses `redis://HOST[:PORT][/DB]` (port 6379 by default). Credentials and TLS
    /// (`rediss://`) are not supported, and refused here rather than ignored.
    pub fn parse(url: &str) -> Result<RedisUrl, String> {
        let rest =
            url.strip_prefix("redis://").ok_or_else(|| format!("--redis: {url:?} is not redis://HOST:PORT[/DB]"))?;
        let (authority, db) = match rest.split_once('/') {
            Some((authority, "")) => (authority, 0),
            Some((authority, db)) => {
                (authority, db.parse().map_err(|_| format!("--redis: {db:?} is not a database number"))?)
            }
            None => (rest, 0),
        };
        if authority.contains('@') {
            return Err("--redis: credentials in the URL are not supported (run Redis on a trusted network)".into());
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
            authority.to_string()
        } else {
            format!("{authority}:6379")
        };
        let addr = (with_port.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()))
            .ok_or_else(|| format!("--redis: cannot resolve {authority:?}"))?;
        Ok(RedisUrl { addr, db })
    }
}

/// The cluster settings (`--redis*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// `--redis URL`: `None` runs the in-process hub alone, as without the flag.
    pub url: Option<RedisUrl>,
    /// `--redis-prefix P` (default `talkback`): every key and pub/sub channel starts `P:`, so
    /// several hubs can share one Redis.
    pub prefix: String,
    /// `--redis-timeout MILLIS` (default 2000): the longest a connect or a command may take;
    /// past it the links are dropped, `POST`s waiting on them answered 503, and the node
    /// reconnects.
    pub timeout: Duration,
    /// `--redis-backoff-min MILLIS` (default 100): the first wait before reconnecting.
    pub backoff_min: Duration,
    /// `--redis-backoff-max MILLIS` (default 5000): the wait doubles after each failure up to this.
    pub backoff_max: Duration,
    /// `--redis-max-pending N` (default 10000): publishes sent to Redis and not yet answered;
    /// one more is answered 503 with `Retry-After`.
    pub max_pending: usize,
    /// `--redis-sync-buffer N` (default 100000): live messages kept while the history is read
    /// after a (re)connect; past it the node starts the catch-up again.
    pub sync_buffer: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            url: None,
            prefix: "talkback".into(),
            timeout: Duration::from_millis(2000),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(5000),
            max_pending: 10_000,
            sync_buffer: 100_000,
        }
    }
}

impl RedisOptions {
    /// Whether `flag` is one of these.
    pub fn owns(flag: &str) -> bool {
        flag.starts_with("--redis")
    }

    /// Sets `flag` (one this type [`owns`](RedisOptions::owns)) from `value`.
    pub fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        let millis = |min: u64, why: &str| {
            let d = flags::duration(flag, value, Unit::Millis)?;
            flags::at_least(flag, d, Duration::from_millis(min), why)
        };
        let count = |why: &str| flags::count(flag, value).and_then(|n| flags::at_least(flag, n, 1, why));
        match flag {
            "--redis" => self.url = Some(RedisUrl::parse(value)?),
            "--redis-prefix" => {
                let valid = (1..=64).contains(&value.len())
                    && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
                if !valid {
                    return Err(format!("--redis-prefix: {value:?} is not [A-Za-z0-9_.-]{{1,64}}"));
                }
                self.prefix = value.into();
            }
            "--redis-timeout" => self.timeout = millis(10, "no Redis answers in under 10ms over a network")?,
            "--redis-backoff-min" => self.backoff_min = millis(1, "reconnecting at once would spin")?,
            "--redis-backoff-max" => self.backoff_max = millis(1, "reconnecting at once would spin")?,
            "--redis-max-pending" => self.max_pending = count("no publish could be sent")? as usize,
            "--redis-sync-buffer" => self.sync_buffer = count("no live message could wait out a catch-up")? as usize,
            _ => return Err(flags::unknown(flag)),
        }
        // The cap of a doubling back-off is never below where it starts.
        self.backoff_max = self.backoff_max.max(self.backoff_min);
        Ok(())
    }
}

/// The `--help` lines of these flags.
pub const HELP: &str = "
  --redis URL                join a cluster: ids, history and fan-out in Redis at
                             redis://HOST:PORT[/DB] (default: none, this process alone)
  --redis-prefix P           prefix of every Redis key and channel (default talkback)
  --redis-timeout MILLIS     longest connect or command (default 2000; then reconnect, POSTs 503)
  --redis-backoff-min MILLIS first wait before reconnecting (default 100; doubles per failure)
  --redis-backoff-max MILLIS longest wait before reconnecting (default 5000)
  --redis-max-pending N      publishes waiting on Redis at once (default 10000; more: 503)
  --redis-sync-buffer N      live messages kept while the history is read after a (re)connect
                             (default 100000; past it the catch-up starts again)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_host_port_and_database() {
        let url = RedisUrl::parse("redis://127.0.0.1:6380/2").expect("parsed");
        assert_eq!((url.addr, url.db), (SocketAddr::from(([127, 0, 0, 1], 6380)), 2));
        assert_eq!(RedisUrl::parse("redis://127.0.0.1").expect("parsed").addr.port(), 6379, "the default port");
        assert_eq!(RedisUrl::parse("redis://127.0.0.1:7000/").expect("parsed").db, 0);
        for bad in ["http://127.0.0.1", "redis://:secret@127.0.0.1", "redis://127.0.0.1/x", "127.0.0.1:6379"] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_flags_set_their_limits_and_refuse_nonsense() {
        let mut options = RedisOptions::default();
        for (flag, value) in [("--redis-prefix", "app.one"), ("--redis-timeout", "500"), ("--redis-backoff-max", "50")]
        {
            options.set(flag, value).expect(flag);
        }
        assert_eq!((options.prefix.as_str(), options.timeout), ("app.one", Duration::from_millis(500)));
        assert_eq!(options.backoff_max, Duration::from_millis(100), "never below the minimum");
        assert!(options.set("--redis-prefix", "has space").is_err());
        assert!(options.set("--redis-timeout", "soon").is_err());
        assert!(options.set("--redis-frobnicate", "1").is_err());
    }
}
