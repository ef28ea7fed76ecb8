/**
 * (parsePlaylist fails on any m3u8-parser warning.)
 * Failover through the real internal API in workerd: two sessions of one stream, the primary goes silent,
 * the DO alarm switches the playlist to the backup at its keyframe (EXT-X-DISCONTINUITY + its EXT-X-MAP),
 * published msn stay monotonic, the object survives eviction mid-stream and upload retries stay harmless.
 */
import { evictDurableObject, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { IngestRole } from '../../../src/contract/ingest.ts';
import {
  bodyText,
  fixtureParts,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  putParts,
  sleep,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

const CONFIG = { ...TEST_CONFIG, reconnectWindow: 5, failoverTimeout: 1, failbackHoldOff: 0 };

async function start(streamId: string, sessionId: string, role: IngestRole) {
  const result = await streamStub(streamId).startSession({
    streamId,
    sessionId,
    config: CONFIG,
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:1',
    relayId: 'relay-test',
    role,
  });
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
    await sleep(500);
    await putParts(id, 'se_b', fixtureParts.slice(0, 12));
    m = parsePlaylist(await playlistText(id));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_p/0.m4s', 'se_p/1.m4s']); // standby: not published
    // Primary silent for > failoverTimeout (1 s), backup still healthy: only the alarm can notice (workerd
    // may already have run it on time; running it again is harmless).
    await sleep(600);
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
    const events = await streamStub(id).recentEvents();
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

  it('takes over a silent same-role session (relay restarted without an end call)', async () => {
    const id = 'fo-takeover';
    await start(id, 'se_a', 'primary');
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 7));
    const refused = await streamStub(id).startSession({
      streamId: id,
      sessionId: 'se_a2',
      config: CONFIG,
      protocol: 'rtmp',
      remoteAddress: '127.0.0.1:2',
      relayId: 'relay-2',
      role: 'primary',
    });
    expect(refused).toMatchObject({ ok: false, code: 'already-live' });
    await sleep(1100);
    const taken = await streamStub(id).startSession({
      streamId: id,
      sessionId: 'se_a2',
      config: CONFIG,
      protocol: 'rtmp',
      remoteAddress: '127.0.0.1:2',
      relayId: 'relay-2',
      role: 'primary',
    });
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
