//! The server's Prometheus metrics (`GET /metrics`), kept by `prometheus-client` and encoded in
//! its text format (OpenMetrics, which Prometheus scrapes as it scrapes its own format).
//!
//! Per-service series exist for the services of the commit in force: a service that leaves the
//! repository loses its series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabel {
    pub service: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShaLabel {
    pub sha: String,
}

/// Every metric, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    pub in_sync: Family<ServiceLabel, Gauge>,
    pub drift_nodes: Family<ServiceLabel, Gauge>,
    pub pending_changes: Family<ServiceLabel, Gauge>,
    pub last_apply: Family<ServiceLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub commit_info: Family<ShaLabel, Gauge>,
    pub fetch_errors: Counter,
    pub reconcile_errors: Counter,
    pub leader: Gauge,
    pub drift_detect: Histogram,
    pub commit_plan: Histogram,
    pub commit_apply: Histogram,
}

/// A histogram of durations from 1 ms to ~33 s.
fn latency() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let metrics = Metrics {
            registry: Registry::default(),
            in_sync: Family::default(),
            drift_nodes: Family::default(),
            pending_changes: Family::default(),
            last_apply: Family::default(),
            commit_info: Family::default(),
            fetch_errors: Counter::default(),
            reconcile_errors: Counter::default(),
            leader: Gauge::default(),
            drift_detect: latency(),
            commit_plan: latency(),
            commit_apply: latency(),
        };
        registry.register(
            "jones_sync_service_in_sync",
            "1 when ZooKeeper holds what the commit in force says for the service, else 0",
            metrics.in_sync.clone(),
        );
        registry.register(
            "jones_sync_service_drift_nodes",
            "Nodes of the service edited outside jones-sync since its last apply",
            metrics.drift_nodes.clone(),
        );
        registry.register(
            "jones_sync_service_pending_changes",
            "Changes (nodes and ACLs) an apply of the commit in force would make to the service",
            metrics.pending_changes.clone(),
        );
        registry.register(
            "jones_sync_last_apply_timestamp_seconds",
            "When the service was last applied (its live record's applied_at), Unix time",
            metrics.last_apply.clone(),
        );
        registry.register(
            "jones_sync_repo_commit_info",
            "The commit in force (the last valid commit of the followed branch)",
            metrics.commit_info.clone(),
        );
        registry.register("jones_sync_git_fetch_errors", "Failed git fetches", metrics.fetch_errors.clone());
        registry.register(
            "jones_sync_reconcile_errors",
            "Failed reads of ZooKeeper or of the repository while reconciling",
            metrics.reconcile_errors.clone(),
        );
        registry.register("jones_sync_leader", "1 when this replica may write", metrics.leader.clone());
        registry.register(
            "jones_sync_drift_detect_seconds",
            "From the mtime of a node edited outside jones-sync to when the server knew of the drift",
            metrics.drift_detect.clone(),
        );
        registry.register(
            "jones_sync_commit_plan_seconds",
            "From the follower finding a new commit of the branch (after the fetch that brought it) to every \
             service's plan for it being known",
            metrics.commit_plan.clone(),
        );
        registry.register(
            "jones_sync_commit_apply_seconds",
            "From the follower finding a new commit of the branch to its changes applied (apply and heal modes, on \
             the leader; commits with changes only)",
            metrics.commit_apply.clone(),
        );
        Metrics { registry, ..metrics }
    }

    /// The text `/metrics` serves.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String never fails");
        text
    }

    /// Drops the series of a service that left the repository.
    pub fn forget(&self, service: &str) {
        let label = ServiceLabel { service: service.to_string() };
        self.in_sync.remove(&label);
        self.drift_nodes.remove(&label);
        self.pending_changes.remove(&label);
        self.last_apply.remove(&label);
    }
}
