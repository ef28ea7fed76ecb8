import { describe, expect, it } from 'vitest';
import { call, createStream, expectProblem, ORIGIN, type StreamBody, withoutKeys } from './client.ts';

describe('POST /v1/streams', () => {
  it('creates a stream with defaults, a fresh key and ingest/playback URLs', async () => {
    const res = await call('POST', '/v1/streams', { json: {} });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const s = (await res.json()) as StreamBody;
    expect(res.headers.get('location')).toBe(`/v1/streams/${s.id}`);
    expect(s.id).toMatch(/^st_[a-z2-7]{16}$/);
    expect(s.streamKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(s.name).toBe('');
    expect(s.status).toBe('idle');
    expect(s.config).toEqual({
      partTarget: 0.333,
      segmentTarget: 2,
      reconnectWindow: 10,
      failoverTimeout: 1.5,
      failbackHoldOff: 10,
      maxBitrate: 0,
      ladder: 'standard',
      recording: true,
      dvrWindow: 0,
      retentionDays: 30,
      playbackPolicy: 'public',
    });
    expect(s.srtPassphrase).toBeNull();
    expect(s.ingest.rtmp).toBe(`rtmp://127.0.0.1:1935/live/${s.streamKey}`);
    expect(s.ingest.srt).toBe(`srt://127.0.0.1:9000?streamid=${s.streamKey}`);
    expect('rtmps' in s.ingest).toBe(false); // RTMPS_INGEST_URL is empty in wrangler.toml
    expect(s.playback).toEqual({
      hls: `${ORIGIN}/live/${s.id}/master.m3u8`,
      player: `${ORIGIN}/play/${s.id}`,
    });
    expect(Date.parse(s.createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('accepts a POST without any body', async () => {
    const res = await call('POST', '/v1/streams');
    expect(res.status).toBe(201);
  });

  it('keeps given settings, never puts the key or passphrase in playback URLs', async () => {
    const s = await createStream({
      name: 'studio A',
      partTarget: 0.2,
      segmentTarget: 1,
      reconnectWindow: 0,
      srtPassphrase: 'correct horse battery',
    });
    expect(s.name).toBe('studio A');
    expect(s.config).toEqual({
      partTarget: 0.2,
      segmentTarget: 1,
      reconnectWindow: 0,
      failoverTimeout: 1.5,
      failbackHoldOff: 10,
      maxBitrate: 0,
      ladder: 'standard',
      recording: true,
      dvrWindow: 0,
      retentionDays: 30,
      playbackPolicy: 'public',
    });
    expect(s.srtPassphrase).toBe('correct horse battery');
    for (const url of Object.values(s.playback)) {
      expect(url).not.toContain(s.streamKey);
      expect(url).not.toContain('sk_');
    }
    // The SRT URL carries the streamid only; the encoder adds the passphrase itself.
    expect(s.ingest.srt).not.toContain('passphrase');
  });

  it('gives every stream its own id and key', async () => {
    const a = await createStream();
    const b = await createStream();
    expect(a.id).not.toBe(b.id);
    expect(a.streamKey).not.toBe(b.streamKey);
  });
});

describe('GET/PATCH/DELETE /v1/streams/{id}', () => {
  it('reads back what was created, with no key: keys are shown only at create and rotate', async () => {
    const created = await createStream({ name: 'read me' });
    const res = await call('GET', `/v1/streams/${created.id}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual(withoutKeys(created));
    expect(text).not.toContain(created.streamKey);
    expect(text).not.toContain(created.backupStreamKey);
  });

  it('answers 404 problem for an unknown id', async () => {
    await expectProblem(await call('GET', '/v1/streams/st_aaaaaaaaaaaaaaaa'), 404, 'stream-not-found');
    await expectProblem(
      await call('PATCH', '/v1/streams/st_aaaaaaaaaaaaaaaa', { json: { name: 'x' } }),
      404,
      'stream-not-found',
    );
    await expectProblem(await call('DELETE', '/v1/streams/st_aaaaaaaaaaaaaaaa'), 404, 'stream-not-found');
    await expectProblem(
      await call('POST', '/v1/streams/st_aaaaaaaaaaaaaaaa/rotate-key'),
      404,
      'stream-not-found',
    );
    await expectProblem(await call('GET', '/v1/streams/st_aaaaaaaaaaaaaaaa/health'), 404, 'stream-not-found');
  });

  it('patches only the given fields and checks the merged config', async () => {
    const s = await createStream({ name: 'before', srtPassphrase: 'a passphrase 1' });
    const res = await call('PATCH', `/v1/streams/${s.id}`, { json: { name: 'after', partTarget: 0.5 } });
    expect(res.status).toBe(200);
    const patched = (await res.json()) as StreamBody;
    expect(patched.name).toBe('after');
    expect(patched.config).toEqual({
      partTarget: 0.5,
      segmentTarget: 2,
      reconnectWindow: 10,
      failoverTimeout: 1.5,
      failbackHoldOff: 10,
      maxBitrate: 0,
      ladder: 'standard',
      recording: true,
      dvrWindow: 0,
      retentionDays: 30,
      playbackPolicy: 'public',
    });
    expect(patched.srtPassphrase).toBe('a passphrase 1');
    expect(patched).not.toHaveProperty('streamKey');
    expect(patched.createdAt).toBe(s.createdAt);

    // Each value in range, together a segment shorter than its part.
    const bad = await call('PATCH', `/v1/streams/${s.id}`, { json: { partTarget: 1.5, segmentTarget: 1 } });
    const problem = await expectProblem(bad, 422, 'validation-failed');
    expect(problem.detail).toContain('segmentTarget');
    const shorter = await call('PATCH', `/v1/streams/${s.id}`, { json: { segmentTarget: 1 } });
    expect(shorter.status).toBe(200);
    // A change of one field is checked against the stored others: part 1.2 s > stored segment 1 s.
    const merged = await call('PATCH', `/v1/streams/${s.id}`, { json: { partTarget: 1.2 } });
    expect((await expectProblem(merged, 422, 'validation-failed')).detail).toContain('segmentTarget (1)');

    const cleared = await call('PATCH', `/v1/streams/${s.id}`, { json: { srtPassphrase: null } });
    expect(((await cleared.json()) as StreamBody).srtPassphrase).toBeNull();
    const again = (await (await call('GET', `/v1/streams/${s.id}`)).json()) as StreamBody;
    expect(again.srtPassphrase).toBeNull();
    expect(again.name).toBe('after');
    expect(again.config.segmentTarget).toBe(1);
  });

  it('deletes a stream: gone from GET, list and key lookup', async () => {
    const s = await createStream();
    const res = await call('DELETE', `/v1/streams/${s.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    await expectProblem(await call('GET', `/v1/streams/${s.id}`), 404, 'stream-not-found');
    await expectProblem(
      await call('POST', '/internal/v1/authorize', { json: { streamKey: s.streamKey, protocol: 'rtmp' } }),
      404,
      'unknown-stream-key',
    );
    await expectProblem(await call('DELETE', `/v1/streams/${s.id}`), 404, 'stream-not-found');
  });
});

describe('POST /v1/streams/{id}/rotate-key', () => {
  it('replaces the key everywhere it is shown', async () => {
    const s = await createStream();
    const res = await call('POST', `/v1/streams/${s.id}/rotate-key`);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as StreamBody;
    expect(rotated.id).toBe(s.id);
    expect(rotated.streamKey).toMatch(/^sk_/);
    expect(rotated.streamKey).not.toBe(s.streamKey);
    expect(rotated.ingest.rtmp).toBe(`rtmp://127.0.0.1:1935/live/${rotated.streamKey}`);
    expect(rotated).not.toHaveProperty('backupStreamKey');
    const read = (await (await call('GET', `/v1/streams/${s.id}`)).json()) as StreamBody;
    expect(read).not.toHaveProperty('streamKey');
    expect(read.ingest.rtmp).toBe('rtmp://127.0.0.1:1935/live');
  });
});

describe('GET /v1/streams', () => {
  it('pages through every stream exactly once, newest first, while streams are created', async () => {
    const mine = new Set<string>();
    for (let i = 0; i < 7; i++) mine.add((await createStream({ name: `page ${i}` })).id);

    const seen: string[] = [];
    const createdAts: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
      const res = await call('GET', `/v1/streams${query}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { streams: StreamBody[]; nextCursor: string | null };
      expect(body.streams.length).toBeLessThanOrEqual(3);
      if (body.nextCursor !== null) expect(body.streams.length).toBe(3);
      for (const s of body.streams) {
        seen.push(s.id);
        createdAts.push(Date.parse(s.createdAt));
      }
      cursor = body.nextCursor;
      if (cursor === null) break;
      // A stream created mid-walk sorts before the cursor: later pages neither repeat nor skip anything.
      if (page === 0) await createStream({ name: 'created while paging' });
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of mine) expect(seen).toContain(id);
    for (let i = 1; i < createdAts.length; i++)
      expect(createdAts[i]).toBeLessThanOrEqual(createdAts[i - 1] ?? 0);
  });

  it('defaults to 20 per page and clamps nothing silently', async () => {
    for (let i = 0; i < 3; i++) await createStream();
    const res = await call('GET', '/v1/streams');
    const body = (await res.json()) as { streams: StreamBody[]; nextCursor: string | null };
    expect(body.streams.length).toBeGreaterThanOrEqual(3);
    expect(body.streams.length).toBeLessThanOrEqual(20);
    for (const bad of ['0', '101', 'ten', '2.5']) {
      const p = await expectProblem(await call('GET', `/v1/streams?limit=${bad}`), 400, 'validation-failed');
      expect(p.errors?.[0]?.field).toBe('limit');
    }
  });

  it('refuses a cursor it did not issue', async () => {
    await expectProblem(await call('GET', '/v1/streams?cursor=not-a-cursor'), 400, 'invalid-cursor');
    await expectProblem(await call('GET', '/v1/streams?cursor=%2F%2F'), 400, 'invalid-cursor');
  });
});
