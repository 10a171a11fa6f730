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
        Self::new(None)
    }
}

impl Metrics {
    /// The metrics of a server, every one labelled `target="<name>"` when it serves a target of
    /// `[targets]`.
    pub fn new(target: Option<&str>) -> Metrics {
        let mut registry = match target {
            Some(name) => Registry::with_labels(std::iter::once(("target".into(), name.to_string().into()))),
            None => Registry::default(),
        };
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

/// The expositions of several registries (one per target, [`Metrics::encode`]) as one: each
/// metric family once, with the samples of every registry, as OpenMetrics requires (a family's
/// samples are not interleaved with another's, and `# EOF` ends the text).
pub fn merge(texts: &[String]) -> String {
    if let [one] = texts {
        return one.clone();
    }
    // Each family's name, metadata lines (`# HELP`, `# TYPE`, `# UNIT`: the first registry's) and
    // samples, in the order families are first met.
    let mut families: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for text in texts {
        let mut current: Option<usize> = None;
        for line in text.lines().filter(|line| *line != "# EOF") {
            let Some(meta) = line.strip_prefix("# ") else {
                if let Some(at) = current {
                    families[at].2.push(line);
                }
                continue;
            };
            let mut words = meta.split(' ');
            let (kind, name) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            let at = families.iter().position(|(known, _, _)| *known == name).unwrap_or_else(|| {
                families.push((name, Vec::new(), Vec::new()));
                families.len() - 1
            });
            let kinds = &mut families[at].1;
            if !kinds.iter().any(|l| l[2..].split(' ').next() == Some(kind)) {
                kinds.push(line);
            }
            current = Some(at);
        }
    }
    let mut out = String::new();
    for (_, meta, samples) in &families {
        for line in meta.iter().chain(samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_of_several_targets_are_one_exposition() {
        let a = Metrics::new(Some("a"));
        let b = Metrics::new(Some("b"));
        a.fetch_errors.inc();
        b.leader.set(1);
        let merged = merge(&[a.encode(), b.encode()]);
        assert_eq!(merged.matches("# TYPE jones_sync_leader gauge").count(), 1, "{merged}");
        assert_eq!(merged.matches("# EOF").count(), 1);
        assert!(merged.ends_with("# EOF\n"));
        let leader: Vec<&str> = merged.lines().filter(|l| l.starts_with("jones_sync_leader{")).collect();
        assert_eq!(leader, ["jones_sync_leader{target=\"a\"} 0", "jones_sync_leader{target=\"b\"} 1"]);
        // A family's samples follow its metadata, uninterrupted.
        let at = merged.find("# TYPE jones_sync_leader").unwrap();
        let next = merged[at..].lines().skip(1).take_while(|l| !l.starts_with('#')).count();
        assert!(next >= 2, "{merged}");
        assert_eq!(merge(&[a.encode()]), a.encode());
    }
}
