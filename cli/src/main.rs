//! The `ssekit` command.
fn main() {}
