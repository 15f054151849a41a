//! talkback-server
