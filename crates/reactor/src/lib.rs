//! talkback-reactor
