//! talkback-bench
