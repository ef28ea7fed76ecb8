// A simulated six-hour event (issue 15, item 8), in Node, with the stream object's own code: its reducers, its
// storage (src/stream/storage.ts) and the recording index (src/recording/) over SQLite (node:sqlite behind the
// Durable Object's `sql.exec` API, as far as those modules use it), tiny media (sizes only, nothing in R2).
// One rendition, 0.25 s parts, 2 s segments: 86,400 parts, 10,800 segments.
//
// - Per-part cost (reducer, storage writes, index rows) in the event's first and last ten minutes: a long event
//   must not make each part cost more.
// - Render time, p50/p99, of the live playlist, the DVR playlist (4-hour window) full and with _HLS_skip, and
//   the ready recording's VOD playlist, and their sizes. The DVR front walk (the index read) is apart: the
//   object does it once a segment and rendition.
// - Storage: the SQLite database's size (what the object's `sql.databaseSize` reports) and its rows.
// - Wake latency of a blocked live request (part arrives → its playlist answered), parts every 250 ms in real
//   time, alone and with DVR and VOD requests arriving meanwhile, in one run. The object is single-threaded, so
//   this is what its other readers cost a live viewer; DVR texts are memoized per state as in the object.
//
//   npm run bench -- dvr-event            (BENCH_HOURS=6 BENCH_LOAD_RPS=40 BENCH_WAKE_SECONDS=8)

import { DatabaseSync } from 'node:sqlite';
import { SOURCE_RENDITION } from '../src/contract/ingest.ts';
import type { Directives } from '../src/hls/directives.ts';
import { buildMediaPlaylist } from '../src/hls/from-state.ts';
import { buildMultivariantPlaylist } from '../src/hls/variants.ts';
import { recordingChanges } from '../src/recording/changes.ts';
import { buildDvrPlaylist } from '../src/recording/dvr-playlist.ts';
import { StreamRecordings } from '../src/recording/recordings.ts';
import { addPartCommand, putInitCommand, startSessionCommand } from '../src/stream/commands.ts';
import { emptyState, type StreamState } from '../src/stream/model.ts';
import { PlaylistTexts } from '../src/stream/playlist-texts.ts';
import { StreamStorage } from '../src/stream/storage.ts';
import { round, summary, writeResult } from './lib.ts';

const HOURS = Number(process.env.BENCH_HOURS ?? 6);
const LOAD_RPS = Number(process.env.BENCH_LOAD_RPS ?? 40);
const WAKE_SECONDS = Number(process.env.BENCH_WAKE_SECONDS ?? 8);
const PART = 0.25;
const PARTS_PER_SEGMENT = 8;
const DVR_WINDOW = 14_400;
const RENDERS = 200;
const STREAM = 'st_bench';
const SESSION = 'se_bench';
const EVENT = 'ev_bench';

type Row = Record<string, SqlStorageValue>;

/** The Durable Object SQL API over node:sqlite: `exec` with bindings, lazy row cursors, `rowsWritten`. */
function sqlStorage(db: DatabaseSync): SqlStorage {
  const cursor = (rows: Iterable<Row>, rowsWritten: number) => {
    const it = rows[Symbol.iterator]();
    return {
      rowsWritten,
      toArray: () => Array.from({ [Symbol.iterator]: () => it }),
      one: () => it.next().value,
      next: () => it.next(),
      [Symbol.iterator]: () => it,
    };
  };
  return {
    exec(query: string, ...bindings: SqlStorageValue[]) {
      const statements = query.split(';').filter((s) => s.trim() !== '');
      if (bindings.length === 0 && statements.length > 1) {
        db.exec(query);
        return cursor([], 0);
      }
      const statement = db.prepare(query);
      const args = bindings as (string | number | null)[];
      if (/^\s*(SELECT|WITH|PRAGMA)/i.test(query))
        return cursor(statement.iterate(...args) as Iterable<Row>, 0);
      return cursor([], Number(statement.run(...args).changes));
    },
    get databaseSize() {
      const { n } = db
        .prepare('SELECT page_count * page_size AS n FROM pragma_page_count, pragma_page_size')
        .get() as {
        n: number;
      };
      return n;
    },
  } as unknown as SqlStorage;
}

const db = new DatabaseSync(':memory:');
const sql = sqlStorage(db);
const store = new StreamStorage(sql);
const recordings = new StreamRecordings({
  sql,
  // Nothing here reaches R2 or the sweep queue (MP4 runs and deletion are not measured).
  bucket: null as unknown as R2Bucket,
  sweeps: null as never,
  streamId: () => STREAM,
});

const t0 = Date.UTC(2026, 11, 3, 12, 0, 0);
let state: StreamState = emptyState();
const shell = { alarmAt: null };

/** Adopts a step as the object does (StreamDO.step): persist by identity, then the recording index. */
function adopt(next: StreamState): void {
  if (next === state) return;
  store.saveChanges(state, next);
  const changes = recordingChanges(state, next);
  if (changes) recordings.apply(changes);
  state = next;
}

adopt(
  startSessionCommand(
    state,
    {
      streamId: STREAM,
      sessionId: SESSION,
      eventId: EVENT,
      config: { partTarget: PART, segmentTarget: 2, ladder: 'passthrough', dvrWindow: DVR_WINDOW },
      protocol: 'rtmp',
      remoteAddress: '127.0.0.1:50000',
      relayId: 'relay-bench',
      role: 'primary',
    },
    t0,
    shell,
  ).state,
);
adopt(
  putInitCommand(state, {
    sessionId: SESSION,
    rendition: SOURCE_RENDITION,
    init: { codecs: ['avc1.64001f', 'mp4a.40.2'], width: 1280, height: 720, frameRate: 30, size: 800 },
  }).state,
);

let part = 0;
/** Publishes the next part at its own (simulated) time; returns what the object's step cost, in ms. */
function addNextPart(at = t0 + part * PART * 1000): number {
  const msn = Math.floor(part / PARTS_PER_SEGMENT);
  const index = part % PARTS_PER_SEGMENT;
  const started = performance.now();
  const step = addPartCommand(
    state,
    {
      sessionId: SESSION,
      rendition: SOURCE_RENDITION,
      msn,
      part: index,
      duration: PART,
      independent: index === 0,
      programDateTime: at,
      segmentEnd: index === PARTS_PER_SEGMENT - 1,
      size: 20_000,
    },
    at + 50,
    shell,
  );
  if (step.result.kind !== 'committed') throw new Error(`part ${part}: ${JSON.stringify(step.result)}`);
  adopt(step.state);
  part++;
  return performance.now() - started;
}

const totalParts = (HOURS * 3600) / PART;
const tenMinutes = 600 / PART;
const firstTen: number[] = [];
const lastTen: number[] = [];
const buildStarted = performance.now();
while (part < totalParts) {
  const ms = addNextPart();
  if (part <= tenMinutes) firstTen.push(ms);
  else if (part > totalParts - tenMinutes) lastTen.push(ms);
}
const buildSeconds = (performance.now() - buildStarted) / 1000;

const full: Directives = {};
const skip: Directives = { skip: 'YES' };
const liveModel = () => buildMediaPlaylist(state, SOURCE_RENDITION, null);
const firstLiveMsn = () => {
  const m = liveModel();
  return m?.segments[0]?.msn ?? m?.mediaSequence ?? 0;
};

function timed(fn: () => string | null | undefined): { ms: ReturnType<typeof rounded>; bytes: number } {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RENDERS; i++) {
    const started = performance.now();
    bytes = fn()?.length ?? 0;
    ms.push(performance.now() - started);
  }
  return { ms: rounded(summary(ms)), bytes };
}

function rounded(s: ReturnType<typeof summary>) {
  return { n: s.n, p50: round(s.p50, 3), p99: round(s.p99, 3), max: round(s.max ?? 0, 3) };
}

const freshRecordings = () =>
  new StreamRecordings({
    sql,
    bucket: null as unknown as R2Bucket,
    sweeps: null as never,
    streamId: () => STREAM,
  });
const earlier = (beforeMsn: number) =>
  recordings.earlierSegments(EVENT, SOURCE_RENDITION, beforeMsn, DVR_WINDOW);
// Each render of a fresh PlaylistTexts: the memo would answer all but the first.
const renders = {
  live: timed(() => new PlaylistTexts().media(state, SOURCE_RENDITION, full)),
  liveSkip: timed(() => new PlaylistTexts().media(state, SOURCE_RENDITION, skip)),
  // The whole front read from the index (a woken object's first DVR request); later ones slide it.
  dvrFrontWalk: timed(() => {
    const rows = freshRecordings().earlierSegments(EVENT, SOURCE_RENDITION, firstLiveMsn(), DVR_WINDOW);
    return 'x'.repeat(rows.length);
  }),
  dvr: timed(() => new PlaylistTexts().dvr(state, SOURCE_RENDITION, full, earlier)),
  dvrSkip: timed(() => new PlaylistTexts().dvr(state, SOURCE_RENDITION, skip, earlier)),
};
const model = liveModel();
if (!model) throw new Error('no live playlist');
const dvrSegments = buildDvrPlaylist(model, earlier(firstLiveMsn()), DVR_WINDOW, null).segments.length;

// The event's recording made ready (the index row only: the state stays live for the DVR requests below).
recordings.end(EVENT, t0 + HOURS * 3_600_000, buildMultivariantPlaylist(state, {}));
// Rendered from the index (a fresh object: the first request for it), then from the object's memo.
const vod = timed(() => freshRecordings().playlist(EVENT, SOURCE_RENDITION));
const vodMemo = timed(() => recordings.playlist(EVENT, SOURCE_RENDITION));

const rows = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
const storage = {
  databaseBytes: sql.databaseSize,
  recordingSegmentRows: rows('rec_segments'),
  liveWindowSegmentRows: rows('published'),
};

/**
 * Parts every 250 ms for `seconds`, each waking a request blocked on it (the object's waiter list is the
 * same code); meanwhile `rps` DVR (full and delta, alternating) and VOD requests, through the object's memo
 * for DVR (PlaylistTexts per state) and straight to the index for VOD, as StreamDO answers them.
 */
async function wakeLatency(rps: number, seconds: number) {
  const { HeldRequests } = await import('../src/stream/waiters.ts');
  const held = new HeldRequests({ now: () => Date.now() });
  const liveTexts = new PlaylistTexts();
  const dvrTexts = new PlaylistTexts();
  const wakes: number[] = [];
  let served = 0;
  const stopAt = performance.now() + seconds * 1000;
  let load: ReturnType<typeof setInterval> | null = null;
  if (rps > 0) {
    let n = 0;
    load = setInterval(() => {
      for (let i = 0; i < rps / 100; i++) {
        const kind = n++ % 3;
        if (kind === 0) dvrTexts.dvr(state, SOURCE_RENDITION, full, earlier);
        else if (kind === 1) dvrTexts.dvr(state, SOURCE_RENDITION, skip, earlier);
        else recordings.playlist(EVENT, SOURCE_RENDITION);
        served++;
      }
    }, 10);
  }
  while (performance.now() < stopAt) {
    const nextMsn = Math.floor(part / PARTS_PER_SEGMENT);
    const nextPart = part % PARTS_PER_SEGMENT;
    const hasIt = () => {
      const m = buildMediaPlaylist(state, SOURCE_RENDITION, null);
      const open = m?.openSegment;
      return (
        (open?.msn === nextMsn && open.parts.length > nextPart) || (m?.segments.at(-1)?.msn ?? -1) >= nextMsn
      );
    };
    const waiting = held.hold(SOURCE_RENDITION, hasIt, 3000);
    const due = performance.now() + PART * 1000;
    await new Promise((r) => setTimeout(r, PART * 1000));
    // Arrival: the part's step, the waiters settled, the live playlist rendered for the woken request.
    addNextPart(Date.now());
    held.settle();
    if ((await waiting) !== 'ready') throw new Error('a waiter timed out');
    liveTexts.media(state, SOURCE_RENDITION, { msn: nextMsn, part: nextPart });
    wakes.push(performance.now() - due);
  }
  if (load) clearInterval(load);
  return { wakeMs: rounded(summary(wakes)), loadRequests: served };
}

const alone = await wakeLatency(0, WAKE_SECONDS);
const loaded = await wakeLatency(LOAD_RPS, WAKE_SECONDS);

writeResult('dvr-event.json', {
  when: new Date().toISOString(),
  node: process.version,
  event: { hours: HOURS, parts: totalParts, segments: totalParts / PARTS_PER_SEGMENT, partSeconds: PART },
  build: { seconds: round(buildSeconds, 1) },
  perPartMs: { firstTenMinutes: rounded(summary(firstTen)), lastTenMinutes: rounded(summary(lastTen)) },
  renderMs: { ...renders, vod, vodMemo },
  dvrWindow: { seconds: DVR_WINDOW, segments: dvrSegments },
  storage,
  wake: {
    partsEveryMs: PART * 1000,
    alone,
    withDvrAndVod: { requestsPerSecond: LOAD_RPS, ...loaded },
    p50Ratio: round(loaded.wakeMs.p50 / alone.wakeMs.p50, 2),
  },
});
