/**
 * The relay's configuration, from environment variables (DESIGN.md "Interfaces"). Every problem is reported
 * at once, with the variable's name, so a misconfigured container fails on start with one clear message.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { type RelayLimits, readLimits } from './limits.ts';

export interface RelayConfig {
  /** Base URL of the Worker (`WORKER_URL`), no trailing slash. */
  workerUrl: string;
  /**
   * Bearer credential for the Worker's internal routes (`INGEST_TOKEN`, required): the Worker's shared
   * INGEST_TOKEN, or this relay's own credential from `POST /v1/relays` (then the Worker takes the relay's
   * identity from it, not from RELAY_ID).
   */
  ingestToken: string;
  /** Address every listener binds (`HOST`; 127.0.0.1 locally, 0.0.0.0 in the container). */
  host: string;
  rtmpPort: number;
  rtmpsPort: number;
  /** PEM files; RTMPS is served only when both are set (`RTMPS_CERT`, `RTMPS_KEY`). */
  rtmpsCertFile: string | undefined;
  rtmpsKeyFile: string | undefined;
  /** UDP port of the SRT listener. */
  srtPort: number;
  metricsPort: number;
  /**
   * Address the metrics port binds (`METRICS_HOST`, default 127.0.0.1 even when `HOST` is 0.0.0.0): metrics
   * name streams and peers, so they are opened to a scraper on purpose, not by the encoder-facing bind.
   */
  metricsHost: string;
  /** Connection and buffer limits (limits.ts, `MAX_CONNECTIONS`, `RTMP_*`, `SRT_*`). */
  limits: RelayLimits;
  /** Stable id of this relay process in health reports and logs (`RELAY_ID`, default hostname-pid). */
  relayId: string;
  /** The ABR ladder's transcoder (issue 12). */
  ladder: LadderConfig;
}

export interface LadderConfig {
  /** The ffmpeg binary (`FFMPEG_PATH`, default `ffmpeg` on the PATH). */
  ffmpegPath: string;
  /** x264 preset of every rung (`LADDER_PRESET`, default `veryfast`). */
  preset: string;
  /**
   * Ladders one relay runs at once (`LADDER_MAX_INPUTS`, default: twice the number of CPUs). bench/ladder.ts
   * measured five 720p standard ladders (480p + 360p) in real time on 2 cores; twice the CPUs leaves room for
   * passthrough streams, and the idle-CPU check below guards the rest.
   */
  maxInputs: number;
  /** Idle CPU below which no new ladder starts, percent of the box (`LADDER_MIN_IDLE_PERCENT`, default 20). */
  minIdlePercent: number;
}

const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'];

export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid relay configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): RelayConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const port = (name: string, fallback: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      problems.push(`${name}=${raw} is not a port number (1-65535)`);
      return fallback;
    }
    return n;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name}=${raw} is not an integer in ${min}-${max}`);
      return fallback;
    }
    return n;
  };

  const workerUrl = (text('WORKER_URL') ?? 'http://127.0.0.1:8787').replace(/\/+$/, '');
  try {
    const url = new URL(workerUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`WORKER_URL=${workerUrl} must be an http(s) URL`);
    }
  } catch {
    problems.push(`WORKER_URL=${workerUrl} is not a URL`);
  }
  const ingestToken = text('INGEST_TOKEN') ?? '';
  if (ingestToken === '')
    problems.push('INGEST_TOKEN is required (the bearer token the Worker expects from relays)');

  const rtmpsCertFile = text('RTMPS_CERT');
  const rtmpsKeyFile = text('RTMPS_KEY');
  if ((rtmpsCertFile === undefined) !== (rtmpsKeyFile === undefined)) {
    problems.push(
      'RTMPS_CERT and RTMPS_KEY must be set together (PEM certificate chain and private key files)',
    );
  }
  for (const [name, file] of [
    ['RTMPS_CERT', rtmpsCertFile],
    ['RTMPS_KEY', rtmpsKeyFile],
  ] as const) {
    if (file !== undefined && !existsSync(file)) problems.push(`${name}=${file}: no such file`);
  }

  const config: RelayConfig = {
    workerUrl,
    ingestToken,
    host: text('HOST') ?? '127.0.0.1',
    rtmpPort: port('RTMP_PORT', 1935),
    rtmpsPort: port('RTMPS_PORT', 1936),
    rtmpsCertFile,
    rtmpsKeyFile,
    srtPort: port('SRT_PORT', 9000),
    metricsPort: port('METRICS_PORT', 9100),
    metricsHost: text('METRICS_HOST') ?? '127.0.0.1',
    limits: readLimits(env, problems),
    relayId: text('RELAY_ID') ?? `${hostname()}-${process.pid}`,
    ladder: {
      ffmpegPath: text('FFMPEG_PATH') ?? 'ffmpeg',
      preset: text('LADDER_PRESET') ?? 'veryfast',
      maxInputs: integer('LADDER_MAX_INPUTS', 2 * availableParallelism(), 0, 1000),
      minIdlePercent: integer('LADDER_MIN_IDLE_PERCENT', 20, 0, 100),
    },
  };
  if (!X264_PRESETS.includes(config.ladder.preset)) {
    problems.push(`LADDER_PRESET=${config.ladder.preset} is not one of ${X264_PRESETS.join(', ')}`);
  }
  const tcpPorts = [
    ['RTMP_PORT', config.rtmpPort],
    ['METRICS_PORT', config.metricsPort],
    ...(rtmpsCertFile ? [['RTMPS_PORT', config.rtmpsPort] as const] : []),
  ] as const;
  for (let i = 0; i < tcpPorts.length; i++) {
    for (let j = i + 1; j < tcpPorts.length; j++) {
      const [a, pa] = tcpPorts[i]!;
      const [b, pb] = tcpPorts[j]!;
      if (pa === pb) problems.push(`${a} and ${b} are both ${pa}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
