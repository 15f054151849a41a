//! talkback-longpoll
