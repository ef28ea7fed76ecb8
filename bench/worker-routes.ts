import {
  closedLoop,
  IngestClient,
  loadFixture,
  median,
  ROOT,
  round,
  startBenchStack,
  summary,
  writeResult,
} from './lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const bench = await startBenchStack({ withRelay: false });
const { stack } = bench;

try {
  const api = stack.workerUrl;
  const created = await fetch(`${api}/v1/streams`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-api', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', partTarget: 0.2, segmentTarget: 1, ladder: 'passthrough' }),
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
  const stream = (await created.json()) as { id: string; streamKey: string };
  const ingest = new IngestClient(api, 'bench-ingest');
  const session = await ingest.startSession(stream.streamKey);
  const fixture = loadFixture(ROOT);
  await ingest.putInit(session, fixture.init);

  // Upload parts by cycling the fixture's bytes: the origin treats part bytes as opaque, and the timeline
  // (msn, part index, durations, keyframe flags) follows the fixture's own pattern.
  const perSegment = fixture.parts.filter((p) => p.msn === fixture.parts[0]?.msn).length;
  let msn = session.firstMsn;
  let partIndex = 0;
  let pdt = Date.now();
  const uploadNext = async () => {
    const src = fixture.parts[(msn * perSegment + partIndex) % fixture.parts.length] ?? fixture.parts[0];
    if (!src) throw new Error('empty fixture');
    const segmentEnd = partIndex === perSegment - 1;
    const meta = { msn, part: partIndex, duration: src.duration, independent: partIndex === 0, segmentEnd };
    await ingest.putPart(session, meta, src.bytes, pdt);
    pdt += src.duration * 1000;
    const done = { msn, part: partIndex };
    if (segmentEnd) {
      msn++;
      partIndex = 0;
    } else partIndex++;
    return done;
  };
  for (let i = 0; i < perSegment * 8 + 2; i++) await uploadNext();

  const playlistUrl = `${api}/live/${stream.id}/source/index.m3u8`;
  const trivialUrl = `${api}/healthz`;

  // Keep publishing while the routes are measured, as a live relay does (one part per part duration): the
  // playlist changes under load, and the session never looks stale to the origin.
  let publishing: Promise<unknown> = Promise.resolve();
  const publisher = setInterval(() => {
    publishing = publishing.then(uploadNext);
  }, 200);

  // 1. Throughput, interleaved rounds so both routes see the same machine conditions.
  const trivial: number[] = [];
  const playlist: number[] = [];
  const playlistGzip: number[] = [];
  let errors = 0;
  await closedLoop(trivialUrl, CONCURRENCY, 1000); // warm-up
  await closedLoop(playlistUrl, CONCURRENCY, 1000);
  for (let r = 0; r < ROUNDS; r++) {
    const a = await closedLoop(trivialUrl, CONCURRENCY, ROUND_MS);
    const b = await closedLoop(playlistUrl, CONCURRENCY, ROUND_MS);
    const c = await closedLoop(playlistUrl, CONCURRENCY, ROUND_MS, {
      headers: { 'accept-encoding': 'gzip' },
    });
    trivial.push(a.rps);
    playlist.push(b.rps);
    playlistGzip.push(c.rps);
    errors += a.errors + b.errors + c.errors;
  }

  clearInterval(publisher);
  await publishing;

  // 2. Wake time of N viewers blocked on the next part.
  const wake: Record<
    string,
    ReturnType<typeof summary> & {
      errors: number;
      trials: number;
      uploadMsMedian: number;
      trivialSameConcurrencyMs: { p50: number; max: number };
    }
  > = {};
  for (const viewers of [100, 1000]) {
    const all: number[] = [];
    const uploadMs: number[] = [];
    let wakeErrors = 0;
    const trials = 3;
    for (let t = 0; t < trials; t++) {
      const next = { msn, part: partIndex };
      const url = `${playlistUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
      let landedAt = 0;
      const waits = Array.from({ length: viewers }, async () => {
        try {
          const res = await fetch(url);
          const text = await res.text();
          const woke = performance.now();
          if (!res.ok || !text.includes(`${next.msn}.${next.part}.m4s`)) wakeErrors++;
          return woke;
        } catch {
          wakeErrors++;
          return Number.NaN;
        }
      });
      await new Promise((r) => setTimeout(r, 1500)); // let every request reach the Worker and block
      landedAt = performance.now();
      await uploadNext();
      uploadMs.push(performance.now() - landedAt);
      for (const woke of await Promise.all(waits)) if (Number.isFinite(woke)) all.push(woke - landedAt);
      await uploadNext(); // keep the timeline moving between trials
    }
    // Baseline on the same runtime: the same number of concurrent requests to the trivial route, all sent at
    // once; the time until the last answer bounds what any route can do at this concurrency locally.
    const trivialAll: number[] = [];
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      const ends = await Promise.all(
        Array.from({ length: viewers }, async () => {
          const res = await fetch(trivialUrl);
          await res.arrayBuffer();
          return performance.now() - t0;
        }),
      );
      trivialAll.push(...ends);
    }
    const trivialSummary = summary(trivialAll);
    wake[String(viewers)] = {
      ...summary(all),
      errors: wakeErrors,
      trials,
      uploadMsMedian: round(median(uploadMs)),
      trivialSameConcurrencyMs: {
        p50: round(trivialSummary.p50),
        max: round(trivialSummary.max ?? Number.NaN),
      },
    };
  }

  const result = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    runtime: 'wrangler dev (local workerd)',
    throughput: {
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      concurrency: CONCURRENCY,
      trivialRps: round(median(trivial)),
      playlistRps: round(median(playlist)),
      playlistGzipRps: round(median(playlistGzip)),
      playlistToTrivial: round(median(playlist) / median(trivial), 3),
      playlistGzipToTrivial: round(median(playlistGzip) / median(trivial), 3),
      errors,
    },
    wakeMs: Object.fromEntries(
      Object.entries(wake).map(([k, v]) => [
        k,
        { ...v, p50: round(v.p50), p90: round(v.p90), p99: round(v.p99), max: round(v.max ?? Number.NaN) },
      ]),
    ),
  };
  writeResult('worker-routes.json', result);
} finally {
  await bench.stop();
}
