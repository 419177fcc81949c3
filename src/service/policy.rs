//! What the service judges by: the violation-type catalogue, the conflict matcher's thresholds,
//! the joint-discipline rules, and today's date (injected, so tests and the sweeper can move
//! the clock).

use crate::dedup::conflict::ConflictConfig;
use crate::normalize::Catalog;
use crate::rules::RuleSet;
use chrono::NaiveDate;
use std::sync::Arc;

/// Borrowed view used inside a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The violation-type catalogue.
    pub catalog: &'a Catalog,
    /// The conflict matcher's thresholds.
    pub conflicts: &'a ConflictConfig,
    /// The joint-discipline rules.
    pub rules: &'a RuleSet,
    /// Today in Asia/Shanghai: publicity and flag periods are judged on it.
    pub today: NaiveDate,
}

/// The owned parts, loaded once at start and shared.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// The violation-type catalogue.
    pub catalog: Arc<Catalog>,
    /// The conflict matcher's thresholds.
    pub conflicts: ConflictConfig,
    /// The joint-discipline rules.
    pub rules: Arc<RuleSet>,
    /// The first-violation list.
    pub exemptions: Arc<crate::rules::exemptions::ExemptionList>,
    /// Case collaboration: working-day calendar, deadlines, attachment rules.
    pub collab: Arc<crate::service::collab::CollabPolicy>,
}

impl PolicySet {
    /// The policy on `today`.
    pub fn on(&self, today: NaiveDate) -> Policy<'_> {
        Policy {
            catalog: &self.catalog,
            conflicts: &self.conflicts,
            rules: &self.rules,
            today,
        }
    }
}
