// Package metrics holds the Prometheus collectors that every server of one
// immp process reports to. There is no package-level registry: serve builds
// one Metrics per process and hands it to each server through its options,
// so tests can run servers side by side. A nil *Metrics is valid and records
// nothing, so packages need no checks at each call site.
package metrics
