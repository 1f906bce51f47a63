//! Sources. Each reads one kind of place and produces a [`crate::Mutation`]; adding a source
//! is one file here.

pub mod location;
