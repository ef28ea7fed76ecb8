// DVR (issue 15, item 3) through the real Worker, stream object and R2: the DVR playlist is the live one with
// the event's earlier segments (from the recording index) in front of it, back to dvrWindow seconds, across a
// reconnect's discontinuity; it reloads as the live one does (blocking, delta updates that skip the whole
// front), and its oldest segments are served though the stream object no longer retains them.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createStream } from '../api/client.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  putInit,
  putPart,
  putParts,
  startSession,
  TEST_CONFIG,
} from '../support/media.ts';

const ID = 'dvr-a';
const EVENT = 'ev_se_a';
/** Not recorded: a DVR window indexes its event all the same. */
const CONFIG = { ...TEST_CONFIG, reconnectWindow: 5, dvrWindow: 45, recording: false };
/** The fixture's four 1 s segments (five 0.2 s parts each), `times` over from local msn `from`. */
async function putSegments(sessionId: string, from: number, times: number) {
  for (let i = 0; i < times; i++) await putParts(ID, sessionId, fixtureParts, from + 4 * i);
}

async function get(path: string) {
  const res = await SELF.fetch(`${ORIGIN}${path}`);
  return { status: res.status, text: await bodyText(res) };
}

/** The lines after EXT-X-SKIP: what a delta update lists besides its header. */
function afterSkip(text: string): string {
  return text.slice(text.indexOf('\n', text.indexOf('#EXT-X-SKIP:')) + 1);
}

describe('DVR playlists', () => {
  it('lists the window over the index and the live playlist, reloads like it, and serves its oldest media', async () => {
    // 24 segments, a reconnect (a discontinuity at msn 24), 24 more, and two parts of msn 48.
    await startSession(ID, 'se_a', CONFIG);
    await putInit(ID, 'se_a');
    await putSegments('se_a', 0, 6);
    expect((await endSession(ID, 'se_a')).status).toBe(200);
    expect((await startSession(ID, 'se_b', CONFIG)).firstMsn).toBe(24);
    await putInit(ID, 'se_b');
    await putSegments('se_b', 24, 6);
    await putParts(ID, 'se_b', fixtureParts.slice(0, 2), 48);

    const master = await get(`/live/${ID}/dvr.m3u8`);
    expect(master.status).toBe(200);
    expect(parsePlaylist(master.text).playlists?.map((p) => p.uri)).toEqual([`source/${EVENT}.dvr.m3u8`]);

    const live = await get(`/live/${ID}/source/${EVENT}.m3u8`);
    const dvr = await get(`/live/${ID}/source/${EVENT}.dvr.m3u8`);
    expect(dvr.status).toBe(200);
    const l = parsePlaylist(live.text);
    const d = parsePlaylist(dvr.text);
    // The live window: 12 segments, msn 36-47, one discontinuity before it. The DVR window: 45 s, msn 3-47.
    expect([l.mediaSequence, l.segments.length, l.discontinuitySequence]).toEqual([36, 12, 1]);
    expect([d.mediaSequence, d.segments.length, d.discontinuitySequence]).toEqual([3, 45, 0]);
    expect(d.segments.reduce((sum, s) => sum + (s.duration ?? 0), 0)).toBeCloseTo(45, 6);
    expect(dvr.text).not.toContain('#EXT-X-PLAYLIST-TYPE');
    expect(d.segments[0]?.uri).toBe('se_a/3.m4s');
    expect(d.segments[0]?.map?.uri).toBe('se_a/init.mp4');
    expect(d.segments.filter((s) => s.discontinuity).map((s) => s.uri)).toEqual(['se_b/24.m4s']);
    expect(d.segments[21]?.map?.uri).toBe('se_b/init.mp4');
    // The live playlist's segments, parts and hint, as it lists them.
    expect(d.segments.slice(33)).toEqual(l.segments);
    expect(d.preloadSegment).toEqual(l.preloadSegment);
    expect(dvr.text.slice(dvr.text.indexOf('#EXTINF:', dvr.text.indexOf('se_b/35.m4s')))).toBe(
      live.text.slice(live.text.indexOf('#EXTINF:', live.text.indexOf('se_b/35.m4s'))),
    );
    // Only the last segments have parts (4.4.4.9), as in the live playlist.
    expect(d.segments.slice(0, 40).every((s) => (s.parts ?? []).length === 0)).toBe(true);

    // A delta update skips the whole front: what follows EXT-X-SKIP is the live delta update's.
    const liveDelta = await get(`/live/${ID}/source/${EVENT}.m3u8?_HLS_skip=YES`);
    const dvrDelta = await get(`/live/${ID}/source/${EVENT}.dvr.m3u8?_HLS_skip=YES`);
    const liveSkipped = Number(/SKIPPED-SEGMENTS=(\d+)/.exec(liveDelta.text)?.[1]);
    expect(liveSkipped).toBeGreaterThan(0);
    expect(dvrDelta.text).toContain(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${liveSkipped + 33}\n`);
    expect(dvrDelta.text).toContain('#EXT-X-MEDIA-SEQUENCE:3\n');
    expect(dvrDelta.text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:0\n');
    expect(afterSkip(dvrDelta.text)).toBe(afterSkip(liveDelta.text));
    // However long the window, a reload costs what a live one does (the header's numbers apart).
    expect(Math.abs(dvrDelta.text.length - liveDelta.text.length)).toBeLessThan(8);

    // Blocking reload (6.2.5.2): held until part 48.2 is there.
    const held = SELF.fetch(`${ORIGIN}/live/${ID}/source/${EVENT}.dvr.m3u8?_HLS_msn=48&_HLS_part=2`);
    await new Promise((r) => setTimeout(r, 100));
    expect(
      (await putPart(ID, 'se_b', fixtureParts[2] as (typeof fixtureParts)[number], { msn: 48 })).status,
    ).toBe(201);
    const reloaded = await held;
    expect(reloaded.status).toBe(200);
    expect(await bodyText(reloaded)).toContain('URI="se_b/48.2.m4s"');

    // Segment 48 completes: both windows slide by one, the DVR front with them (msn 4-47 and 48).
    await putParts(ID, 'se_b', fixtureParts.slice(3, 5), 48);
    const slid = parsePlaylist((await get(`/live/${ID}/source/${EVENT}.dvr.m3u8`)).text);
    expect([slid.mediaSequence, slid.segments.length, slid.segments.at(-1)?.uri]).toEqual([
      4,
      45,
      'se_b/48.m4s',
    ]);
    const brief = (list: typeof d.segments) => list.map((s) => [s.uri, s.duration, s.programDateTime]);
    expect(brief(slid.segments.slice(0, 44))).toEqual(brief(d.segments.slice(1)));

    // msn 3 left the stream object's retained segments (40): its bytes come through the recording index.
    expect(live.text).not.toContain('se_a/3.m4s');
    const segment = await SELF.fetch(`${ORIGIN}/live/${ID}/source/se_a/3.m4s`);
    expect(segment.status).toBe(200);
    const expected = fixtureParts.slice(15, 20);
    const bytes = new Uint8Array(await segment.arrayBuffer());
    expect(bytes.byteLength).toBe(expected.reduce((sum, p) => sum + p.bytes.byteLength, 0));
    expect(bytes.slice(0, expected[0]?.bytes.byteLength)).toEqual(expected[0]?.bytes);
  }, 30_000);

  it('serves the media of a session the stream object no longer keeps (many reconnects)', async () => {
    const id = 'dvr-many';
    const config = { ...CONFIG, dvrWindow: 60 };
    // Four sessions of one event, a segment each, then 44 more of the last: the object keeps two ended sessions
    // and 40 segments, so se_1 and its segment have both left its state.
    for (let i = 1; i <= 4; i++) {
      const started = await startSession(id, `se_${i}`, config);
      expect(started.firstMsn).toBe(i - 1);
      await putInit(id, `se_${i}`);
      await putParts(id, `se_${i}`, fixtureParts.slice(0, 5), i - 1);
      if (i < 4) expect((await endSession(id, `se_${i}`)).status).toBe(200);
    }
    for (let k = 0; k < 11; k++) await putParts(id, 'se_4', fixtureParts, 4 + 4 * k);
    const dvr = parsePlaylist((await get(`/live/${id}/source/ev_se_1.dvr.m3u8`)).text);
    expect(dvr.segments.slice(0, 4).map((s) => s.uri)).toEqual([
      'se_1/0.m4s',
      'se_2/1.m4s',
      'se_3/2.m4s',
      'se_4/3.m4s',
    ]);
    expect(dvr.segments).toHaveLength(48);
    const first = await SELF.fetch(`${ORIGIN}/live/${id}/source/se_1/0.m4s`);
    expect(first.status).toBe(200);
    expect((await first.arrayBuffer()).byteLength).toBe(
      fixtureParts.slice(0, 5).reduce((sum, p) => sum + p.bytes.byteLength, 0),
    );
  }, 30_000);

  it('is offered only with a DVR window, and a signed stream plays it only with a token', async () => {
    const plain = await createStream({});
    expect(plain.playback.dvr).toBeUndefined();
    const withDvr = await createStream({ dvrWindow: 600, playbackPolicy: 'signed' });
    expect(withDvr.playback.dvr).toBe(withDvr.playback.hls.replace('master.m3u8', 'dvr.m3u8'));
    const signed = await SELF.fetch(withDvr.playback.dvr as string);
    expect(signed.status).toBe(401);
    await signed.body?.cancel();
    const invalid = await call('POST', '/v1/streams', { json: { dvrWindow: 14_401 } });
    expect(invalid.status).toBe(422);
    await invalid.body?.cancel();

    // A live event without a DVR window has no DVR playlists.
    await startSession('dvr-none', 'se_n', TEST_CONFIG);
    await putInit('dvr-none', 'se_n');
    await putParts('dvr-none', 'se_n', fixtureParts.slice(0, 7));
    expect((await get('/live/dvr-none/dvr.m3u8')).status).toBe(404);
    expect((await get('/live/dvr-none/source/ev_se_n.dvr.m3u8')).status).toBe(404);
    expect((await get('/live/dvr-none/source/ev_se_n.m3u8')).status).toBe(200);
  });
});
