/**
 * (parsePlaylist fails on any m3u8-parser warning.)
 * Failover through the real internal API in workerd: two sessions of one stream, the primary goes silent,
 * the DO alarm switches the playlist to the backup at its keyframe (EXT-X-DISCONTINUITY + its EXT-X-MAP),
 * published msn stay monotonic, the object survives eviction mid-stream and upload retries stay harmless.
 */
import { evictDurableObject, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { IngestRole, StreamConfigInput } from '../../../src/contract/ingest.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  putParts,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

const CONFIG = { ...TEST_CONFIG, reconnectWindow: 5, failoverTimeout: 1, failbackHoldOff: 0 };

/** What a relay sends to start session `sessionId` of `streamId` as `role`. */
function sessionInput(
  streamId: string,
  sessionId: string,
  role: IngestRole,
  config: StreamConfigInput = CONFIG,
  relay = { remoteAddress: '127.0.0.1:1', relayId: 'relay-test' },
) {
  return {
    streamId,
    sessionId,
    eventId: `ev_${sessionId}`,
    config,
    protocol: 'rtmp' as const,
    ...relay,
    role,
  };
}

async function start(streamId: string, sessionId: string, role: IngestRole) {
  const result = await streamStub(streamId).startSession(sessionInput(streamId, sessionId, role));
  if (!result.ok) throw new Error(result.detail);
  expect(result.firstMsn).toBe(0);
}

async function playlistText(streamId: string) {
  const res = await SELF.fetch(playlistUrl(streamId));
  expect(res.status).toBe(200);
  return bodyText(res);
}

describe('StreamDO failover', () => {
  it('switches to the backup from the alarm when the primary goes silent, and survives eviction', async () => {
    const id = 'fo-alarm';
    await start(id, 'se_p', 'primary');
    await start(id, 'se_b', 'backup');
    await putInit(id, 'se_p');
    await putInit(id, 'se_b');
    await putParts(id, 'se_p', fixtureParts.slice(0, 10)); // primary: segments 0 and 1, then silence
    let m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_p/0.m4s', 'se_p/1.m4s']);

    // The backup cut the same picture (same PDT); it delivers up to its segment 2's keyframe a bit later.
    await streamStub(id).advanceClock(500);
    await putParts(id, 'se_b', fixtureParts.slice(0, 12));
    m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_p/0.m4s', 'se_p/1.m4s']); // standby: not published
    // Primary silent for > failoverTimeout (1 s), backup still healthy: only the alarm can notice (workerd
    // may already have run it on time; running it again is harmless).
    await streamStub(id).advanceClock(600);
    await runDurableObjectAlarm(streamStub(id));

    const text = await playlistText(id);
    m = parsePlaylist(text);
    expect(m.mediaSequence).toBe(0);
    expect(m.segments.map((s) => s.uri)).toEqual(['se_p/0.m4s', 'se_p/1.m4s']);
    // Published msn 2 is the backup's own segment 2, from its keyframe (the parts 2.0 and 2.1 it sent).
    expect(text).toContain('#EXT-X-DISCONTINUITY\n');
    expect(text).toContain('#EXT-X-MAP:URI="se_b/init.mp4"');
    expect(text).toContain('#EXT-X-PART:DURATION=0.2,URI="se_b/2.0.m4s",INDEPENDENT=YES');
    expect(text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="se_b/2.2.m4s"');

    const health = await streamStub(id).getHealth();
    expect(health.inputs.map((i) => [i.sessionId, i.state])).toEqual([
      ['se_p', 'stale'],
      ['se_b', 'active'],
    ]);
    expect(health.switches).toMatchObject([
      { from: { role: 'primary' }, to: { role: 'backup' }, reason: 'input-stale' },
    ]);
    const events = await streamStub(id).recentNotices();
    expect(events.map((e) => e.type)).toEqual(['stream.connected', 'stream.connected', 'stream.failover']);

    // Evicted mid-stream: the same playlist comes back from storage, the backup carries on from there.
    await evictDurableObject(streamStub(id));
    expect(await playlistText(id)).toBe(text);
    await putParts(id, 'se_b', fixtureParts.slice(12, 20));
    // A relay retry of a part already recorded (its first answer lost to a 5xx or a timeout) is a no-op.
    const retry = await putPart(id, 'se_b', fixtureParts[19]!);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ status: 'duplicate' });
    m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => [s.uri, s.discontinuity ?? false])).toEqual([
      ['se_p/0.m4s', false],
      ['se_p/1.m4s', false],
      ['se_b/2.m4s', true],
      ['se_b/3.m4s', false],
    ]);
    const dates = m.segments.map((s) => Date.parse(String(s.dateTimeString)));
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
    // A late part of the stale primary is stored on its own timeline and never rewrites what was published.
    const late = await putPart(id, 'se_p', fixtureParts[10]!);
    expect(late.status).toBe(201);
    await late.body?.cancel();
    expect(parsePlaylist(await playlistText(id)).segments.at(-1)?.uri).toBe('se_b/3.m4s');
  });

  it('joins the backup at a keyframe inside its segment and serves that partial segment under its own URI', async () => {
    const id = 'fo-midjoin';
    await start(id, 'se_p', 'primary');
    await start(id, 'se_b', 'backup');
    await putInit(id, 'se_p');
    await putInit(id, 'se_b');
    await putParts(id, 'se_p', fixtureParts.slice(0, 10)); // primary: segments 0 and 1, pdt up to 2.0 s
    // The backup's encoder cuts 0.4 s later and has a second keyframe at part 2 of every segment (1 s GOPs in
    // 1 s segments would not show it; the flag is what the relay reports, the bytes are the fixture's).
    const T = Date.UTC(2026, 0, 1, 0, 0, 0);
    for (const p of fixtureParts.slice(0, 13)) {
      const res = await putPart(
        id,
        'se_b',
        { ...p, independent: p.independent || p.part === 2 },
        {
          pdt: T + (p.msn * 5 + p.part) * 200 + 400,
        },
      );
      expect(res.status).toBe(201);
      await res.body?.cancel();
    }
    const ended = await endSession(id, 'se_p');
    expect(ended.status).toBe(200);
    await ended.body?.cancel();
    // Published end 2.0 s, allowance 0.5 s: the backup's keyframe 1.2 (pdt 1.8 s) is joined, not 2.0 (2.4 s).
    const text = await playlistText(id);
    const m = parsePlaylist(text);
    expect(m.segments.map((s) => [s.uri, s.duration, s.discontinuity ?? false])).toEqual([
      ['se_p/0.m4s', 1, false],
      ['se_p/1.m4s', 1, false],
      ['se_b/1.2-.m4s', 0.6, true],
    ]);
    expect(text).toContain(
      '#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="se_b/init.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z\n' +
        '#EXT-X-PART:DURATION=0.2,URI="se_b/1.2.m4s",INDEPENDENT=YES\n',
    );
    expect(m.preloadSegment?.parts?.[0]).toMatchObject({ uri: 'se_b/2.0.m4s', independent: true });

    // The partial segment is parts 1.2..1.4 byte for byte, immutable like every media URL.
    const res = await SELF.fetch(`${ORIGIN}/live/${id}/source/se_b/1.2-.m4s`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    const want = fixtureParts.slice(7, 10).map((p) => p.bytes);
    const expected = new Uint8Array(want.reduce((n, b) => n + b.byteLength, 0));
    let at = 0;
    for (const b of want) {
      expected.set(b, at);
      at += b.byteLength;
    }
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(expected);
    // Local segment 1 of the backup was never published whole, and no other range was ever advertised.
    for (const name of ['1.m4s', '1.1-.m4s', '1.0-.m4s']) {
      const other = await SELF.fetch(`${ORIGIN}/live/${id}/source/se_b/${name}`);
      expect(other.status, name).toBe(404);
      await other.body?.cancel();
    }
    // Survives eviction (first_part is stored).
    await evictDurableObject(streamStub(id));
    expect(await playlistText(id)).toBe(text);
  });

  it('fails back to a returning primary at its keyframe, only after the hold-off', async () => {
    const id = 'fo-failback';
    // Both inputs stay healthy through the hold-off (3 s failover timeout): the switch back is a failback.
    const config = { ...CONFIG, failoverTimeout: 3, failbackHoldOff: 1 };
    const begin = async (sessionId: string, role: IngestRole) => {
      const r = await streamStub(id).startSession(sessionInput(id, sessionId, role, config));
      if (!r.ok) throw new Error(r.detail);
      await putInit(id, sessionId);
      return r.firstMsn;
    };
    /** Fixture part `k` from session `sessionId`, numbered from its `firstMsn`, with the picture's PDT. */
    const send = async (sessionId: string, firstMsn: number, k: number, from = 0) => {
      const p = fixtureParts[k]!;
      const res = await putPart(id, sessionId, p, {
        msn: firstMsn + p.msn - from,
        pdt: Date.UTC(2026, 0, 1, 0, 0, 0) + (p.msn * 5 + p.part) * 200,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      await res.body?.cancel();
    };
    await begin('se_p', 'primary');
    await begin('se_b', 'backup');
    for (let k = 0; k < 5; k++) {
      await send('se_p', 0, k);
      await send('se_b', 0, k);
    }
    // The primary's encoder drops: the backup carries on from its segment 1.
    const ended = await endSession(id, 'se_p');
    await ended.body?.cancel();
    for (let k = 5; k < 10; k++) await send('se_b', 0, k);

    // It comes back (a new session) and delivers the same picture as the backup: standby until the hold-off.
    const first = await begin('se_p2', 'primary');
    expect(first).toBe(2);
    for (let k = 10; k < 15; k++) {
      await send('se_p2', first, k, 2);
      await send('se_b', 0, k);
    }
    let health = await streamStub(id).getHealth();
    expect(health.inputs.filter((i) => i.state !== 'ended').map((i) => [i.sessionId, i.state])).toEqual([
      ['se_b', 'active'],
      ['se_p2', 'standby'],
    ]);
    let m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_p/0.m4s', 'se_b/1.m4s', 'se_b/2.m4s']);

    // Healthy for longer than failbackHoldOff: its next keyframe part is where the playlist switches back.
    await streamStub(id).advanceClock(1100);
    await send('se_p2', first, 15, 2);
    for (let k = 15; k < 20; k++) await send('se_b', 0, k);
    for (let k = 16; k < 20; k++) await send('se_p2', first, k, 2);

    health = await streamStub(id).getHealth();
    expect(health.switches.map((w) => [w.from.sessionId, w.to.sessionId, w.reason])).toEqual([
      ['se_p', 'se_b', 'input-ended'],
      ['se_b', 'se_p2', 'failback'],
    ]);
    expect(health.inputs.filter((i) => i.state !== 'ended').map((i) => [i.sessionId, i.state])).toEqual([
      ['se_b', 'standby'],
      ['se_p2', 'active'],
    ]);
    const text = await playlistText(id);
    m = parsePlaylist(text);
    expect(m.segments.map((s) => [s.uri, s.discontinuity ?? false])).toEqual([
      ['se_p/0.m4s', false],
      ['se_b/1.m4s', true],
      ['se_b/2.m4s', false],
      ['se_p2/3.m4s', true],
    ]);
    expect(text).toContain('#EXT-X-MAP:URI="se_p2/init.mp4"');
    const dates = m.segments.map((s) => Date.parse(String(s.dateTimeString)));
    expect(dates).toEqual([0, 1, 2, 3].map((i) => Date.UTC(2026, 0, 1, 0, 0, i)));
    const events = (await streamStub(id).recentNotices()).map((e) => e.type);
    expect(events.filter((t) => t === 'stream.failover')).toHaveLength(2);
  });

  it('takes over a silent same-role session (relay restarted without an end call)', async () => {
    const id = 'fo-takeover';
    await start(id, 'se_a', 'primary');
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 7));
    const relay2 = { remoteAddress: '127.0.0.1:2', relayId: 'relay-2' };
    const refused = await streamStub(id).startSession(sessionInput(id, 'se_a2', 'primary', CONFIG, relay2));
    expect(refused).toMatchObject({ ok: false, code: 'already-live' });
    await streamStub(id).advanceClock(1100);
    const taken = await streamStub(id).startSession(sessionInput(id, 'se_a2', 'primary', CONFIG, relay2));
    expect(taken).toMatchObject({ ok: true, firstMsn: 2, takenOver: 'se_a' });
    const gone = await putPart(id, 'se_a', fixtureParts[7]!);
    expect(gone.status).toBe(410);
    await gone.body?.cancel();
    await putInit(id, 'se_a2');
    await putParts(id, 'se_a2', fixtureParts.slice(0, 6), 2);
    const m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => [s.uri, s.discontinuity ?? false])).toEqual([
      ['se_a/0.m4s', false],
      ['se_a/1.m4s', false],
      ['se_a2/2.m4s', true],
    ]);
  });
});
