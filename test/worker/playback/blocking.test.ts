import { env, SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { onlyReplica } from '../support/fanout.ts';
import {
  bodyText,
  fixtureParts,
  ORIGIN,
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

/** A fetch plus a flag saying whether it has answered yet. */
function tracked(url: string, init?: RequestInit) {
  const state = { settled: false };
  const response = SELF.fetch(url, init).then((res) => {
    state.settled = true;
    return res;
  });
  return { state, response };
}

async function liveStream(streamId: string, parts: number) {
  // A reconnect window longer than any wait here: a silent session is otherwise ended after failoverTimeout
  // plus the window (a relay that vanished), which would answer a blocked request with ENDLIST instead.
  await startSession(streamId, 'se_a', { ...TEST_CONFIG, reconnectWindow: 10 });
  await putInit(streamId, 'se_a');
  await putParts(streamId, 'se_a', fixtureParts.slice(0, parts));
}

describe('blocking playlist reload (RFC 8216bis 6.2.5.2)', () => {
  it('holds a request for the next part until that part is uploaded', async () => {
    await liveStream('blk-next', 7); // 0.0-0.4 and 1.0, 1.1
    const blocked = tracked(playlistUrl('blk-next', 'source', '?_HLS_msn=1&_HLS_part=2'));
    await sleep(150);
    expect(blocked.state.settled).toBe(false);
    const upload = await putPart('blk-next', 'se_a', fixtureParts[7] ?? fixtureParts[0]!);
    expect(upload.status).toBe(201);
    const res = await blocked.response;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=6');
    const m = parsePlaylist(await bodyText(res));
    expect(m.preloadSegment?.parts?.map((p) => p.uri)).toEqual([
      'se_a/1.0.m4s',
      'se_a/1.1.m4s',
      'se_a/1.2.m4s',
    ]);
    expect(m.preloadSegment?.preloadHints?.[0]).toEqual({ type: 'PART', uri: 'se_a/1.3.m4s' });
  });

  it('answers at once for a part already there, and a whole-segment request waits for the segment', async () => {
    await liveStream('blk-seg', 7);
    const now = await SELF.fetch(playlistUrl('blk-seg', 'source', '?_HLS_msn=1&_HLS_part=1'));
    expect(now.status).toBe(200);
    await now.body?.cancel();
    const segment = tracked(playlistUrl('blk-seg', 'source', '?_HLS_msn=1'));
    for (const p of fixtureParts.slice(7, 9)) await putPart('blk-seg', 'se_a', p);
    await sleep(100);
    expect(segment.state.settled).toBe(false);
    await putPart('blk-seg', 'se_a', fixtureParts[9]!); // 1.4, segment end
    const res = await segment.response;
    const m = parsePlaylist(await bodyText(res));
    expect(m.segments.at(-1)?.uri).toBe('se_a/1.m4s');
  });

  it('answers 400 for bad directives and for an msn more than two segments ahead', async () => {
    await liveStream('blk-400', 3);
    for (const query of [
      '?_HLS_part=1',
      '?_HLS_msn=3',
      '?_HLS_msn=-1',
      '?_HLS_msn=1&_HLS_part=x',
      '?_HLS_skip=maybe',
    ]) {
      const res = await SELF.fetch(playlistUrl('blk-400', 'source', query));
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('cache-control'), query).toBe('no-store');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      await res.body?.cancel();
    }
    const ok = tracked(playlistUrl('blk-400', 'source', '?_HLS_msn=2'));
    await sleep(50);
    expect(ok.state.settled).toBe(false); // two ahead is allowed: it waits
    await putParts('blk-400', 'se_a', fixtureParts.slice(3, 15)); // through 2.4, the end of segment 2
    expect((await ok.response).status).toBe(200);
  });

  it('answers 503 when the part does not arrive within three target durations', async () => {
    await liveStream('blk-503', 2);
    const blocked = tracked(playlistUrl('blk-503', 'source', '?_HLS_msn=0&_HLS_part=2'));
    // The request waits at the region's replica (src/fanout/), not at the stream object.
    const stub = await onlyReplica('blk-503');
    await vi.waitFor(async () => expect((await stub.stats()).waiters).toBe(1), { interval: 10 });
    // The replica's clock is stepped, not slept: held through 2.9 s, answered at 3 s (target duration 1 s).
    await stub.advanceClock(2_900);
    await sleep(20);
    expect(blocked.state.settled).toBe(false);
    await stub.advanceClock(100);
    const res = await blocked.response;
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store'); // a refusal is never cached
    await res.body?.cancel();
  });

  it('answers 404 for an unknown stream or rendition', async () => {
    await liveStream('blk-404', 1);
    for (const url of [
      playlistUrl('nope'),
      playlistUrl('blk-404', 'other'),
      `${ORIGIN}/live/nope/master.m3u8`,
    ]) {
      const res = await SELF.fetch(url);
      expect(res.status, url).toBe(404);
      await res.body?.cancel();
    }
  });

  it('coalesces identical blocked requests in one isolate into one replica long poll, none to the stream object', async () => {
    await liveStream('blk-many', 2);
    const before = await streamStub('blk-many').stats();
    const url = playlistUrl('blk-many', 'source', '?_HLS_msn=0&_HLS_part=2');
    const viewers = Array.from({ length: 200 }, () => SELF.fetch(url));
    const replica = await onlyReplica('blk-many');
    await vi.waitFor(async () => expect((await replica.stats()).waiters).toBe(1), { interval: 10 });
    // The isolate fetched the replica's view once, then holds one long poll for the next (src/edge/edge-view.ts).
    expect((await replica.stats()).viewCalls).toBe(2);
    await putPart('blk-many', 'se_a', fixtureParts[2]!);
    const responses = await Promise.all(viewers);
    const texts = await Promise.all(responses.map((r) => bodyText(r)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain('se_a/0.2.m4s');
    expect(await replica.stats()).toMatchObject({ viewCalls: 2, playlistCalls: 0 });
    const after = await streamStub('blk-many').stats();
    expect(after.playlistCalls - before.playlistCalls).toBe(0);
    expect(after.waiters).toBe(0);
  });

  it('serves a delta update with EXT-X-SKIP once the playlist is longer than CAN-SKIP-UNTIL', async () => {
    await liveStream('blk-skip', 20);
    // Eight 1 s segments: CAN-SKIP-UNTIL is 6 s, so the oldest one can be skipped.
    await putParts('blk-skip', 'se_a', fixtureParts, 4);
    const full = parsePlaylist(await bodyText(await SELF.fetch(playlistUrl('blk-skip'))));
    expect(full.segments).toHaveLength(8);
    expect(full.serverControl).toMatchObject({
      canBlockReload: true,
      canSkipUntil: 6,
      holdBack: 3,
      partHoldBack: 0.6,
    });
    const delta = parsePlaylist(
      await bodyText(await SELF.fetch(playlistUrl('blk-skip', 'source', '?_HLS_skip=YES'))),
    );
    expect(delta.skip).toEqual({ skippedSegments: 1 });
    expect(delta.mediaSequence).toBe(0);
    expect(delta.segments[0]?.uri).toBe('se_a/1.m4s');
  });

  it('serves playlists gzip-encoded to clients that accept gzip', async () => {
    await liveStream('blk-gzip', 5);
    const plain = await bodyText(await SELF.fetch(playlistUrl('blk-gzip')));
    const res = await SELF.fetch(playlistUrl('blk-gzip'), { headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('vary')).toBe('accept-encoding');
    const raw = new Uint8Array(await res.arrayBuffer());
    const text =
      raw[0] === 0x1f && raw[1] === 0x8b
        ? await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
        : new TextDecoder().decode(raw);
    expect(text).toBe(plain);
    expect(env.MEDIA).toBeDefined();
  });
});
