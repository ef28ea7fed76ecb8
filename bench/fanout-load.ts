// Fan-out under load on the local runtime (issue 13): thousands of viewers blocked on the next part, spread
// over simulated regions and isolates (dev mode: x-edge-live-region, x-edge-live-isolate), and a publisher
// that uploads every rendition's copy of a part once all of them wait. Reports what each tier cost per part
// (the stream object's calls by kind, each region's replica requests), the wake latency after a part is
// uploaded against a trivial route at the same concurrency in the same run, and errors. bench/fanout-model.ts
// scales these measured costs to a million viewers.
//
// wrangler dev serves a few hundred requests a second here, far from what thousands of viewers at 0.2 s parts
// ask, so parts are published in rounds instead of in real time: each round, every viewer's blocking request
// is let in (BENCH_SETTLE_MS), then the part is uploaded and every wake timed. Parts are 2 s (PART-TARGET 2,
// 10 s segments), so no blocking request times out while a round fills; a replica whose view went two part
// targets without a push catches up once when its round's requests arrive (counted apart: `catchUps`).
//
//   BENCH_VIEWERS=2000 BENCH_REGIONS=4 BENCH_ISOLATES=8 BENCH_RENDITIONS=2 BENCH_PARTS=10 npm run bench -- fanout-load
//
// Each blocked viewer holds one connection: raise `ulimit -n` above the viewer count.
import { IngestClient, loadFixture, round, startBenchStack, summary, writeResult } from './lib.ts';

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 2000);
const REGIONS = Number(process.env.BENCH_REGIONS ?? 4);
const ISOLATES = Number(process.env.BENCH_ISOLATES ?? 8);
const PARTS = Number(process.env.BENCH_PARTS ?? 10);
// Under the longest failoverTimeout (10 s, set below): a lone input silent for longer is stale and its session
// ends (the reconnect window then waits for a new one), which a round this long would make of the publisher.
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? clamp(VIEWERS * 2, 1_500, 9_000));
const RENDITIONS = ['source', '720p', '480p', '360p'].slice(
  0,
  clamp(Number(process.env.BENCH_RENDITIONS ?? 2), 1, 4),
);
const PART_SECONDS = 2;
const API = { authorization: 'Bearer bench-api' };

interface Delivery {
  replicas: number;
  streamObjectCalls: Record<string, number>;
  replicaRequests: Record<string, number>;
  cacheHitRatio: number | null;
  viewers: number;
}

/** The Worker's first error lines (an unhandled error's 500 says no more than `internal error`). */
const workerErrors: string[] = [];
const bench = await startBenchStack({
  withRelay: false,
  output: (line) => {
    if (workerErrors.length < 20 && /error/i.test(line)) workerErrors.push(line.slice(0, 300));
  },
});
const api = bench.stack.workerUrl;

try {
  const created = await fetch(`${api}/v1/streams`, {
    method: 'POST',
    headers: { ...API, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'fanout',
      partTarget: PART_SECONDS,
      segmentTarget: 5 * PART_SECONDS,
      failoverTimeout: 10,
      reconnectWindow: 300,
    }),
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
  const stream = (await created.json()) as { id: string; streamKey: string };
  const ingest = new IngestClient(api, 'bench-ingest');
  const session = await ingest.startSession(stream.streamKey);
  const fixture = loadFixture();
  for (const r of RENDITIONS) await ingest.putInit(session, fixture.init, r);
  const perSegment = fixture.parts.filter((p) => p.msn === fixture.parts[0]?.msn).length;

  // The publisher: every rendition's copy of one part at once, as a ladder relay uploads them.
  const position = { msn: session.firstMsn, part: 0 };
  let pdt = Date.now();
  const sentAt = new Map<string, number>();
  const uploadNext = async () => {
    const { msn, part } = position;
    const src = fixture.parts[(msn * perSegment + part) % fixture.parts.length] ?? fixture.parts[0];
    if (!src) throw new Error('empty fixture');
    const meta = {
      msn,
      part,
      duration: PART_SECONDS,
      independent: part === 0,
      segmentEnd: part === perSegment - 1,
    };
    sentAt.set(`${msn}.${part}`, performance.now());
    await Promise.all(RENDITIONS.map((r) => ingest.putPart(session, meta, src.bytes, pdt, r)));
    pdt += PART_SECONDS * 1000;
    Object.assign(position, meta.segmentEnd ? { msn: msn + 1, part: 0 } : { msn, part: part + 1 });
  };
  for (let i = 0; i < 2; i++) await uploadNext();

  const base = `${api}/live/${stream.id}`;
  const counts = { errors: 0, late: 0, requests: 0, trivialErrors: 0 };
  /** Viewer errors by kind: an HTTP status, `stale` (a 200 without the part asked for), or `network`. */
  const errorKinds: Record<string, number> = {};
  const viewerError = (kind: string) => {
    if (!running) return;
    counts.errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  const wake: number[] = [];
  let running = true;
  const viewer = async (i: number) => {
    const region = `r${i % REGIONS}`;
    const headers = {
      'x-edge-live-region': region,
      'x-edge-live-isolate': `${region}-${Math.floor(i / REGIONS) % ISOLATES}`,
      'accept-encoding': 'gzip',
      // A distinct client per viewer (a viewer is an IP and User-Agent, src/edge/viewers.ts).
      'user-agent': `fanout-bench/${i}`,
    };
    const rendition = RENDITIONS[i % RENDITIONS.length];
    let next = { ...position };
    while (running) {
      const url = `${base}/${rendition}/${session.eventId}.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
      const asked = performance.now();
      counts.requests++;
      try {
        const res = await fetch(url, { headers });
        const text = await res.text();
        const at = performance.now();
        if (res.status !== 200 || !text.includes(`${next.msn}.${next.part}.m4s`)) {
          viewerError(res.status === 200 ? 'stale' : String(res.status));
          continue;
        }
        const sent = sentAt.get(`${next.msn}.${next.part}`);
        // Only a request that waited for its part measures a wake; one that came after the upload did not wait.
        if (sent !== undefined && asked < sent) wake.push(at - sent);
        else if (sent !== undefined) counts.late++;
      } catch (err) {
        viewerError(`network: ${String((err as { cause?: unknown }).cause ?? err).slice(0, 60)}`);
      }
      next =
        next.part === perSegment - 1
          ? { msn: next.msn + 1, part: 0 }
          : { msn: next.msn, part: next.part + 1 };
    }
  };
  const viewers = Array.from({ length: VIEWERS }, (_, i) => viewer(i));

  await sleep(SETTLE_MS);
  const before = await delivery(stream.id);
  for (let i = 0; i < PARTS; i++) {
    await uploadNext();
    await sleep(SETTLE_MS); // every viewer is answered and blocks again on the next part
  }
  const after = await delivery(stream.id);
  running = false;
  await uploadNext(); // releases the viewers still blocked
  await Promise.all(viewers);

  // The same concurrency against the trivial route: every request sent at once, as a part wakes every viewer.
  const trivial: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: VIEWERS }, async () => {
        try {
          const res = await fetch(`${api}/healthz`);
          await res.arrayBuffer();
          if (res.ok) trivial.push(performance.now() - t0);
          else counts.trivialErrors++;
        } catch {
          counts.trivialErrors++;
        }
      }),
    );
  }

  const perPart = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, round(((a[k] ?? 0) - (b[k] ?? 0)) / PARTS, 2)]));
  const objectPerPart = perPart(after.streamObjectCalls, before.streamObjectCalls);
  const wakeMs = summary(wake);
  const trivialMs = summary(trivial);
  writeResult('fanout-load.json', {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    runtime: 'wrangler dev (local workerd)',
    params: {
      viewers: VIEWERS,
      regions: REGIONS,
      isolatesPerRegion: ISOLATES,
      renditions: RENDITIONS.length,
      parts: PARTS,
      partSeconds: PART_SECONDS,
      settleMs: SETTLE_MS,
    },
    replicas: after.replicas,
    streamObjectPerPart: { ...objectPerPart, total: round(sum(Object.values(objectPerPart)), 2) },
    replicaRequestsPerPart: perPart(after.replicaRequests, before.replicaRequests),
    viewerRequestsPerPart: round(counts.requests / (PARTS + 1), 1),
    cacheHitRatio: after.cacheHitRatio,
    viewersCounted: after.viewers,
    wakeMs: roundSummary(wakeMs),
    lateRequests: counts.late,
    trivialSameConcurrencyMs: roundSummary(trivialMs),
    wakeToTrivial: { p50: round(wakeMs.p50 / trivialMs.p50, 2), p99: round(wakeMs.p99 / trivialMs.p99, 2) },
    errors: counts.errors,
    errorKinds,
    trivialErrors: counts.trivialErrors,
    workerErrors,
  });
} finally {
  await bench.stop();
}

async function delivery(id: string): Promise<Delivery> {
  const res = await fetch(`${api}/v1/streams/${id}/health`, { headers: API });
  if (!res.ok) throw new Error(`health: ${res.status}`);
  return ((await res.json()) as { delivery: Delivery }).delivery;
}

function roundSummary(s: ReturnType<typeof summary>) {
  return { n: s.n, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max ?? Number.NaN) };
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function sum(values: number[]): number {
  return values.reduce((s, n) => s + n, 0);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Number.isFinite(n) ? Math.floor(n) : lo));
}
