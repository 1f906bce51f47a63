//! Test and benchmark support: fresh databases on every backend ([`TestDb`]), a running portal on
//! a random port ([`TestApp`]), and the synthetic catalog generator ([`synth`]) that tests and
//! `portico bench` share.

pub mod synth;

pub use portico_store::testing::TestDb;
