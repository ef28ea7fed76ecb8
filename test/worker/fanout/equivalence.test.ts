// Golden equivalence (issue 13): for the same state, a replica's playlists are the stream object's byte for
// byte, in every rendition, full and delta (_HLS_skip=YES, v2), blocking and not, through a reconnect whose
// discontinuity has left the window (the view folds it into the discontinuity sequence), while a reconnect is
// awaited, after ENDLIST, and for an archived event; and the DVR playlists, whose front a replica keeps itself.
// The stream object's own answer is the golden.
import { runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Directives } from '../../../src/hls/directives.ts';
import { callFrom, replicaStub } from '../support/fanout.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  putInit,
  putPart,
  startSession,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

const RENDITIONS = ['source', '720p'];
/** A DVR window of 30 s: the front (5 segments) holds the reconnect's discontinuity. */
const CONFIG = { ...TEST_CONFIG, reconnectWindow: 10, dvrWindow: 30 };

/**
 * Uploads `segments` fixture segments (5 parts each) from `firstMsn` in every rendition; 720p's copies of the
 * segments `gapsAt` names are gap parts (a failed rung: GAP=YES, EXT-X-GAP).
 */
async function publish(streamId: string, sessionId: string, firstMsn: number, segments: number, gapsAt = -1) {
  for (let s = 0; s < segments; s++) {
    const fixture = fixtureParts.filter((p) => p.msn === s % 4);
    for (const p of fixture) {
      for (const rendition of RENDITIONS) {
        const gap = rendition === '720p' && s === gapsAt;
        const res = await putPart(streamId, sessionId, p, { msn: firstMsn + s, rendition, gap });
        expect(res.status).toBe(201);
      }
    }
  }
}

/** Every directive variant a player sends, for a playlist whose newest part is `last`. */
function variants(last: { msn: number; part: number }): Directives[] {
  return [
    {},
    { skip: 'YES' },
    { skip: 'v2' },
    { msn: last.msn, part: last.part },
    { msn: last.msn, part: last.part, skip: 'YES' },
    { msn: last.msn - 1 },
    { msn: last.msn - 2, part: 9 },
  ];
}

function query(d: Directives): string {
  const q = new URLSearchParams();
  if (d.msn !== undefined) q.set('_HLS_msn', String(d.msn));
  if (d.part !== undefined) q.set('_HLS_part', String(d.part));
  if (d.skip !== undefined) q.set('_HLS_skip', d.skip);
  return q.size > 0 ? `?${q}` : '';
}

async function expectSameAnswers(
  streamId: string,
  eventId: string | null,
  last: { msn: number; part: number },
) {
  const replica = replicaStub({ streamId, region: 'eq', shard: 0 });
  const call = callFrom(streamId, 'eq');
  for (const rendition of RENDITIONS) {
    for (const d of variants(last)) {
      const golden = await streamStub(streamId).playlist(rendition, d, {}, eventId);
      const { answer } = await replica.playlist(call, rendition, d, eventId);
      expect(answer, `${rendition} ${JSON.stringify(d)}`).toEqual(golden);
      if (eventId !== null) {
        // The DVR playlist, its front from the replica's own copy (slid through the stream object).
        const dvr = await streamStub(streamId).dvrPlaylist(rendition, d, eventId);
        const fromReplica = await replica.dvrPlaylist(call, rendition, d, eventId);
        expect(fromReplica.answer, `dvr ${rendition} ${JSON.stringify(d)}`).toEqual(dvr);
      }
      expect(golden.kind).toBe('playlist');
      if (golden.kind !== 'playlist') continue;
      parsePlaylist(golden.text);
      // The isolate's own rendering from its copy of the view (src/edge/edge-view.ts), through the Worker.
      // The current-event alias: an event's blocking URLs may answer from the edge cache an earlier state.
      if (eventId !== null) continue;
      const res = await SELF.fetch(`${ORIGIN}/live/${streamId}/${rendition}/index.m3u8${query(d)}`, {
        headers: { 'x-edge-live-region': 'eq-edge' },
      });
      expect(await bodyText(res), `edge ${rendition} ${JSON.stringify(d)}`).toBe(golden.text);
    }
  }
  const golden = await streamStub(streamId).multivariant();
  expect((await replica.multivariant(call)).answer).toEqual(golden);
  expect((await replica.dvrMultivariant(call)).answer).toEqual(await streamStub(streamId).dvrMultivariant());
}

describe('replica playlists equal the stream object playlists', () => {
  it('live, across a reconnect whose discontinuity left the window, in every rendition and variant', async () => {
    const id = 'eq-live';
    await startSession(id, 'se_a', CONFIG);
    for (const r of RENDITIONS) expect((await putInit(id, 'se_a', r)).status).toBe(201);
    await publish(id, 'se_a', 0, 3);
    // The replica registers on its first call; every later change reaches it with the upload (feed.ts).
    await replicaStub({ streamId: id, region: 'eq', shard: 0 }).playlist(
      callFrom(id, 'eq'),
      'source',
      {},
      null,
    );
    await endSession(id, 'se_a');
    const b = await startSession(id, 'se_b', CONFIG);
    for (const r of RENDITIONS) await putInit(id, 'se_b', r);
    await publish(id, 'se_b', b.firstMsn, 14, 12); // 720p's second-last complete segment is a gap
    // An open segment with two parts, so the preload hint and trailing parts are in play.
    for (const p of fixtureParts.slice(0, 2)) {
      for (const r of RENDITIONS) await putPart(id, 'se_b', p, { msn: b.firstMsn + 14, rendition: r });
    }
    const text = await streamStub(id).playlist('source', {}, {}, null);
    expect(text.kind === 'playlist' && text.text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    const rung = await streamStub(id).playlist('720p', {}, {}, null);
    expect(rung.kind === 'playlist' && rung.text).toContain('#EXT-X-GAP');
    const open = 3 + 14; // published msn of the open segment
    await expectSameAnswers(id, null, { msn: open, part: 1 });
    await expectSameAnswers(id, b.eventId, { msn: open, part: 1 });
    const dvr = await streamStub(id).dvrPlaylist('source', {}, b.eventId);
    expect(dvr.kind === 'playlist' && dvr.text).toContain('#EXT-X-MEDIA-SEQUENCE:0\n');
    expect(dvr.kind === 'playlist' && dvr.text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:0\n');

    // While the session is gone and a reconnect is awaited: a part-less open segment, no preload hint.
    await endSession(id, 'se_b');
    await expectSameAnswers(id, null, { msn: open, part: 1 });
  }, 30_000);

  it('after ENDLIST, and for an archived event once a new one began', async () => {
    const id = 'eq-ended';
    const first = await startSession(id, 'se_a', TEST_CONFIG);
    for (const r of RENDITIONS) await putInit(id, 'se_a', r);
    await publish(id, 'se_a', 0, 2);
    await replicaStub({ streamId: id, region: 'eq', shard: 0 }).playlist(
      callFrom(id, 'eq'),
      'source',
      {},
      null,
    );
    await endSession(id, 'se_a');
    await streamStub(id).advanceClock(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub(id));
    expect((await streamStub(id).getStatus()).status).toBe('ended');
    await expectSameAnswers(id, first.eventId, { msn: 1, part: 4 });

    const second = await startSession(id, 'se_b', CONFIG);
    for (const r of RENDITIONS) await putInit(id, 'se_b', r);
    await publish(id, 'se_b', second.firstMsn, 2);
    await expectSameAnswers(id, first.eventId, { msn: 1, part: 4 });
    await expectSameAnswers(id, second.eventId, { msn: 1, part: 4 });
  });
});
