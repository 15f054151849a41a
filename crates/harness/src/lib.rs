//! talkback-harness
