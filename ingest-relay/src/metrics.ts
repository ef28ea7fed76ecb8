import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The relay's Prometheus registry, served as text on `METRICS_PORT` (`/metrics`). Every module registers its
 * metrics here, prefixed `relay_`. Labels stay low-cardinality: protocol, reason, stream id (never the key).
 */
export const registry = new Registry();

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
) {
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

/** Connections, by protocol; bad input, by protocol and reason: shared by every listener. */
export const connectionsTotal = counter('relay_connections_total', 'Encoder connections accepted', [
  'protocol',
]);
export const connectionsActive = gauge('relay_connections_active', 'Encoder connections open now', [
  'protocol',
]);
export const connectionErrorsTotal = counter(
  'relay_connection_errors_total',
  'Connections closed because of bad input or a refused publish',
  ['protocol', 'reason'],
);
