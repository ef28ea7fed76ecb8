// Recordings through the real Worker (issue 15): an event is indexed as it is published, becomes a ready
// recording at ENDLIST, plays back as VOD from the same R2 objects (m3u8-parser with no warnings, segment
// bytes equal to the parts' bytes), downloads as one MP4, and once deleted answers 404 at once while its media
// is swept by the stream object's alarm.
import { env, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sessionPrefix } from '../../../src/media/keys.ts';
import { call, createStream, expectProblem, ORIGIN } from '../api/client.ts';
import {
  bodyText,
  endSession,
  fixtureInit,
  fixtureParts,
  parsePlaylist,
  putInit,
  putParts,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';
import { mintToken } from '../support/tokens.ts';

interface Recording {
  id: string;
  status: 'recording' | 'ready';
  duration: number;
  bytes: number;
  endedAt: string | null;
  playback: { hls: string | null; mp4: string | null };
  downloads: { start: number; end: number; mp4: string }[];
}

async function liveEvent(eventId: string, sessionId = 'se_rec_a', streamId?: string) {
  const stream = streamId
    ? { id: streamId }
    : await createStream({ partTarget: 0.2, segmentTarget: 1, reconnectWindow: 1 });
  const started = await streamStub(stream.id).startSession({
    streamId: stream.id,
    sessionId,
    eventId,
    config: { ...TEST_CONFIG, recording: true },
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:50000',
    relayId: 'relay-test',
    role: 'primary',
  });
  expect(started.ok).toBe(true);
  expect((await putInit(stream.id, sessionId)).status).toBe(201);
  await putParts(stream.id, sessionId, fixtureParts.slice(0, 7));
  return stream;
}

async function endEvent(streamId: string, sessionId = 'se_rec_a') {
  expect((await endSession(streamId, sessionId)).status).toBe(200);
  await streamStub(streamId).advanceClock(TEST_CONFIG.reconnectWindow * 1000 + 50);
  await runDurableObjectAlarm(streamStub(streamId));
}

async function listed(streamId: string): Promise<Recording[]> {
  const res = await call('GET', `/v1/streams/${streamId}/recordings`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { recordings: Recording[] }).recordings;
}

describe('recordings', () => {
  it('indexes a live event, is ready at ENDLIST, plays as VOD and downloads as one MP4', async () => {
    const stream = await liveEvent('ev_aaaaaaaaaaaaaaaa');
    const [live] = await listed(stream.id);
    expect(live).toMatchObject({ status: 'recording', playback: { hls: null, mp4: null }, downloads: [] });
    const id = live?.id as string;
    expect(id).toMatch(/^rec_[a-z2-7]{32}$/);
    // A recording being made cannot be deleted.
    const refused = await call('DELETE', `/v1/recordings/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');

    await endEvent(stream.id);
    const ready = (await (await call('GET', `/v1/recordings/${id}`)).json()) as Recording;
    const parts = fixtureParts.slice(0, 7);
    expect(ready.status).toBe('ready');
    expect(ready.endedAt).not.toBeNull();
    // Segment 0 (five 0.2 s parts) and segment 1 (two), closed as they stood at the disconnect.
    expect(ready.duration).toBeCloseTo(
      parts.reduce((s, p) => s + p.duration, 0),
      3,
    );
    expect(ready.bytes).toBe(parts.reduce((s, p) => s + p.bytes.length, 0));
    expect(ready.playback.hls).toBe(`${ORIGIN}/vod/${id}/master.m3u8`);
    expect(ready.playback.mp4).toBe(`${ORIGIN}/vod/${id}/download.mp4`);
    expect(ready.downloads).toHaveLength(1);

    const master = parsePlaylist(await bodyText(await SELF.fetch(ready.playback.hls as string)));
    const variant = master.playlists?.[0]?.uri as string;
    expect(variant).toBe('source/index.m3u8');
    const mediaUrl = new URL(variant, ready.playback.hls as string).toString();
    const text = await bodyText(await SELF.fetch(mediaUrl));
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text).not.toContain('#EXT-X-PART');
    expect(text).not.toContain('#EXT-X-SERVER-CONTROL');
    const media = parsePlaylist(text);
    expect(media.endList).toBe(true);
    expect(media.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['se_rec_a/0.m4s', 1],
      ['se_rec_a/1.m4s', 0.4],
    ]);
    // The segment is its parts' bytes, from the same R2 objects the live event wrote.
    const seg = await SELF.fetch(new URL('se_rec_a/1.m4s', mediaUrl));
    expect(seg.status).toBe(200);
    const expected = new Uint8Array(parts.slice(5).flatMap((p) => [...p.bytes]));
    expect(new Uint8Array(await seg.arrayBuffer())).toEqual(expected);
    const init = await SELF.fetch(new URL('se_rec_a/init.mp4', mediaUrl));
    expect(new Uint8Array(await init.arrayBuffer())).toEqual(fixtureInit);

    const mp4 = await SELF.fetch(ready.playback.mp4 as string);
    expect(mp4.status).toBe(200);
    expect(Number(mp4.headers.get('content-length'))).toBe(fixtureInit.length + ready.bytes);
    expect((await mp4.arrayBuffer()).byteLength).toBe(fixtureInit.length + ready.bytes);
  });

  it("plays a signed stream's recording only with a token for that recording, which revoke-tokens refuses", async () => {
    const signed = await createStream({
      partTarget: 0.2,
      segmentTarget: 1,
      reconnectWindow: 1,
      playbackPolicy: 'signed',
    });
    await liveEvent('ev_ssssssssssssssss', 'se_rec_a', signed.id);
    await endEvent(signed.id);
    const [rec] = await listed(signed.id);
    const id = rec?.id as string;
    await expectProblem(await SELF.fetch(`${ORIGIN}/vod/${id}/master.m3u8`), 401, 'playback-token-required');
    // The stream's live token names the stream, not the recording.
    const live = await mintToken(signed.id);
    await expectProblem(
      await SELF.fetch(`${ORIGIN}/vod/${live.token}/master.m3u8`),
      403,
      'token-subject-invalid',
    );

    const minted = await call('POST', `/v1/recordings/${id}/playback-tokens`, { json: { expiresIn: 3600 } });
    expect(minted.status).toBe(201);
    const { token, playback } = (await minted.json()) as {
      token: string;
      playback: { hls: string; prefix: string };
    };
    expect(playback).toEqual({
      hls: `${ORIGIN}/vod/${token}/master.m3u8`,
      prefix: `${ORIGIN}/vod/${token}/`,
    });
    const master = await SELF.fetch(playback.hls);
    expect(master.status).toBe(200);
    expect(master.headers.get('referrer-policy')).toBe('no-referrer');
    const mediaUrl = new URL('source/index.m3u8', playback.hls);
    expect(await bodyText(await SELF.fetch(mediaUrl))).toContain('#EXT-X-ENDLIST');
    const seg = await SELF.fetch(new URL('se_rec_a/0.m4s', mediaUrl));
    expect(seg.status).toBe(200);
    await seg.arrayBuffer();
    const mp4 = await SELF.fetch(`${playback.prefix}download.mp4`);
    expect(mp4.status).toBe(200);
    await mp4.arrayBuffer();
    // A path no route serves names the token only as {token}.
    const unrouted = await expectProblem(await SELF.fetch(`${ORIGIN}/vod/${token}`), 404, 'not-found');
    expect(JSON.stringify(unrouted)).not.toContain(token.split('.')[2]);
    expect(unrouted.detail).toBe('no route for GET /vod/{token}');
    // A recording token plays no live route.
    await expectProblem(
      await SELF.fetch(`${ORIGIN}/live/${token}/master.m3u8`),
      403,
      'token-subject-invalid',
    );

    expect((await call('POST', `/v1/streams/${signed.id}/revoke-tokens`)).status).toBe(200);
    await expectProblem(await SELF.fetch(playback.hls), 401, 'token-revoked');
    await expectProblem(
      await call('POST', '/v1/recordings/rec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/playback-tokens'),
      404,
      'recording-not-found',
    );
  });

  it('deletes a ready recording: 404 at once, its media swept, the stream kept', async () => {
    const stream = await liveEvent('ev_bbbbbbbbbbbbbbbb');
    await endEvent(stream.id);
    const [rec] = await listed(stream.id);
    const id = rec?.id as string;
    expect((await call('DELETE', `/v1/recordings/${id}`)).status).toBe(204);
    expect((await call('GET', `/v1/recordings/${id}`)).status).toBe(404);
    expect((await SELF.fetch(`${ORIGIN}/vod/${id}/master.m3u8`)).status).toBe(404);
    expect((await SELF.fetch(`${ORIGIN}/vod/${id}/source/se_rec_a/0.m4s`)).status).toBe(404);
    expect((await SELF.fetch(`${ORIGIN}/vod/${id}/download.mp4`)).status).toBe(404);
    expect(await listed(stream.id)).toEqual([]);
    await runDurableObjectAlarm(streamStub(stream.id));
    await expect
      .poll(
        async () => (await env.MEDIA.list({ prefix: sessionPrefix(stream.id, 'se_rec_a') })).objects.length,
      )
      .toBe(0);
    expect((await call('GET', `/v1/streams/${stream.id}`)).status).toBe(200);
  });

  it('expires recordings older than retentionDays, a change applying at once, and keeps the newer', async () => {
    const stream = await liveEvent('ev_dddddddddddddddd', 'se_rec_old');
    await endEvent(stream.id, 'se_rec_old');
    await streamStub(stream.id).advanceClock(1.5 * 86_400_000);
    await liveEvent('ev_eeeeeeeeeeeeeeee', 'se_rec_new', stream.id);
    await endEvent(stream.id, 'se_rec_new');
    expect(await listed(stream.id)).toHaveLength(2);
    // 30 days by default: nothing expired. Down to 1 day: the older recording is past it.
    const patched = await call('PATCH', `/v1/streams/${stream.id}`, { json: { retentionDays: 1 } });
    expect(patched.status).toBe(200);
    await runDurableObjectAlarm(streamStub(stream.id));
    await expect.poll(async () => (await listed(stream.id)).map((r) => r.status)).toEqual(['ready']);
    await runDurableObjectAlarm(streamStub(stream.id));
    const left = async (session: string) =>
      (await env.MEDIA.list({ prefix: sessionPrefix(stream.id, session) })).objects.length;
    await expect.poll(() => left('se_rec_old')).toBe(0);
    expect(await left('se_rec_new')).toBe(8); // init + 7 parts
  });

  it('makes clips over the same objects, snapped to segments, listed and deleted; refuses bad spans', async () => {
    const stream = await liveEvent('ev_gggggggggggggggg');
    const [live] = await listed(stream.id);
    const id = live?.id as string;
    const early = await call('POST', `/v1/recordings/${id}/clips`, { json: { start: 0, end: 1 } });
    expect(early.status).toBe(409); // still recording
    await endEvent(stream.id);
    // 0.5-1.2 s lies in segments 0 (0-1 s) and 1 (1-1.4 s): the clip is both.
    const made = await call('POST', `/v1/recordings/${id}/clips`, { json: { start: 0.5, end: 1.2 } });
    expect(made.status).toBe(201);
    const clip = (await made.json()) as { id: string; start: number; end: number; playback: { hls: string } };
    expect(clip).toMatchObject({ start: 0, end: 1.4 });
    const second = (await (
      await call('POST', `/v1/recordings/${id}/clips`, { json: { start: 1.1, end: 1.3 } })
    ).json()) as { id: string; start: number; playback: { hls: string } };
    expect(second.start).toBe(1);
    const master = parsePlaylist(await bodyText(await SELF.fetch(second.playback.hls)));
    const variant = master.playlists?.[0]?.uri as string;
    expect(variant).toBe(`source/clip-${second.id}.m3u8`);
    const media = parsePlaylist(await bodyText(await SELF.fetch(new URL(variant, second.playback.hls))));
    expect(media.endList).toBe(true);
    expect(media.segments.map((s) => s.uri)).toEqual(['se_rec_a/1.m4s']);
    const seg = await SELF.fetch(new URL('se_rec_a/1.m4s', new URL(variant, second.playback.hls)));
    expect(seg.status).toBe(200);
    await seg.arrayBuffer();
    const list = (await (await call('GET', `/v1/recordings/${id}/clips`)).json()) as {
      clips: { id: string }[];
    };
    expect(list.clips.map((c) => c.id)).toEqual([clip.id, second.id]);
    expect((await call('DELETE', `/v1/recordings/${id}/clips/${clip.id}`)).status).toBe(204);
    expect((await SELF.fetch(clip.playback.hls)).status).toBe(404);
    expect((await call('DELETE', `/v1/recordings/${id}/clips/${clip.id}`)).status).toBe(404);
    for (const [json, status] of [
      [{ start: 1, end: 1 }, 422],
      [{ start: 1, end: 0.5 }, 422],
      [{ start: 0, end: 99 }, 422],
      [{ start: -1, end: 1 }, 422],
      [{ start: 0 }, 422],
      [{ start: 0, end: 1, extra: true }, 422],
    ] as const) {
      const res = await call('POST', `/v1/recordings/${id}/clips`, { json });
      expect(res.status, JSON.stringify(json)).toBe(status);
      const problem = (await res.json()) as { detail?: string };
      expect(problem.detail, JSON.stringify(json)).toBeTruthy();
    }
    expect(
      (await call('POST', `/v1/recordings/rec_${'c'.repeat(32)}/clips`, { json: { start: 0, end: 1 } }))
        .status,
    ).toBe(404);
  });

  it('keeps a recording longer than the live window, and nothing of a recording: false event', async () => {
    const stream = await createStream({ partTarget: 0.2, segmentTarget: 1, reconnectWindow: 1 });
    const start = (sessionId: string, eventId: string, recording: boolean) =>
      streamStub(stream.id).startSession({
        streamId: stream.id,
        sessionId,
        eventId,
        config: { ...TEST_CONFIG, recording },
        protocol: 'rtmp',
        remoteAddress: '127.0.0.1:50000',
        relayId: 'relay-test',
        role: 'primary',
      });
    expect((await start('se_rec_long', 'ev_hhhhhhhhhhhhhhhh', true)).ok).toBe(true);
    expect((await putInit(stream.id, 'se_rec_long')).status).toBe(201);
    // 45 segments of 5 parts each: more than the live window's 40.
    const perSegment = fixtureParts.filter((p) => p.msn === 0);
    for (let msn = 0; msn < 45; msn++) {
      await putParts(stream.id, 'se_rec_long', perSegment, msn);
    }
    await endEvent(stream.id, 'se_rec_long');
    const [rec] = await listed(stream.id);
    const media = parsePlaylist(
      await bodyText(await SELF.fetch(`${ORIGIN}/vod/${rec?.id}/source/index.m3u8`)),
    );
    expect(media.segments).toHaveLength(45);
    expect(media.segments[0]?.uri).toBe('se_rec_long/0.m4s');

    expect((await start('se_rec_off', 'ev_iiiiiiiiiiiiiiii', false)).ok).toBe(true);
    expect((await putInit(stream.id, 'se_rec_off')).status).toBe(201);
    await putParts(stream.id, 'se_rec_off', fixtureParts.slice(0, 7));
    await endEvent(stream.id, 'se_rec_off');
    expect((await listed(stream.id)).map((r) => r.id)).toEqual([rec?.id]);
    // Its media is queued for the sweep, due ten minutes after its ENDLIST.
    expect(await streamStub(stream.id).pendingSweeps()).toMatchObject([
      { prefix: sessionPrefix(stream.id, 'se_rec_off'), reason: 'not-recorded' },
    ]);
  }, 60_000);

  it('goes with its stream: a deleted stream leaves no recording behind', async () => {
    const stream = await liveEvent('ev_ffffffffffffffff');
    await endEvent(stream.id);
    const [rec] = await listed(stream.id);
    expect((await call('DELETE', `/v1/streams/${stream.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/recordings/${rec?.id}`)).status).toBe(404);
    expect((await SELF.fetch(`${ORIGIN}/vod/${rec?.id}/master.m3u8`)).status).toBe(404);
  });

  it('refuses unknown ids and bad cursors with problem+json', async () => {
    const stream = await createStream();
    for (const [path, status] of [
      ['/v1/recordings/rec_nope', 404],
      [`/v1/recordings/rec_${'a'.repeat(32)}`, 404],
      [`/v1/streams/${stream.id}/recordings?cursor=!!`, 400],
      [`/v1/streams/${stream.id}/recordings?limit=0`, 400],
      ['/v1/streams/st_aaaaaaaaaaaaaaaa/recordings', 404],
    ] as const) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
    }
    expect((await call('DELETE', `/v1/recordings/rec_${'b'.repeat(32)}`)).status).toBe(404);
  });
});
