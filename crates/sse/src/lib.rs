//! talkback-sse
