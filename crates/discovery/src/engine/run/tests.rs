//! Engine runs against a real store.
