//! One folder per vendor: how its requests are built and its answers read.

pub mod feishu;
pub mod greenhouse;
pub mod recruitee;
