//! `GET /metrics`: the Prometheus text exposition, and its values moving with the traffic.

use std::collections::HashMap;

use super::*;

/// Every sample of an exposition, `name{labels}` → value; checks each family is declared by
/// `# HELP` and `# TYPE` before its samples (Prometheus text format 0.0.4).
fn scrape(client: &mut Client) -> HashMap<String, u64> {
    let response = client.request(&get("/metrics"));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let mut samples = HashMap::new();
    let (mut helped, mut typed) = (None, None);
    for line in response.text().lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped = rest.split(' ').next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed = rest.split(' ').next().map(str::to_owned);
            assert_eq!(typed, helped, "HELP then TYPE for each family");
        } else {
            let (series, value) = line.rsplit_once(' ').expect("name value");
            let family = series.split('{').next().unwrap();
            assert_eq!(typed.as_deref(), Some(family), "{line}: declared first");
            samples.insert(series.to_string(), value.parse().expect("an integer value"));
        }
    }
    samples
}

fn connections(samples: &HashMap<String, u64>, technique: &str) -> u64 {
    samples[&format!("talkback_connections{{technique=\"{technique}\"}}")]
}

#[test]
fn metrics_follow_connections_publishes_deliveries_and_bytes() {
    let server = spawn_hub(|_| {});
    let mut scraper = server.client();
    let before = scrape(&mut scraper);
    for family in [
        "talkback_messages_published_total",
        "talkback_slow_consumers_dropped_total",
        "talkback_retained_bytes",
        "talkback_bytes_received_total",
        "talkback_bytes_sent_total",
    ] {
        assert!(before.contains_key(family), "{family}");
    }
    assert_eq!(before["talkback_messages_published_total"], 0);
    assert_eq!(connections(&before, "http"), 1, "the scraper itself");

    let mut sse = Sse::open(server.addr(), "/ch/m1/sse", "");
    let mut ws = Ws::open(server.addr(), "/ch/m1/ws");
    let addr = server.addr();
    let parked = std::thread::spawn(move || Client::connect(addr).request(&get("/ch/m1/longpoll?timeout=5")));
    // The long-poll parks on its own loop: wait until the scrape sees it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections(&scrape(&mut scraper), "longpoll") != 1 {
        assert!(Instant::now() < deadline, "the long-poll never showed as parked");
        std::thread::sleep(Duration::from_millis(10));
    }
    let during = scrape(&mut scraper);
    assert_eq!((connections(&during, "sse"), connections(&during, "websocket")), (1, 1), "{during:?}");

    publish(&mut server.client(), "m1", "one");
    ws.send_text("two");
    assert_eq!(sse.messages(2).len(), 2);
    assert_eq!([ws.next_text(), ws.next_text()], ["one", "two"]);
    let released = batch_of(&parked.join().expect("long-poll")).len() as u64; // 1, or 2 if both were in

    assert_eq!(batch_of(&scraper.request(&get("/ch/m1/poll"))).len(), 2);

    let after = scrape(&mut scraper);
    assert_eq!(after["talkback_messages_published_total"], 2);
    let delivered = |technique: &str| after[&format!("talkback_deliveries_total{{technique=\"{technique}\"}}")];
    assert_eq!(
        (delivered("sse"), delivered("websocket"), delivered("longpoll"), delivered("poll")),
        (2, 2, released, 2),
        "{after:?}"
    );
    assert!(after["talkback_retained_bytes"] > 0, "two messages retained");
    assert_eq!(after["talkback_channels"], 1);
    assert_eq!(connections(&after, "longpoll"), 0, "answered");
    for counter in ["talkback_bytes_received_total", "talkback_bytes_sent_total"] {
        assert!(after[counter] > before[counter] + 100, "{counter}: {} then {}", before[counter], after[counter]);
    }
    drop(ws);
    drop(sse);
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections(&scrape(&mut scraper), "websocket") + connections(&scrape(&mut scraper), "sse") > 0 {
        assert!(Instant::now() < deadline, "closed streams still counted");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn metrics_off_removes_the_route() {
    let server = spawn_hub(|options| options.metrics = false);
    assert_eq!(server.client().request(&get("/metrics")).status, 404);
    let on = spawn_hub(|_| {});
    let options = on.client().request(b"OPTIONS /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
}
