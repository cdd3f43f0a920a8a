#[path = "cli/interrupt.rs"]
mod interrupt;
#[path = "cli/isolation.rs"]
mod isolation;
#[path = "cli/properties.rs"]
mod properties;
#[path = "cli/support/mod.rs"]
mod support;
