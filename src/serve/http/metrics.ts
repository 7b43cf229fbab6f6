/**
 * Prometheus metrics of one server, in its own prom-client Registry (never the global one, so two servers
 * in a process do not mix). Counters and histograms are updated on the request path (label lookups only);
 * the decision-log gauges are collected from `decisions.stats()` when scraped, and online-store freshness
 * from the newest event time seen (pushes through /v1/events). Embedding routes are labelled with the
 * space as `model` and its version as `version`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DecisionWriter, ModelEvent, ModelSet } from '../types.js';
import type { EmbeddingEvent, EmbeddingSet } from '../spaces/set.js';

/** Seconds: fine enough below a millisecond. */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface ServerMetrics {
  readonly registry: Registry;
  request(route: string, method: string, status: number, model: string, version: string, seconds: number): void;
  featureRead(ms: number): void;
  /** The newest event time (epoch ms) seen by a push. */
  eventSeen(ms: number): void;
  modelEvent(e: ModelEvent): void;
  embeddingEvent(e: EmbeddingEvent): void;
}

export function serverMetrics(models: ModelSet, decisions: DecisionWriter, opts: { defaults?: boolean; embeddings?: EmbeddingSet; replica?: string } = {}): ServerMetrics {
  const registry = new Registry();
  if (opts.replica) registry.setDefaultLabels({ replica: opts.replica });
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'kiln_' });
  const requests = new Counter({ name: 'kiln_http_requests_total', help: 'HTTP requests by route, method, status, model and version', labelNames: ['route', 'method', 'status', 'model', 'version'], registers: [registry] });
  const latency = new Histogram({ name: 'kiln_http_request_duration_seconds', help: 'Server time per request (received to answered)', labelNames: ['route', 'method', 'model', 'version'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const reads = new Histogram({ name: 'kiln_feature_read_duration_seconds', help: 'Online store reads on the request path', buckets: LATENCY_BUCKETS, registers: [registry] });
  const modelEvents = new Counter({ name: 'kiln_model_events_total', help: 'Model loads, swaps, traffic changes and their failures', labelNames: ['kind', 'model'], registers: [registry] });
  const loadSeconds = new Histogram({ name: 'kiln_model_load_duration_seconds', help: 'Time to load (or swap in) a model version', labelNames: ['kind', 'model'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  const embeddingEvents = new Counter({ name: 'kiln_embedding_events_total', help: 'Embedding space loads, swaps and failed swaps', labelNames: ['kind', 'space'], registers: [registry] });
  const embeddings = opts.embeddings;
  if (embeddings) {
    new Gauge({
      name: 'kiln_embedding_served_version', help: 'Version each embedding space serves', labelNames: ['space'], registers: [registry],
      collect() {
        this.reset();
        for (const s of embeddings.status()) this.set({ space: s.space }, s.version ?? 0);
      },
    });
  }
  let newestEvent = 0;
  new Gauge({
    name: 'kiln_online_freshness_seconds', help: 'Age of the newest event time the server has seen pushed (NaN: none yet)', registers: [registry],
    collect() { this.set(newestEvent ? (Date.now() - newestEvent) / 1000 : NaN); },
  });
  new Gauge({
    name: 'kiln_decision_log_queue_depth', help: 'Decision records accepted and not yet on disk', registers: [registry],
    collect() { this.set(decisions.stats().queued); },
  });
  new Gauge({
    name: 'kiln_decision_log_commit_seconds', help: 'Duration of the last decision log commit (write + fsync)', registers: [registry],
    collect() { this.set(decisions.stats().lastCommitMs / 1000); },
  });
  new Gauge({
    name: 'kiln_decision_log_lag_seconds', help: 'Age of the oldest decision record not yet on disk', registers: [registry],
    collect() { this.set(decisions.stats().lagMs / 1000); },
  });
  new Gauge({
    name: 'kiln_decision_log_committed', help: 'Decision records on disk since start', registers: [registry],
    collect() { this.set(decisions.stats().committed); },
  });
  new Gauge({
    name: 'kiln_decision_log_failures', help: 'Decision log commits that failed since start', registers: [registry],
    collect() { this.set(decisions.stats().failures); },
  });
  new Gauge({
    name: 'kiln_model_served_version', help: 'Version each model serves (primary); 0 while loading or failed', labelNames: ['model', 'role'], registers: [registry],
    collect() {
      this.reset();
      for (const s of models.status()) {
        this.set({ model: s.name, role: 'primary' }, s.version ?? 0);
        if (s.challenger) this.set({ model: s.name, role: s.challenger.mode }, s.challenger.version);
      }
    },
  });
  return {
    registry,
    request(route, method, status, model, version, seconds) {
      requests.inc({ route, method, status: String(status), model, version });
      latency.observe({ route, method, model, version }, seconds);
    },
    featureRead(ms) { reads.observe(ms / 1000); },
    eventSeen(ms) { if (ms > newestEvent) newestEvent = ms; },
    modelEvent(e) {
      modelEvents.inc({ kind: e.kind, model: e.name });
      if (e.kind === 'load' || e.kind === 'swap') loadSeconds.observe({ kind: e.kind, model: e.name }, e.ms / 1000);
    },
    embeddingEvent(e) { embeddingEvents.inc({ kind: e.kind, space: e.space }); },
  };
}
