import { env, evictDurableObject, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sessionPrefix, streamPrefixes } from '../../../src/media/keys.ts';
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
  startSession,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

async function variantUris(streamId: string) {
  const res = await SELF.fetch(`${ORIGIN}/live/${streamId}/master.m3u8`);
  expect(res.status).toBe(200);
  return parsePlaylist(await bodyText(res)).playlists?.map((p) => p.uri);
}

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
      eventId: 'ev_b',
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
    await streamStub('life-end').advanceClock(TEST_CONFIG.reconnectWindow * 1000 + 50);
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
    await streamStub('life-re').advanceClock(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub('life-re'));
    expect((await streamStub('life-re').getStatus()).status).toBe('live');
  });

  it('starts a new event after ENDLIST: new media playlists, and the ended ones never change', async () => {
    const id = 'life-restart';
    const first = await startSession(id, 'se_a');
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 5));
    await endSession(id, 'se_a');
    await streamStub(id).advanceClock(TEST_CONFIG.reconnectWindow * 1000 + 50);
    await runDurableObjectAlarm(streamStub(id));
    const endedUrl = `${ORIGIN}/live/${id}/source/${first.eventId}.m3u8`;
    expect(await variantUris(id)).toEqual([`source/${first.eventId}.m3u8`]);
    const ended = await SELF.fetch(endedUrl);
    expect(ended.headers.get('cache-control')).toBe('public, max-age=86400');
    const endedText = await bodyText(ended);
    expect(parsePlaylist(endedText).endList).toBe(true);

    // A publish after ENDLIST starts a new event: a new live timeline from msn 0 under new URLs.
    const second = await startSession(id, 'se_b');
    expect(second.eventId).not.toBe(first.eventId);
    expect(second.firstMsn).toBe(0);
    await putInit(id, 'se_b');
    await putParts(id, 'se_b', fixtureParts.slice(0, 5));
    expect(await variantUris(id)).toEqual([`source/${second.eventId}.m3u8`]);
    const live = parsePlaylist(await playlistText(id));
    expect(live.endList).toBeUndefined();
    expect(live.mediaSequence).toBe(0);
    expect(live.discontinuitySequence).toBe(0);
    expect(live.segments.map((s) => s.uri)).toEqual(['se_b/0.m4s']);
    expect(await bodyText(await SELF.fetch(`${ORIGIN}/live/${id}/source/${second.eventId}.m3u8`))).toBe(
      await playlistText(id),
    );

    // Health and events name the events.
    expect((await streamStub(id).getHealth()).event?.id).toBe(second.eventId);
    const events = (await streamStub(id).recentNotices()).map((e) => [e.type, e.eventId]);
    expect(events).toEqual([
      ['stream.connected', first.eventId],
      ['stream.disconnected', first.eventId],
      ['stream.ended', first.eventId],
      ['stream.connected', second.eventId],
    ]);

    // The ended event's playlist is byte for byte what it was (RFC 8216bis 6.2.1), directives or not, and
    // after the object reloads from storage; its whole segments are still served.
    expect(await bodyText(await SELF.fetch(endedUrl))).toBe(endedText);
    expect(await bodyText(await SELF.fetch(`${endedUrl}?_HLS_msn=9&_HLS_part=0`))).toBe(endedText);
    await evictDurableObject(streamStub(id));
    expect(await bodyText(await SELF.fetch(endedUrl))).toBe(endedText);
    const segment = await SELF.fetch(`${ORIGIN}/live/${id}/source/se_a/0.m4s`);
    expect(segment.status).toBe(200);
    await segment.body?.cancel();
    expect(parsePlaylist(await playlistText(id)).segments.map((s) => s.uri)).toEqual(['se_b/0.m4s']);
  });

  it('destroy deletes state at once and media from the alarm', async () => {
    await startSession('life-gone', 'se_a');
    await putInit('life-gone', 'se_a');
    await putParts('life-gone', 'se_a', fixtureParts.slice(0, 3));
    const media = sessionPrefix('life-gone', 'se_a');
    expect((await env.MEDIA.list({ prefix: media })).objects).toHaveLength(4);
    await streamStub('life-gone').destroy('life-gone');
    // Every retention class's prefix of the stream is queued (src/media/keys.ts).
    expect((await streamStub('life-gone').pendingSweeps()).map((j) => j.prefix).sort()).toEqual(
      streamPrefixes('life-gone').sort(),
    );
    // The alarm, set for now, fires on its own (or here, whichever comes first).
    await runDurableObjectAlarm(streamStub('life-gone'));
    await expect.poll(async () => (await env.MEDIA.list({ prefix: media })).objects.length).toBe(0);
    await expect.poll(() => streamStub('life-gone').pendingSweeps()).toEqual([]);
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
