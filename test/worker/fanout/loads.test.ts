// The fan-out's loads and its lagging replicas (issue 13): replica stubs are called directly, each viewer with
// an isolate identity of its own (a test process is one isolate: its coalescing would fold every viewer into
// one call), so what reaches the stream object is what reaches it from a crowd spread over real isolates.
import { SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { EDGE_REPORT_MS } from '../../../src/edge/viewers.ts';
import type { Directives } from '../../../src/hls/directives.ts';
import type { PlaylistAnswer } from '../../../src/stream/playlist-answers.ts';
import { replicaStub } from '../support/fanout.ts';
import {
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  putInit,
  putPart,
  putParts,
  startSession,
  streamStub,
} from '../support/media.ts';

/** Parts of 0.2 s under a 1 s part target: a view stays fresh for 2 s, longer than these tests take. */
const SLOW_STALE = { partTarget: 1, segmentTarget: 1, reconnectWindow: 10 };

function viewer(streamId: string, region: string, isolate: number, d: Directives) {
  const call = {
    ref: { streamId, region, shard: 0 },
    shards: 1,
    edge: {
      isolateId: `iso-${region}-${isolate}`,
      viewers: 1,
      requests: 1,
      cacheLookups: 1,
      cacheHits: 0,
      at: 0,
    },
  };
  return replicaStub(call.ref).playlist(call, 'source', d, null);
}

function lastPart(answer: PlaylistAnswer): { msn: number; parts: number } {
  if (answer.kind !== 'playlist') throw new Error(`expected a playlist, got ${answer.kind}`);
  const m = parsePlaylist(answer.text);
  const segments = m.segments.length + (m.preloadSegment?.parts?.length ? 1 : 0);
  return { msn: (m.mediaSequence ?? 0) + segments - 1, parts: m.preloadSegment?.parts?.length ?? 0 };
}

describe('fan-out loads', () => {
  it('sends one push per replica per part, all renditions in it, and gets no request per viewer', async () => {
    const id = 'fan-load';
    await startSession(id, 'se_a', SLOW_STALE);
    for (const r of ['source', '480p']) await putInit(id, 'se_a', r);
    for (const p of fixtureParts.slice(0, 2)) {
      for (const rendition of ['source', '480p']) await putPart(id, 'se_a', p, { rendition }); // 0.0, 0.1
    }
    const regions = ['weur', 'apac'];
    const crowd = 60;
    // Each replica registers on its first viewer.
    for (const r of regions) expect((await viewer(id, r, 0, {})).answer.kind).toBe('playlist');
    const before = await streamStub(id).stats();
    expect(before.syncCalls).toBe(2);

    for (let part = 2; part <= 4; part++) {
      const blocked = regions.flatMap((r) =>
        Array.from({ length: crowd }, (_, i) => viewer(id, r, i, { msn: 0, part })),
      );
      await vi.waitFor(
        async () => {
          for (const r of regions) {
            expect((await replicaStub({ streamId: id, region: r, shard: 0 }).stats()).waiters).toBe(crowd);
          }
        },
        { interval: 10 },
      );
      const pushesBefore = (await streamStub(id).stats()).replicas;
      // The part's two renditions: the first waits for the second, whose upload pushes both at once.
      expect((await putPart(id, 'se_a', fixtureParts[part]!)).status).toBe(201);
      expect((await putPart(id, 'se_a', fixtureParts[part]!, { rendition: '480p' })).status).toBe(201);
      const answers = await Promise.all(blocked);
      expect(answers.every((a) => a.answer.kind === 'playlist')).toBe(true);
      expect(new Set(answers.map((a) => (a.answer.kind === 'playlist' ? a.answer.text : ''))).size).toBe(1);
      const after = await streamStub(id).stats();
      for (const name of Object.keys(after.replicas)) {
        expect((after.replicas[name] ?? 0) - (pushesBefore[name] ?? 0), name).toBe(1);
      }
    }
    const end = await streamStub(id).stats();
    expect(Object.keys(end.replicas).sort()).toEqual([`${id}/apac/0`, `${id}/weur/0`]);
    // 360 blocked viewers over three parts: not one playlist call, no catch-up beyond the two registrations.
    expect(end.playlistCalls - before.playlistCalls).toBe(0);
    expect(end.syncCalls).toBe(2);
    expect(end.waiters).toBe(0);
    // The isolates' figures reached the stream object with the replicas' answers to its pushes.
    const { delivery } = await streamStub(id).getHealth();
    expect(delivery.replicas).toBe(2);
    expect(delivery.viewers).toBe(2 * crowd);
    expect(Object.keys(delivery.replicaRequestsPerSecond).sort()).toEqual(['apac', 'weur']);
    expect(delivery.streamObjectRequestsPerSecond).toBeGreaterThan(0);
  });
});

describe('a sharded region', () => {
  it('is fed through its shard 0: the stream object pushes once per region, not once per shard', async () => {
    const id = 'fan-shards';
    await startSession(id, 'se_a', SLOW_STALE);
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 2));
    const shard = (n: number) => ({ ref: { streamId: id, region: 'weur', shard: n }, shards: 3, edge: null });
    for (const n of [0, 1, 2]) {
      const call = shard(n);
      expect((await replicaStub(call.ref).playlist(call, 'source', {}, null)).answer.kind).toBe('playlist');
    }
    const blocked = [0, 1, 2].map((n) => {
      const call = shard(n);
      return replicaStub(call.ref).playlist(call, 'source', { msn: 0, part: 2 }, null);
    });
    await vi.waitFor(async () => {
      for (const n of [0, 1, 2]) expect((await replicaStub(shard(n).ref).stats()).waiters).toBe(1);
    });
    const before = await streamStub(id).stats();
    await putPart(id, 'se_a', fixtureParts[2]!);
    const answers = await Promise.all(blocked);
    expect(
      new Set(answers.map((a) => (a.answer.kind === 'playlist' ? a.answer.text : a.answer.kind))).size,
    ).toBe(1);
    const after = await streamStub(id).stats();
    expect(Object.keys(after.replicas)).toEqual([`${id}/weur/0`]);
    expect(after.pushes - before.pushes).toBe(1);
    expect(after.syncCalls).toBe(before.syncCalls);
    expect((await replicaStub(shard(0).ref).stats()).shardsFed).toBe(2);
    expect((await replicaStub(shard(2).ref).stats()).pushes).toBeGreaterThanOrEqual(1);
    expect((await streamStub(id).getHealth()).delivery.replicas).toBe(3);
  });
});

describe('a replica cut off from its feed', () => {
  it('catches up from the stream object and never goes back in time', async () => {
    const id = 'fan-cut';
    await startSession(id, 'se_a', { partTarget: 0.2, segmentTarget: 1, reconnectWindow: 10 });
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 3)); // 0.0-0.2
    const replica = replicaStub({ streamId: id, region: 'cut', shard: 0 });
    const seen: { msn: number; parts: number }[] = [];
    const look = async (d: Directives = {}) => {
      const { answer } = await viewer(id, 'cut', 1, d);
      seen.push(lastPart(answer));
      return answer;
    };
    await look();
    // An old view, taken now, to be delivered late below (as a delayed push would be).
    const stale = await streamStub(id).syncReplica({ streamId: id, region: 'probe', shard: 0 });

    await replica.severFeed(true);
    const blocked = look({ msn: 0, part: 4 });
    await vi.waitFor(async () => expect((await replica.stats()).waiters).toBe(1), { interval: 10 });
    await putParts(id, 'se_a', fixtureParts.slice(3, 8)); // through 1.2: pushes to the replica are lost
    // Two part targets without a push while a request waits: the watchdog catches up (the clock is stepped;
    // on a slow machine its real-time timer may have done so already).
    await replica.advanceClock(450);
    const woken = await blocked;
    expect(woken.kind === 'playlist' && woken.text).toContain('se_a/0.4.m4s');
    // Still cut off: a request finding its view two part targets old catches up before it is answered.
    await replica.advanceClock(450);
    await look();
    expect(seen.at(-1)).toEqual({ msn: 1, parts: 3 });

    // A late, older push changes nothing; what viewers see only moves forward.
    await replica.severFeed(false);
    await replica.receive(stale);
    await look();
    expect(seen.at(-1)).toEqual({ msn: 1, parts: 3 });
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      expect(b.msn > a.msn || (b.msn === a.msn && b.parts >= a.parts), JSON.stringify(seen)).toBe(true);
    }
  });

  it('asks the stream object before answering 400 for a request ahead only of its own view', async () => {
    const id = 'fan-ahead';
    await startSession(id, 'se_a', SLOW_STALE);
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 2));
    const replica = replicaStub({ streamId: id, region: 'ahead', shard: 0 });
    await viewer(id, 'ahead', 1, {});
    await replica.severFeed(true);
    await putParts(id, 'se_a', fixtureParts.slice(2, 20), 0); // segments 0-3 complete at the stream object
    // The replica still sees 0.1: msn 3 is more than two past its last segment, yet the stream has it.
    const { answer } = await viewer(id, 'ahead', 2, { msn: 3, part: 0 });
    expect(answer.kind).toBe('playlist');
    expect((await replica.stats()).catchUps).toBeGreaterThanOrEqual(2);
    // Truly too far ahead is still a 400 (RFC 8216bis 6.2.5.2), decided on the stream object's view.
    expect((await viewer(id, 'ahead', 3, { msn: 9 })).answer.kind).toBe('reject');
  });
});

describe('viewers counted through the Worker', () => {
  it('counts every client, also when most requests are answered in the isolate and none carries a report', async () => {
    const id = 'fan-count';
    // 2 s parts: an isolate's view stays fresh for 4 s, so the second round is answered in the isolates.
    const started = await startSession(id, 'se_a', { partTarget: 2, segmentTarget: 2, reconnectWindow: 10 });
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 2));
    const url = `${ORIGIN}/live/${id}/source/${started.eventId}.m3u8`;
    const isolates = ['weur-0', 'weur-1', 'apac-0', 'apac-1'];
    const clients = isolates.flatMap((iso) =>
      Array.from({ length: 5 }, (_, i) => ({
        'x-edge-live-region': iso.split('-')[0] as string,
        'x-edge-live-isolate': iso,
        'user-agent': `viewer-${iso}-${i}`,
      })),
    );
    const round = (query = '') =>
      Promise.all(
        clients.map(async (headers) => {
          const res = await SELF.fetch(`${url}${query}`, { headers });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }),
      );
    await round();
    // Past the report interval: the next requests are answered from the isolates' views, and the report is
    // due. It must ride the next call an isolate makes, not vanish with a request that made none.
    // (A blocking request for a part the view already lists is answered from it: no call.)
    await new Promise((r) => setTimeout(r, EDGE_REPORT_MS + 100));
    await round('?_HLS_msn=0&_HLS_part=1');
    const blocked = round('?_HLS_msn=0&_HLS_part=2');
    await vi.waitFor(
      async () => {
        for (const region of ['weur', 'apac']) {
          // One long poll per isolate, each carrying its isolate's report.
          expect((await replicaStub({ streamId: id, region, shard: 0 }).stats()).waiters).toBe(2);
        }
      },
      { interval: 20 },
    );
    expect((await putPart(id, 'se_a', fixtureParts[2]!)).status).toBe(201);
    await blocked;
    const { delivery } = await streamStub(id).getHealth();
    expect(delivery.viewers).toBe(clients.length);
  });
});
