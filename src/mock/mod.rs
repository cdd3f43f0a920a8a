//! Placeholder until the mock lands.
