// The relay process as a container runs it: config from the environment, /healthz and /metrics, RTMP
// refusing publishes when the Worker is unreachable, and a clean exit on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../ingest-relay/src/config.ts';
import { DEFAULT_LIMITS, LIMIT_SPECS } from '../../../ingest-relay/src/limits.ts';
import { publishWithFfmpeg, waitFor } from './support.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ INGEST_TOKEN: 't', RELAY_ID: 'r1' })).toEqual({
      workerUrl: 'http://127.0.0.1:8787',
      ingestToken: 't',
      host: '127.0.0.1',
      rtmpPort: 1935,
      rtmpsPort: 1936,
      rtmpsCertFile: undefined,
      rtmpsKeyFile: undefined,
      srtPort: 9000,
      metricsPort: 9100,
      metricsHost: '127.0.0.1',
      limits: DEFAULT_LIMITS,
      relayId: 'r1',
      ladder: {
        ffmpegPath: 'ffmpeg',
        preset: 'veryfast',
        maxInputs: 2 * availableParallelism(),
        minIdlePercent: 20,
      },
    });
    expect(DEFAULT_LIMITS.maxConnectionsPerIp).toBe(32);
    expect(DEFAULT_LIMITS.rtmpPreauthBufferBytes).toBe(64 * 1024);
    expect(loadConfig({ INGEST_TOKEN: 't' }).relayId).toMatch(/-\d+$/);
  });

  it('reports every problem at once, by variable name', () => {
    expect(() =>
      loadConfig({ INGEST_TOKEN: 't', LADDER_PRESET: 'placebo', LADDER_MAX_INPUTS: '-1' }),
    ).toThrow(/LADDER_MAX_INPUTS=-1 is not an integer[\s\S]*LADDER_PRESET=placebo is not one of/);
    const env = {
      WORKER_URL: 'ftp://x',
      RTMP_PORT: '70000',
      METRICS_PORT: 'abc',
      RTMPS_CERT: '/nonexistent.pem',
      MAX_CONNECTIONS_PER_IP: '0',
      RTMP_MAX_MESSAGE_BYTES: '8M',
    };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'WORKER_URL=ftp://x must be an http(s) URL',
      'INGEST_TOKEN is required (the bearer token the Worker expects from relays)',
      'RTMPS_CERT and RTMPS_KEY must be set together (PEM certificate chain and private key files)',
      'RTMPS_CERT=/nonexistent.pem: no such file',
      'RTMP_PORT=70000 is not a port number (1-65535)',
      'METRICS_PORT=abc is not a port number (1-65535)',
      'MAX_CONNECTIONS_PER_IP=0 must be a whole number in 1..1000000',
      'RTMP_MAX_MESSAGE_BYTES=8M must be a whole number in 65536..268435456',
    ]);
    expect(() => loadConfig({ INGEST_TOKEN: 't', RTMP_PORT: '9100' })).toThrow(
      /RTMP_PORT and METRICS_PORT are both 9100/,
    );
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const main = join(import.meta.dirname, '../../../ingest-relay/src/main.ts');

/** The relay as a process with `env` (and PATH), its stdout collected. */
function spawnRelay(env: Record<string, string>, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out = { child, stdout: '', exited: exitOf(child) };
  child.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  return out;
}

describe('relay process', () => {
  it('exits with the configuration problems when INGEST_TOKEN is missing', async () => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    expect(await exitOf(child)).toBe(2);
    expect(stderr).toMatch(/INGEST_TOKEN is required/);
  });

  it('serves /healthz and /metrics, refuses publishes while the Worker is down, stops on SIGTERM', async () => {
    const [rtmp, srt, metrics, dead] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const relay = spawnRelay({
      INGEST_TOKEN: 'token',
      WORKER_URL: `http://127.0.0.1:${dead}`,
      RTMP_PORT: String(rtmp),
      SRT_PORT: String(srt),
      METRICS_PORT: String(metrics),
    });
    const { child, exited } = relay;
    try {
      await waitFor('healthz', () => relay.stdout.includes('ingest relay listening'), 15_000);
      expect(await (await fetch(`http://127.0.0.1:${metrics}/healthz`)).text()).toBe('ok\n');
      const run = await publishWithFfmpeg(`rtmp://127.0.0.1:${rtmp}/live/some-key`, { seconds: 1 });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/ingest unavailable, retry later/);
      const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      expect(text).toMatch(/relay_connections_total\{protocol="rtmp"\} 1/);
      expect(text).toMatch(/relay_connection_errors_total\{protocol="rtmp",reason="refused-unavailable"\} 1/);
      expect((await fetch(`http://127.0.0.1:${metrics}/nope`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(relay.stdout).toMatch(/ingest relay stopped/);
  }, 30_000);

  it('keeps serving when an error escapes every session boundary, and binds metrics to METRICS_HOST', async () => {
    const [rtmp, srt, metrics] = [await freePort(), await freePort(), await freePort()];
    const preload = pathToFileURL(join(import.meta.dirname, '../../fixtures/relay/escape-boundaries.mjs'));
    const relay = spawnRelay(
      {
        INGEST_TOKEN: 'token',
        WORKER_URL: 'http://127.0.0.1:9',
        // Listeners on 127.0.0.2 (a loopback address too); metrics stay on the default 127.0.0.1.
        HOST: '127.0.0.2',
        RTMP_PORT: String(rtmp),
        SRT_PORT: String(srt),
        METRICS_PORT: String(metrics),
      },
      ['--import', preload.href],
    );
    const { child, exited } = relay;
    try {
      await waitFor(
        'the injected errors',
        () => relay.stdout.includes('injected: unhandled rejection'),
        15_000,
      );
      expect(relay.stdout).toContain('injected: escaped every boundary');
      expect(child.exitCode).toBeNull();
      expect(await (await fetch(`http://127.0.0.1:${metrics}/healthz`)).text()).toBe('ok\n');
      const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      expect(text).toMatch(/relay_uncaught_errors_total\{kind="exception"\} 1/);
      expect(text).toMatch(/relay_uncaught_errors_total\{kind="rejection"\} 1/);
      // Not reachable on the encoder-facing address.
      await expect(fetch(`http://127.0.0.2:${metrics}/healthz`)).rejects.toThrow();
      // The RTMP listener still accepts connections.
      const socket = net.connect(rtmp, '127.0.0.2');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.destroy();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('relay limits documentation', () => {
  it('lists every limit in ingest-relay/README.md with its default', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../ingest-relay/README.md'), 'utf8');
    for (const spec of Object.values(LIMIT_SPECS)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${spec.env}\` |`));
      expect(row, spec.env).toBeDefined();
      const documented = Number(
        /\| ([\d,]+)/.exec(row!.slice(spec.env.length + 4))?.[1]?.replaceAll(',', ''),
      );
      const unit = / (KiB|MiB) /.exec(row!)?.[1];
      const scale = unit === 'MiB' ? 1024 * 1024 : unit === 'KiB' ? 1024 : 1;
      expect(documented * scale, spec.env).toBe(spec.default);
    }
  });
});
