//! Unit tests: adversarial signatures made with sequoia at test time.
