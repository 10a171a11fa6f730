//! What jones-sync remembers in ZooKeeper about its own applies, and what it reads back from it:
//! the [`record`] of each service's last apply (the node that makes a service *managed*), its
//! [`history`] (one audit entry per apply), where each service stands against the repository
//! ([`status`]), going back to an earlier apply ([`rollback`]) and refusing to go back by accident
//! ([`supersede`]).
//!
//! Invariant: the record and the audit entry are written in the same transaction as the changes
//! they describe ([`crate::apply::transactions`]), so an entry exists exactly when its changes do.

pub mod history;
pub mod record;
pub mod rollback;
pub mod status;
pub mod supersede;
