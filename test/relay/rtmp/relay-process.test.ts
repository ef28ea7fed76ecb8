// The relay process as a container runs it: config from the environment, /healthz and /metrics, RTMP
// refusing publishes when the Worker is unreachable, and a clean exit on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../ingest-relay/src/config.ts';
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
      relayId: 'r1',
    });
    expect(loadConfig({ INGEST_TOKEN: 't' }).relayId).toMatch(/-\d+$/);
  });

  it('reports every problem at once, by variable name', () => {
    const env = {
      WORKER_URL: 'ftp://x',
      RTMP_PORT: '70000',
      METRICS_PORT: 'abc',
      RTMPS_CERT: '/nonexistent.pem',
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
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        INGEST_TOKEN: 'token',
        WORKER_URL: `http://127.0.0.1:${dead}`,
        RTMP_PORT: String(rtmp),
        SRT_PORT: String(srt),
        METRICS_PORT: String(metrics),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = exitOf(child);
    try {
      await waitFor('healthz', () => stdout.includes('ingest relay listening'), 15_000);
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
    expect(stdout).toMatch(/ingest relay stopped/);
  }, 30_000);
});
