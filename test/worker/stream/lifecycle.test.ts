import { env, evictDurableObject, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  bodyText,
  endSession,
  fixtureParts,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  putParts,
  sleep,
  startSession,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

async function playlistText(streamId: string) {
  const res = await SELF.fetch(playlistUrl(streamId));
  expect(res.status).toBe(200);
  return bodyText(res);
}

describe('StreamDO lifecycle', () => {
  it('serves the same playlist after the object is evicted and reloaded from storage', async () => {
    await startSession('life-evict', 'se_a');
    await putInit('life-evict', 'se_a');
    await putParts('life-evict', 'se_a', fixtureParts.slice(0, 8));
    const pendingAhead = await putPart('life-evict', 'se_a', fixtureParts[9]!);
    expect(await pendingAhead.json()).toEqual({ status: 'pending' });
    const before = await playlistText('life-evict');
    const stub = streamStub('life-evict');
    await evictDurableObject(stub);
    expect(await playlistText('life-evict')).toBe(before);
    // The held part survived too: filling the gap commits both.
    const gap = await putPart('life-evict', 'se_a', fixtureParts[8]!);
    expect(await gap.json()).toEqual({ status: 'committed' });
    const m = parsePlaylist(await playlistText('life-evict'));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_a/0.m4s', 'se_a/1.m4s']);
    expect((await stub.getStatus()).status).toBe('live');
  });

  it('refuses a second live session of the same role and ends the stream when the reconnect window passes', async () => {
    await startSession('life-end', 'se_a');
    const second = await streamStub('life-end').startSession({
      streamId: 'life-end',
      sessionId: 'se_b',
      config: TEST_CONFIG,
      protocol: 'srt',
      remoteAddress: '127.0.0.1:1',
      relayId: 'r',
      role: 'primary',
    });
    expect(second).toMatchObject({ ok: false, code: 'already-live' });
    await putInit('life-end', 'se_a');
    await putParts('life-end', 'se_a', fixtureParts.slice(0, 7));
    expect((await endSession('life-end', 'se_a')).status).toBe(200);
    // Inside the window: no ENDLIST yet, but no preload hint either (nobody is publishing).
    let m = parsePlaylist(await playlistText('life-end'));
    expect(m.endList).toBeUndefined();
    expect(m.preloadSegment?.preloadHints).toBeUndefined();
    // The open segment 1 (two parts) was closed as it stood.
    expect(m.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['se_a/0.m4s', 1],
      ['se_a/1.m4s', 0.4],
    ]);
    await sleep(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub('life-end'));
    m = parsePlaylist(await playlistText('life-end'));
    expect(m.endList).toBe(true);
    expect((await streamStub('life-end').getStatus()).status).toBe('ended');
    // A blocking request on an ended playlist is answered at once (6.2.5.2).
    const blocking = await SELF.fetch(playlistUrl('life-end', 'source', '?_HLS_msn=2'));
    expect(blocking.status).toBe(200);
    await blocking.body?.cancel();
  });

  it('continues the playlist across a reconnect with a discontinuity and a new map', async () => {
    await startSession('life-re', 'se_a');
    await putInit('life-re', 'se_a');
    await putParts('life-re', 'se_a', fixtureParts.slice(0, 10));
    await endSession('life-re', 'se_a');
    const again = await startSession('life-re', 'se_b');
    expect(again.firstMsn).toBe(2);
    await putInit('life-re', 'se_b');
    await putParts('life-re', 'se_b', fixtureParts.slice(0, 7), 2);
    const m = parsePlaylist(await playlistText('life-re'));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_a/0.m4s', 'se_a/1.m4s', 'se_b/2.m4s']);
    expect(m.segments[2]?.discontinuity).toBe(true);
    expect(m.segments[2]?.map?.uri).toBe('se_b/init.mp4');
    expect(m.discontinuitySequence).toBe(0);
    expect(m.preloadSegment?.preloadHints?.[0]?.uri).toBe('se_b/3.2.m4s');
    // The old session's alarm no longer ends the stream.
    await sleep(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub('life-re'));
    expect((await streamStub('life-re').getStatus()).status).toBe('live');
  });

  it('starts again after the stream ended, continuing the media sequence', async () => {
    await startSession('life-restart', 'se_a');
    await putInit('life-restart', 'se_a');
    await putParts('life-restart', 'se_a', fixtureParts.slice(0, 5));
    await endSession('life-restart', 'se_a');
    await sleep(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub('life-restart'));
    expect((await startSession('life-restart', 'se_b')).firstMsn).toBe(1);
    await putInit('life-restart', 'se_b');
    await putParts('life-restart', 'se_b', fixtureParts.slice(0, 5), 1);
    const m = parsePlaylist(await playlistText('life-restart'));
    expect(m.endList).toBeUndefined();
    expect(m.segments.map((s) => s.uri)).toEqual(['se_a/0.m4s', 'se_b/1.m4s']);
  });

  it('destroy deletes state and media', async () => {
    await startSession('life-gone', 'se_a');
    await putInit('life-gone', 'se_a');
    await putParts('life-gone', 'se_a', fixtureParts.slice(0, 3));
    expect((await env.MEDIA.list({ prefix: 'media/life-gone/' })).objects).toHaveLength(4);
    await streamStub('life-gone').destroy();
    expect((await env.MEDIA.list({ prefix: 'media/life-gone/' })).objects).toHaveLength(0);
    expect(await streamStub('life-gone').getStatus()).toEqual({
      status: 'idle',
      sessionId: null,
      lastPublishAt: null,
    });
    const res = await SELF.fetch(playlistUrl('life-gone'));
    expect(res.status).toBe(404);
    await res.body?.cancel();
    await evictDurableObject(streamStub('life-gone'));
    expect((await streamStub('life-gone').getStatus()).status).toBe('idle');
  });
});
