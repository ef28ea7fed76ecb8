/**
 * The ingest relay process: configuration from the environment, one IngestHub talking to the Worker, the
 * RTMP (+ RTMPS when a certificate is configured) and SRT listeners, and the metrics port. SIGINT/SIGTERM
 * stop accepting, end every session (flushing its last part) and exit.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type RelayConfig } from './config.ts';
import { LadderAdmission } from './ladder/admission.ts';
import { ConnectionAdmission } from './listen/admission.ts';
import { startRtmpServer } from './listen/rtmp/server.ts';
import { startSrtServer } from './listen/srt/server.ts';
import { log, RateLimitedLog } from './log.ts';
import { counter } from './metrics.ts';
import { startMetricsServer } from './metrics-server.ts';
import { createIngestHub } from './session.ts';

/** How long shutdown may take to flush sessions before the process exits anyway, ms. */
const SHUTDOWN_GRACE_MS = 10_000;

interface Closable {
  name: string;
  close(): Promise<void>;
}

async function start(config: RelayConfig): Promise<Closable[]> {
  const hub = createIngestHub({
    workerUrl: config.workerUrl,
    ingestToken: config.ingestToken,
    relayId: config.relayId,
    ladder: {
      ffmpegPath: config.ladder.ffmpegPath,
      preset: config.ladder.preset,
      admission: new LadderAdmission(config.ladder),
    },
  });
  const servers: Closable[] = [];
  const urls: Record<string, string> = {};
  // One admission for every listener: MAX_CONNECTIONS and MAX_CONNECTIONS_PER_IP count them all.
  const admission = new ConnectionAdmission(config.limits);
  const common = { hub, host: config.host, limits: config.limits, admission };
  try {
    const rtmp = await startRtmpServer({ ...common, port: config.rtmpPort });
    servers.push({ name: 'rtmp', close: () => rtmp.close() });
    urls.rtmp = `${rtmp.url}/{streamKey}`;

    if (config.rtmpsCertFile !== undefined && config.rtmpsKeyFile !== undefined) {
      const tls = { cert: readFileSync(config.rtmpsCertFile), key: readFileSync(config.rtmpsKeyFile) };
      const rtmps = await startRtmpServer({ ...common, port: config.rtmpsPort, tls });
      servers.push({ name: 'rtmps', close: () => rtmps.close() });
      urls.rtmps = `${rtmps.url}/{streamKey}`;
    }

    // SRT: one UDP port, callers routed by streamid (listen/srt/).
    const srt = await startSrtServer({ ...common, port: config.srtPort });
    servers.push({ name: 'srt', close: () => srt.close() });
    urls.srt = `srt://${config.host}:${srt.port}?streamid={streamKey}`;

    // The metrics port last: its /healthz answering means every listener is up.
    const metrics = await startMetricsServer({ host: config.metricsHost, port: config.metricsPort });
    servers.push({ name: 'metrics', close: () => metrics.close() });
    urls.metrics = `http://${config.metricsHost}:${metrics.port}/metrics`;
  } catch (err) {
    await Promise.allSettled(servers.map((s) => s.close()));
    throw err;
  }
  log.info({ relayId: config.relayId, workerUrl: config.workerUrl, ...urls }, 'ingest relay listening');
  return servers;
}

const uncaughtErrors = counter(
  'relay_uncaught_errors_total',
  'Exceptions and rejections that escaped every session error boundary (logged, the process keeps serving)',
  ['kind'],
);

/**
 * The last resort: anything that escapes the per-connection and per-datagram boundaries is logged (at most
 * once a second, with a count) and counted, and the process keeps serving every other stream. Exiting here
 * would end every live stream on the relay for one peer's bug.
 */
function installLastResortHandlers(): void {
  const errors = new RateLimitedLog(log, 1000, 10);
  const report = (kind: 'exception' | 'rejection', err: unknown) => {
    uncaughtErrors.inc({ kind });
    const detail = err instanceof Error ? { err: err.message, stack: err.stack } : { err: String(err) };
    errors.error({ kind, ...detail }, 'error escaped a session boundary; the relay keeps serving');
  };
  process.on('uncaughtException', (err) => report('exception', err));
  process.on('unhandledRejection', (reason) => report('rejection', reason));
}

async function main(): Promise<void> {
  let config: RelayConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  installLastResortHandlers();
  const servers = await start(config);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down: ending sessions');
    setTimeout(() => {
      log.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // Listeners first (they end their sessions, which flush and report to the Worker), metrics last.
    const listeners = servers.filter((s) => s.name !== 'metrics');
    const metrics = servers.filter((s) => s.name === 'metrics');
    Promise.allSettled(listeners.map((s) => s.close()))
      .then(() => Promise.allSettled(metrics.map((s) => s.close())))
      .then(() => {
        log.info('ingest relay stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'ingest relay failed to start');
  process.exit(1);
});
