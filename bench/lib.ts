// Small, dependency-free measurement helpers shared by the benchmarks.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StackOptions, startStack } from '../scripts/stack.ts';
import {
  initPath,
  PartHeaders,
  partPath,
  type StartSessionResponse,
  sfBoolean,
} from '../src/contract/ingest.ts';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_API_TOKEN = 'bench-api';
export const BENCH_INGEST_TOKEN = 'bench-ingest';

/**
 * The whole stack for one benchmark run, on free ports, with throwaway state in a temporary folder (`dir`, also
 * free for the benchmark's own files); `stop()` ends the processes and removes the folder.
 */
export async function startBenchStack(extra: Partial<StackOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-live-bench-'));
  const stack = await startStack({
    root: ROOT,
    apiToken: BENCH_API_TOKEN,
    ingestToken: BENCH_INGEST_TOKEN,
    port: 0,
    rtmpPort: 0,
    rtmpsPort: 0,
    srtPort: 0,
    metricsPort: 0,
    persistTo: join(dir, 'state'),
    output: 'ignore',
    ...extra,
  });
  return {
    stack,
    dir,
    stop: async () => {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a benchmark's numbers to bench/results/<file> (committed, so results have a history) and prints them. */
export function writeResult(file: string, result: unknown): void {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.at(-1),
  };
}

/**
 * CPU pressure: `count` busy-loop processes (`sh -c 'while :; do :; done'`, nice 0, each bounded by `timeout`),
 * as when the encoder, a browser and workerd share the cores with the relay. Returns a stop function.
 */
export function busyLoops(count: number, maxSeconds: number): () => void {
  const loops = Array.from({ length: count }, () =>
    spawn('timeout', [String(maxSeconds), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );
  return () => {
    for (const loop of loops) loop.kill('SIGTERM');
  };
}

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size of a process, MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Closed-loop load: `concurrency` clients each send a request as soon as the previous one answered, for
 * `durationMs`. Returns requests per second and latency percentiles; non-2xx answers count as errors.
 */
export async function closedLoop(url: string, concurrency: number, durationMs: number, init?: RequestInit) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, init);
        await res.arrayBuffer();
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = performance.now() - started;
  return { rps: (latencies.length / elapsed) * 1000, errors, latency: summary(latencies) };
}

export interface FixturePart {
  /** Byte offset of the part in parts.mp4. */
  offset: number;
  size: number;
  msn: number;
  part: number;
  independent: boolean;
  duration: number;
  segmentEnd: boolean;
}

/**
 * The ffmpeg-made CMAF fixture (test/fixtures/media, made by make-fixtures.ts): an init segment and its parts,
 * stored back to back in parts.mp4 with their offsets and metadata in manifest.json.
 */
export function loadFixture(root: string = ROOT) {
  const dir = join(root, 'test', 'fixtures', 'media');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { parts: FixturePart[] };
  const all = readFileSync(join(dir, 'parts.mp4'));
  return {
    init: readFileSync(join(dir, 'init.mp4')),
    parts: manifest.parts.map((p) => ({ ...p, bytes: all.subarray(p.offset, p.offset + p.size) })),
  };
}

/** Talks to the Worker the way the relay does (src/contract/ingest.ts). */
export class IngestClient {
  readonly #base: string;
  readonly #token: string;

  constructor(workerUrl: string, ingestToken: string) {
    this.#base = workerUrl;
    this.#token = ingestToken;
  }

  async startSession(streamKey: string): Promise<StartSessionResponse> {
    const res = await fetch(`${this.#base}/internal/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:1', relayId: 'bench' }),
    });
    if (res.status !== 201) throw new Error(`start session: ${res.status} ${await res.text()}`);
    return (await res.json()) as StartSessionResponse;
  }

  async putInit(s: StartSessionResponse, bytes: Uint8Array<ArrayBuffer>, rendition = 'source') {
    const res = await fetch(`${this.#base}${initPath(s.streamId, s.sessionId, rendition)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.#token}`, 'ingest-frame-rate': '25' },
      body: bytes,
    });
    if (!res.ok) throw new Error(`put init ${rendition}: ${res.status} ${await res.text()}`);
  }

  async putPart(
    s: StartSessionResponse,
    p: { msn: number; part: number; duration: number; independent: boolean; segmentEnd: boolean },
    bytes: Uint8Array<ArrayBuffer>,
    pdt: number,
    rendition = 'source',
  ) {
    const res = await fetch(`${this.#base}${partPath(s.streamId, s.sessionId, rendition, p.msn, p.part)}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${this.#token}`,
        [PartHeaders.duration]: p.duration.toFixed(6),
        [PartHeaders.independent]: sfBoolean(p.independent),
        [PartHeaders.programDateTime]: new Date(pdt).toISOString(),
        [PartHeaders.segmentEnd]: sfBoolean(p.segmentEnd),
      },
      body: bytes,
    });
    if (!res.ok) throw new Error(`put part ${p.msn}.${p.part}: ${res.status} ${await res.text()}`);
  }
}
