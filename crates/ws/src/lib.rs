//! talkback-ws
