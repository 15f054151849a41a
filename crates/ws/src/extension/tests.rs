//! Negotiation, as a table of offers and answers (RFC 7692 §5, §7.1).

use super::*;

fn server(offer: &str, policy: &DeflatePolicy) -> Option<String> {
    negotiate(std::iter::once(offer.as_bytes()), policy).map(|d| d.response())
}

#[test]
fn rfc7692_7_server_answers_each_offer_per_the_rules() {
    let echo = DeflatePolicy::default();
    let hub = DeflatePolicy { server_no_context_takeover: true, client_no_context_takeover: true, ..echo };
    let cases: &[(&str, &str, &DeflatePolicy, Option<&str>)] = &[
        ("§5 bare offer (Firefox)", "permessage-deflate", &echo, Some("permessage-deflate")),
        (
            "§7.1.2.2 client_max_window_bits offered without a value (Chromium): nothing to ask",
            "permessage-deflate; client_max_window_bits",
            &echo,
            Some("permessage-deflate"),
        ),
        (
            "§7.1.1.1 the client asks the server to reset",
            "permessage-deflate; server_no_context_takeover",
            &echo,
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            "§7.1.2.1 an offered server window must be answered, never larger",
            "permessage-deflate; server_max_window_bits=10",
            &echo,
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            "§7.1.2.1 a quoted value is the same value",
            "permessage-deflate; server_max_window_bits=\"9\"",
            &echo,
            Some("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            "the hub announces no context takeover both ways",
            "permessage-deflate; client_max_window_bits",
            &hub,
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (
            "§7.1.2.1 an 8-bit server window cannot be served: declined",
            "permessage-deflate; server_max_window_bits=8",
            &echo,
            None,
        ),
        (
            "§7.1.2.1 declined, then the next offer is taken",
            "permessage-deflate; server_max_window_bits=8, permessage-deflate",
            &echo,
            Some("permessage-deflate"),
        ),
        ("§7 unknown parameter: declined", "permessage-deflate; foo", &echo, None),
        (
            "§7 repeated parameter: declined",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            &echo,
            None,
        ),
        ("§7.1.2.1 window out of range", "permessage-deflate; server_max_window_bits=16", &echo, None),
        ("§7.1.2.1 leading zero", "permessage-deflate; server_max_window_bits=010", &echo, None),
        ("§7.1.2.1 a value is required", "permessage-deflate; server_max_window_bits", &echo, None),
        ("§7.1.1.1 no value allowed", "permessage-deflate; server_no_context_takeover=1", &echo, None),
        ("§7.1.2.2 client window out of range", "permessage-deflate; client_max_window_bits=7", &echo, None),
        ("RFC 6455 §9.1 syntax", "permessage-deflate; =3", &echo, None),
        (
            "other extensions are skipped",
            "x-webkit-deflate-frame, permessage-deflate",
            &echo,
            Some("permessage-deflate"),
        ),
        (
            "a comma inside a quoted value does not split the list",
            "x-foo; a=\"1,2\", permessage-deflate",
            &echo,
            Some("permessage-deflate"),
        ),
        ("no offer", "", &echo, None),
    ];
    for (name, offer, policy, expect) in cases {
        assert_eq!(server(offer, policy).as_deref(), *expect, "{name}: {offer:?}");
    }
}

#[test]
fn rfc7692_7_1_2_2_client_window_is_answered_only_if_offered_and_never_larger() {
    let ask = DeflatePolicy { client_max_window_bits: Some(10), ..DeflatePolicy::default() };
    assert_eq!(server("permessage-deflate", &ask).as_deref(), Some("permessage-deflate"));
    assert_eq!(
        server("permessage-deflate; client_max_window_bits", &ask).as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_eq!(
        server("permessage-deflate; client_max_window_bits=9", &ask).as_deref(),
        Some("permessage-deflate; client_max_window_bits=9")
    );
}

#[test]
fn rfc7692_7_1_2_1_server_window_is_the_smaller_of_offer_and_policy() {
    let small = DeflatePolicy { server_max_window_bits: 11, ..DeflatePolicy::default() };
    let agreed = negotiate(std::iter::once(&b"permessage-deflate; server_max_window_bits=13"[..]), &small).unwrap();
    assert_eq!(agreed.server_max_window_bits, 11);
    let unasked = negotiate(std::iter::once(&b"permessage-deflate"[..]), &small).unwrap();
    assert_eq!(unasked.response(), "permessage-deflate; server_max_window_bits=11", "the server may say so unasked");
}

#[test]
fn rfc6455_9_1_offers_in_several_fields_are_read_in_order() {
    let fields: [&[u8]; 2] =
        [b"permessage-deflate; server_max_window_bits=8", b"permessage-deflate; server_max_window_bits=12"];
    let agreed = negotiate(fields.into_iter(), &DeflatePolicy::default()).unwrap();
    assert_eq!(agreed.server_max_window_bits, 12);
}

fn client(offer: &DeflateOffer, answer: &str) -> Result<Option<Deflate>, Malformed> {
    offer.check_answer(std::iter::once(answer.as_bytes()).filter(|a| !a.is_empty()))
}

#[test]
fn rfc7692_7_client_accepts_only_answers_its_offer_allowed() {
    let default = DeflateOffer::default();
    assert_eq!(default.header(), "permessage-deflate; client_max_window_bits");
    let asked = DeflateOffer { server_max_window_bits: Some(10), server_no_context_takeover: true, ..default };
    assert_eq!(
        asked.header(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"
    );
    let bare = DeflateOffer { client_max_window_bits: false, ..default };
    let ok: &[(&str, &DeflateOffer, &str)] = &[
        ("declined", &default, ""),
        ("bare", &default, "permessage-deflate"),
        ("§7.1.1.1 server resets unasked", &default, "permessage-deflate; server_no_context_takeover"),
        ("§7.1.1.2 the client must reset", &default, "permessage-deflate; client_no_context_takeover"),
        ("§7.1.2.1 the server may name its window unasked", &default, "permessage-deflate; server_max_window_bits=12"),
        ("§7.1.2.2 our window chosen", &default, "permessage-deflate; client_max_window_bits=9"),
        ("§7.1.2.2 8 accepted (sent uncompressed)", &default, "permessage-deflate; client_max_window_bits=8"),
        (
            "§7.1.2.1 smaller than asked",
            &asked,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
        ),
    ];
    for (name, offer, answer) in ok {
        assert!(client(offer, answer).is_ok(), "{name}: {answer:?}");
    }
    let refused: &[(&str, &DeflateOffer, &str)] = &[
        ("§7.1.2.2 client window not offered", &bare, "permessage-deflate; client_max_window_bits=10"),
        ("§7.1.2.2 an answer needs the value", &default, "permessage-deflate; client_max_window_bits"),
        (
            "§7.1.2.1 larger than asked",
            &asked,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        ),
        ("§7.1.2.1 asked, not answered", &asked, "permessage-deflate; server_no_context_takeover"),
        ("§7.1.1.1 asked to reset, not answered", &asked, "permessage-deflate; server_max_window_bits=10"),
        ("§7 unknown parameter", &default, "permessage-deflate; foo"),
        ("§7 repeated", &default, "permessage-deflate; client_no_context_takeover; client_no_context_takeover"),
        ("RFC 6455 §9.1 an extension not offered", &default, "x-webkit-deflate-frame"),
        ("accepted twice", &default, "permessage-deflate, permessage-deflate"),
        ("syntax", &default, "permessage-deflate; server_max_window_bits=\"9"),
    ];
    for (name, offer, answer) in refused {
        assert!(client(offer, answer).is_err(), "{name}: {answer:?}");
    }
    let agreed =
        client(&default, "permessage-deflate; client_max_window_bits=9; server_no_context_takeover").unwrap().unwrap();
    assert_eq!((agreed.client_max_window_bits, agreed.server_no_context_takeover), (9, true));
}
