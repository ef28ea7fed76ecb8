// A model of the edge (issue 13): one stream's audience spread over points of presence, their isolates, the
// regions' replicas and the stream object, with each tier's cost per part taken from the local load test
// (bench/results/fanout-load.json, `npm run bench -- fanout-load`). Prints each tier's request rate and the
// edge's hit ratio for the scenario, then scales one parameter at a time until a target breaks:
//   the stream object under 100 requests a second, every replica under 500, and no viewer more than one part
//   target behind another of the same PoP.
//
//   npm run bench -- fanout-model          (MODEL_VIEWERS, MODEL_RENDITIONS, MODEL_PART_SECONDS, MODEL_POPS,
//                                           MODEL_REGIONS, MODEL_ISOLATES_PER_POP, MODEL_ZIPF, MODEL_QOE_SHARE
//                                           override the scenario)
//
// Per part, each isolate with viewers makes one replica call (its long poll, src/edge/edge-view.ts: every
// rendition, variant and preload hint is answered from the isolate's copy of the view) and one R2 read per
// rendition its viewers watch (the first request for the new part; the rest of the PoP hits the edge cache).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_SHARDS } from '../src/fanout/shards.ts';
import { FLUSH_MS } from '../src/monitoring/origin.ts';
import { ROOT, round, writeResult } from './lib.ts';

interface Scenario {
  viewers: number;
  renditions: number;
  partSeconds: number;
  pops: number;
  regions: number;
  isolatesPerPop: number;
  /** Zipf exponent of viewers over PoPs (0: even). */
  zipf: number;
  /**
   * Share of viewers on our player page, which sends a QoE beacon every 10 s. Beacons are summed in the isolate
   * and the replica (src/monitoring/beacons.ts): an isolate with any such viewer calls its replica once per
   * FLUSH_MS, a replica the stream object once per FLUSH_MS.
   */
  qoeShare: number;
}

/** Per-tier costs per part: measured by fanout-load when its result exists, else the design's counts. */
interface Costs {
  source: string;
  ingestPerRendition: number;
  pushesPerRegion: number;
  catchUpsPerRegion: number;
  readsLeak: number;
  replicaCallsPerIsolate: number;
  wakeSpreadMs: number;
}

const TARGETS = { streamObject: 100, replica: 500 };
/** One more push hop for a sharded region (shard 0 to its shards), ms: a same-region RPC. */
const SHARD_HOP_MS = 20;

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const base: Scenario = {
  viewers: env('MODEL_VIEWERS', 1_000_000),
  renditions: env('MODEL_RENDITIONS', 4),
  partSeconds: env('MODEL_PART_SECONDS', 0.333),
  pops: env('MODEL_POPS', 300),
  regions: env('MODEL_REGIONS', 9),
  isolatesPerPop: env('MODEL_ISOLATES_PER_POP', 16),
  zipf: env('MODEL_ZIPF', 1),
  qoeShare: env('MODEL_QOE_SHARE', 0.1),
};

const DESIGN_COSTS: Costs = {
  source: 'design counts',
  ingestPerRendition: 1,
  pushesPerRegion: 1,
  catchUpsPerRegion: 0,
  readsLeak: 0,
  replicaCallsPerIsolate: 1,
  wakeSpreadMs: 0,
};

/**
 * The costs the model runs on (`MODEL_COSTS`):
 * - `measured` (default): what fanout-load measured of the tree's structure (pushes per region, viewer reads
 *   leaking to the stream object, replica calls per isolate), with the two figures that its round cadence and
 *   the local proxy make meaningless at the edge kept at their design values: catch-ups and the failover
 *   alarm's ingest calls happen between its 9 s rounds (at real-time parts neither does), and its wake spread is
 *   wrangler dev's proxy draining thousands of responses (the trivial route's spread is as large);
 * - `raw`: every measured figure as it is, to see what the local runtime's artefacts would do;
 * - `design`: the design's counts.
 */
function measuredCosts(): Costs {
  const mode = process.env.MODEL_COSTS ?? 'measured';
  const file = join(ROOT, 'bench', 'results', 'fanout-load.json');
  if (mode === 'design') return DESIGN_COSTS;
  if (!existsSync(file)) {
    return {
      ...DESIGN_COSTS,
      source: 'design counts (no bench/results/fanout-load.json: run `npm run bench -- fanout-load`)',
    };
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const p = r.params;
  const perPart = r.streamObjectPerPart;
  const replicaCalls = Object.values(r.replicaRequestsPerPart as Record<string, number>).reduce(
    (s, n) => s + n,
    0,
  );
  const source = `bench/results/fanout-load.json (${r.at}, ${p.viewers} viewers, ${r.runtime}), ${mode}`;
  const structure = {
    pushesPerRegion: perPart.pushes / p.regions,
    readsLeak: perPart.reads,
    replicaCallsPerIsolate: replicaCalls / (p.regions * p.isolatesPerRegion),
  };
  if (mode !== 'raw') return { ...DESIGN_COSTS, ...structure, source };
  return {
    ...structure,
    source,
    ingestPerRendition: perPart.ingest / p.renditions,
    catchUpsPerRegion: perPart.catchUps / p.regions,
    wakeSpreadMs: r.wakeMs.p99 - r.wakeMs.p50,
  };
}

/** Viewers of the PoPs, most watched first: a Zipf law of exponent `s`. */
function popWeights(pops: number, s: number): number[] {
  const raw = Array.from({ length: pops }, (_, i) => 1 / (i + 1) ** s);
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

/** Rendition shares: the first is the most watched (the rung players start on), halving down the ladder. */
function renditionShares(n: number): number[] {
  const raw = Array.from({ length: n }, (_, i) => 0.5 ** i);
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

function evaluate(s: Scenario, c: Costs) {
  const weights = popWeights(s.pops, s.zipf);
  const shares = renditionShares(s.renditions);
  const regionCalls = new Array<number>(s.regions).fill(0); // replica calls a part, per region
  const regionIsolates = new Array<number>(s.regions).fill(0);
  const regionBeaconIsolates = new Array<number>(s.regions).fill(0); // isolates holding a beacon viewer
  let viewerRequests = 0;
  let r2Reads = 0;
  let partRequests = 0;
  for (const [i, w] of weights.entries()) {
    const viewers = s.viewers * w;
    const isolates = Math.min(s.isolatesPerPop, Math.max(1, viewers));
    const perIsolate = viewers / isolates;
    const region = i % s.regions; // PoPs dealt out by rank: each region gets big and small ones
    regionIsolates[region] = (regionIsolates[region] ?? 0) + isolates;
    const beaconing = isolates * (1 - (1 - s.qoeShare) ** perIsolate);
    regionBeaconIsolates[region] = (regionBeaconIsolates[region] ?? 0) + beaconing;
    regionCalls[region] = (regionCalls[region] ?? 0) + isolates * c.replicaCallsPerIsolate;
    for (const share of shares) r2Reads += isolates * (1 - (1 - share) ** perIsolate);
    viewerRequests += viewers * 2; // a blocking playlist and a part, per viewer and part
    partRequests += viewers;
  }
  const replicas = regionCalls.map((calls, g) => {
    // Origin counters and summed QoE beacons: one flush each per isolate every FLUSH_MS, to the replica.
    const flushes = (regionIsolates[g] ?? 0) + (regionBeaconIsolates[g] ?? 0);
    const rate = calls / s.partSeconds + flushes / (FLUSH_MS / 1000);
    const shards = Math.min(MAX_SHARDS, Math.max(1, Math.ceil(rate / TARGETS.replica)));
    // Shard 0 also pushes each part to the region's other shards.
    const perReplica = rate / shards + (shards - 1) / s.partSeconds;
    return { rate, shards, perReplica };
  });
  const perSecond = (perPart: number) => perPart / s.partSeconds;
  const streamObject = {
    ingest: perSecond(s.renditions * c.ingestPerRendition),
    pushes: perSecond(s.regions * c.pushesPerRegion),
    catchUps: perSecond(s.regions * c.catchUpsPerRegion),
    reads: perSecond(c.readsLeak),
    originForwards: s.regions / (FLUSH_MS / 1000),
    qoeForwards: s.qoeShare > 0 ? s.regions / (FLUSH_MS / 1000) : 0,
  };
  const objectTotal = Object.values(streamObject).reduce((a, b) => a + b, 0);
  const worstReplica = Math.max(...replicas.map((r) => r.perReplica));
  const sharded = replicas.some((r) => r.shards > 1);
  const skewMs = c.wakeSpreadMs + (sharded ? SHARD_HOP_MS : 0);
  const upstream = regionCalls.reduce((a, b) => a + b, 0) + r2Reads;
  return {
    streamObject: { total: round(objectTotal), ...mapValues(streamObject, (v) => round(v)) },
    replicas: {
      count: replicas.reduce((n, r) => n + r.shards, 0),
      worstPerReplica: round(worstReplica),
      perRegion: replicas.map((r) => ({ requestsPerSecond: round(r.rate), shards: r.shards })),
    },
    viewerRequestsPerSecond: round(perSecond(viewerRequests)),
    r2ReadsPerSecond: round(perSecond(r2Reads)),
    edgeCacheHitRatio: round(1 - r2Reads / partRequests, 4),
    edgeAbsorption: round(1 - upstream / viewerRequests, 5),
    samePopSkewMs: round(skewMs),
    ok: {
      streamObject: objectTotal < TARGETS.streamObject,
      replicas: worstReplica < TARGETS.replica,
      skew: skewMs <= s.partSeconds * 1000,
    },
  };
}

const passes = (r: ReturnType<typeof evaluate>) => r.ok.streamObject && r.ok.replicas && r.ok.skew;

/** Scales one parameter until the scenario fails; the factor (and the failing value) where it broke. */
function breakingPoint(c: Costs, name: keyof Scenario, step: (v: number) => number, limit: number) {
  if (!passes(evaluate(base, c))) {
    return { parameter: name, from: base[name], breaksAt: base[name], failed: ['scenario'], factor: 1 };
  }
  let value = base[name];
  for (let i = 0; i < 64 && Math.abs(value) <= limit; i++) {
    const next = step(value);
    const r = evaluate({ ...base, [name]: next }, c);
    if (!passes(r)) {
      const failed = Object.entries(r.ok)
        .filter(([, ok]) => !ok)
        .map(([k]) => k);
      return {
        parameter: name,
        from: base[name],
        breaksAt: round(next, 3),
        failed,
        factor: round(next / base[name], 2),
      };
    }
    value = next;
  }
  return { parameter: name, from: base[name], breaksAt: null, failed: [], factor: null };
}

const costs = measuredCosts();
const scenario = evaluate(base, costs);
const sweeps = [
  breakingPoint(costs, 'isolatesPerPop', (v) => v * 2, 1e6),
  breakingPoint(costs, 'viewers', (v) => v * 2, 1e12),
  breakingPoint(costs, 'renditions', (v) => v + 1, 64),
  breakingPoint(costs, 'regions', (v) => v + 1, 200),
  breakingPoint(costs, 'pops', (v) => v * 2, 1e6),
  breakingPoint(costs, 'partSeconds', (v) => v / 1.25, 1e9),
  breakingPoint(costs, 'qoeShare', (v) => Math.min(1, v * 2), 0.99),
];
// What breaks first: the parameter with the least headroom (factor nearest 1 from its scenario value).
const headroom = (b: (typeof sweeps)[number]) =>
  b.factor === null ? Number.POSITIVE_INFINITY : Math.abs(Math.log(b.factor));
const first = [...sweeps].sort((a, b) => headroom(a) - headroom(b))[0];

writeResult('fanout-model.json', {
  at: new Date().toISOString(),
  costs,
  scenario: base,
  targets: TARGETS,
  result: scenario,
  meetsTargets: passes(scenario),
  sweeps,
  breaksFirst: first,
});

function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}
