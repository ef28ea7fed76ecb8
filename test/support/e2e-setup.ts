// Global setup of the e2e project: one real stack (wrangler dev + relay) for all end-to-end files, on free
// ports, with throwaway state and tokens. Tests reach it through `inject('stack')`.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureDevCertificate } from '../../scripts/dev-env.ts';
import { type Stack, startStack } from '../../scripts/stack.ts';

export interface StackInfo {
  workerUrl: string;
  rtmpUrl: string;
  rtmpsUrl: string | null;
  srtUrl: string;
  metricsUrl: string;
  apiToken: string;
  ingestToken: string;
  logFile: string;
  /** Relay control for fault tests, through a tiny HTTP endpoint served by this setup. */
  controlUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let stack: Stack | undefined;

export default async function setup(project: TestProject) {
  const root = join(import.meta.dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'edge-live-e2e-'));
  const logFile = join(dir, 'stack.log');
  const lines: string[] = [];
  const flush = () => writeFileSync(logFile, lines.join('\n'));
  const tls = await ensureDevCertificate(join(dir));
  stack = await startStack({
    root,
    apiToken: 'e2e-api-token',
    ingestToken: 'e2e-ingest-token',
    port: 0,
    rtmpPort: 0,
    rtmpsPort: 0,
    srtPort: 0,
    metricsPort: 0,
    tls,
    persistTo: join(dir, 'state'),
    // Ladders are admitted however busy the box: these 2 cores also run the encoders, workerd and Chromium,
    // and admission by idle CPU (tested in test/relay/ladder) would pass every laddered test stream through.
    relayEnv: { LOG_LEVEL: 'info', LADDER_MIN_IDLE_PERCENT: '0' },
    output: (line, from) => {
      lines.push(`[${from}] ${line}`);
      if (lines.length % 50 === 0) flush();
    },
  });
  const { createServer } = await import('node:http');
  const control = createServer(async (req, res) => {
    // POST /relay/stop|start, POST /worker/stop|start: fault tests restart either mid-stream.
    if (!stack) return void res.writeHead(503).end();
    // GET /log: every line the Worker and the relays have written so far (secrets-in-logs test).
    if (req.url === '/log') return void res.writeHead(200).end(lines.join('\n'));
    try {
      if (req.url === '/relay/stop') await stack.stopRelay('SIGKILL');
      else if (req.url === '/relay/start') await stack.startRelay();
      else if (req.url === '/worker/stop') await stack.stopWorker();
      else if (req.url === '/worker/start') await stack.startWorker();
      else return void res.writeHead(404).end();
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  const addr = control.address();
  const controlUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  project.provide('stack', {
    workerUrl: stack.workerUrl,
    rtmpUrl: stack.rtmpUrl,
    rtmpsUrl: stack.rtmpsUrl,
    srtUrl: stack.srtUrl,
    metricsUrl: stack.metricsUrl,
    apiToken: stack.apiToken,
    ingestToken: stack.ingestToken,
    logFile,
    controlUrl,
  });
  return async () => {
    flush();
    // Keep the stack's log where CI and developers can read it after the run.
    const artifacts = join(root, 'test', '.artifacts');
    mkdirSync(artifacts, { recursive: true });
    copyFileSync(logFile, join(artifacts, 'e2e-stack.log'));
    control.close();
    await stack?.stop();
    if (!process.env.KEEP_E2E_STATE) rmSync(dir, { recursive: true, force: true });
  };
}
