//! Short polling: `GET /ch/{c}/poll?after=N` answers at once.

use super::*;

#[test]
fn poll_answers_the_messages_after_the_cursor_or_204() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    assert_eq!(client.request(&get("/ch/poll/poll")).status, 204, "a fresh channel has nothing");
    let texts = ["one", "quote \" backslash \\ tab \t", "line\nbreak\r\nand \u{1} control", "ünïcødé 🎉"];
    for text in texts {
        publish(&mut client, "poll", text);
    }
    let all = numbered(1..=4, |id| texts[id as usize - 1].to_string());
    let response = client.request(&get("/ch/poll/poll"));
    assert_eq!(batch_of(&response), all, "no after: everything retained");
    assert_eq!(response.header("talkback-missed"), None);
    assert_eq!(batch_of(&client.request(&get("/ch/poll/poll?after=0"))), all);
    assert_eq!(batch_of(&client.request(&get("/ch/poll/poll?after=2"))), all[2..]);
    assert_eq!(client.request(&get("/ch/poll/poll?after=4")).status, 204, "up to date");
    assert_eq!(client.request(&get("/ch/poll/poll?after=99")).status, 204, "ahead of the log");
}

#[test]
fn poll_cursor_older_than_history_sets_talkback_missed() {
    let server = spawn_hub(|o| o.history = 3);
    let mut client = server.client();
    for i in 1..=10 {
        publish(&mut client, "hist", &format!("m{i}"));
    }
    let response = client.request(&get("/ch/hist/poll?after=2"));
    assert_eq!(batch_of(&response), numbered(8..=10, |id| format!("m{id}")));
    assert_eq!(response.header("talkback-missed"), Some("5"), "ids 3..=7 are gone");
    let response = client.request(&get("/ch/hist/poll?after=7"));
    assert_eq!(response.header("talkback-missed"), None, "nothing missed from 7");
}

#[test]
fn head_poll_has_the_get_headers_and_no_body() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    publish(&mut client, "head", "some message");
    let full = client.request(&get("/ch/head/poll"));
    let head = client.request(b"HEAD /ch/head/poll HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some(full.body.len().to_string().as_str()));
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(client.request(&get("/ch/head/poll?after=1")).status, 204, "framing intact after HEAD");
}
