//! Showing a plan: [`text`] for terminals and logs, [`markdown`] for pull-request comments,
//! [`json`] for machines. The human renderings share `rows` (key-level changes made ready to
//! show). Every renderer redacts sensitive values ([`crate::plan::redact`]) and none reads
//! anything but the plan.

pub mod json;
pub mod markdown;
pub(crate) mod rows;
pub mod targets;
pub mod text;

#[cfg(test)]
mod tests;
