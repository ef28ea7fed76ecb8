/**
 * Every resource limit of the relay in one table: its environment variable, default, and what it bounds.
 * The README's "Relay limits" table lists the same rows (a test keeps the two in step). When a limit closes a
 * connection or refuses one, `relay_limit_hits_total{limit="<ENV NAME>"}` counts it and the close reason in
 * the log names the variable.
 */
import { counter } from './metrics.ts';

export interface RelayLimits {
  /** Open encoder connections over every listener (RTMP, RTMPS, SRT incl. pending handshakes). */
  maxConnections: number;
  /** Open encoder connections from one IP address. */
  maxConnectionsPerIp: number;
  rtmpHandshakeTimeoutMs: number;
  rtmpIdleTimeoutMs: number;
  rtmpMaxWriteBufferBytes: number;
  rtmpWriteStallTimeoutMs: number;
  /** Before a publish is authorized: the largest message and all unfinished messages together, bytes. */
  rtmpPreauthBufferBytes: number;
  /** After authorization: the largest message, bytes. */
  rtmpMaxMessageBytes: number;
  /** After authorization: all unfinished messages of one connection together, bytes. */
  rtmpMaxBufferBytes: number;
  rtmpMaxChunkStreams: number;
  srtMaxPendingHandshakes: number;
  /** Packets one SRT connection may hold for reordering and TSBPD (its advertised flow window). */
  srtMaxBufferPackets: number;
  srtPeerIdleTimeoutMs: number;
}

export interface LimitSpec {
  env: string;
  default: number;
  min: number;
  max: number;
  /** One line for the README. */
  doc: string;
}

const KiB = 1024;
const MiB = 1024 * 1024;

export const LIMIT_SPECS: { readonly [K in keyof RelayLimits]: LimitSpec } = {
  maxConnections: {
    env: 'MAX_CONNECTIONS',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'open encoder connections on all listeners (SRT counts pending handshakes)',
  },
  maxConnectionsPerIp: {
    env: 'MAX_CONNECTIONS_PER_IP',
    default: 32,
    min: 1,
    max: 1_000_000,
    doc: 'open encoder connections from one IP address',
  },
  rtmpHandshakeTimeoutMs: {
    env: 'RTMP_HANDSHAKE_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    max: 600_000,
    doc: 'C0+C1 and C2 (and the TLS handshake for RTMPS) must arrive within this long',
  },
  rtmpIdleTimeoutMs: {
    env: 'RTMP_IDLE_TIMEOUT_MS',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    doc: 'a connection that sends nothing for this long after the handshake is closed',
  },
  rtmpMaxWriteBufferBytes: {
    env: 'RTMP_MAX_WRITE_BUFFER_BYTES',
    default: 1 * MiB,
    min: 4 * KiB,
    max: 1024 * MiB,
    doc: 'a peer that lets this many bytes of our replies pile up unread is closed',
  },
  rtmpWriteStallTimeoutMs: {
    env: 'RTMP_WRITE_STALL_TIMEOUT_MS',
    default: 15_000,
    min: 100,
    max: 600_000,
    doc: 'a peer that reads none of our pending bytes for this long is closed',
  },
  rtmpPreauthBufferBytes: {
    env: 'RTMP_PREAUTH_BUFFER_BYTES',
    default: 64 * KiB,
    min: 4 * KiB,
    max: 64 * MiB,
    doc: 'before the publish is authorized: largest message, and all unfinished messages together',
  },
  rtmpMaxMessageBytes: {
    env: 'RTMP_MAX_MESSAGE_BYTES',
    default: 8 * MiB,
    min: 64 * KiB,
    max: 256 * MiB,
    doc: 'after authorization: largest RTMP message (a keyframe)',
  },
  rtmpMaxBufferBytes: {
    env: 'RTMP_MAX_BUFFER_BYTES',
    default: 16 * MiB,
    min: 64 * KiB,
    max: 1024 * MiB,
    doc: 'after authorization: all unfinished messages of one connection together',
  },
  rtmpMaxChunkStreams: {
    env: 'RTMP_MAX_CHUNK_STREAMS',
    default: 64,
    min: 4,
    max: 65_599,
    doc: 'chunk stream ids one connection may use (encoders use 2-8)',
  },
  srtMaxPendingHandshakes: {
    env: 'SRT_MAX_PENDING_HANDSHAKES',
    default: 256,
    min: 1,
    max: 100_000,
    doc: 'SRT conclusions waiting for the Worker to authorize them',
  },
  srtMaxBufferPackets: {
    env: 'SRT_MAX_BUFFER_PACKETS',
    default: 8192,
    min: 32,
    max: 1_000_000,
    doc: 'packets one SRT connection holds for reordering and latency (1,456 B each; the flow window)',
  },
  srtPeerIdleTimeoutMs: {
    env: 'SRT_PEER_IDLE_TIMEOUT_MS',
    default: 5000,
    min: 100,
    max: 600_000,
    doc: 'an SRT connection that sends nothing for this long is closed',
  },
};

export const DEFAULT_LIMITS: RelayLimits = Object.fromEntries(
  Object.entries(LIMIT_SPECS).map(([k, spec]) => [k, spec.default]),
) as unknown as RelayLimits;

/** Reads every limit from `env`; bad values go to `problems` with the variable's name. */
export function readLimits(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): RelayLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, spec] of Object.entries(LIMIT_SPECS) as [keyof RelayLimits, LimitSpec][]) {
    const raw = env[spec.env]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < spec.min || n > spec.max) {
      problems.push(`${spec.env}=${raw} must be a whole number in ${spec.min}..${spec.max}`);
      continue;
    }
    limits[key] = n;
  }
  return limits;
}

/** One counter for every limit, labelled by its environment variable. */
export const limitHits = counter(
  'relay_limit_hits_total',
  'Connections refused or closed, and packets refused, because a configured limit was reached',
  ['limit'],
);

/** Counts a limit that triggered and returns its environment variable, for the log line. */
export function hitLimit(key: keyof RelayLimits): string {
  const name = LIMIT_SPECS[key].env;
  limitHits.inc({ limit: name });
  return name;
}

/** The same, for a limit known by its environment variable (an RtmpError carries that). */
export function countLimitHit(envName: string): void {
  limitHits.inc({ limit: envName });
}
