import { describe, expect, it } from 'vitest';
import { API_TOKEN, call, createStream, expectProblem } from './client.ts';

function authorize(streamKey: string, protocol = 'rtmp', token?: string) {
  return call('POST', '/internal/v1/authorize', { json: { streamKey, protocol }, token });
}

function startSession(streamKey: string, protocol = 'srt') {
  return call('POST', '/internal/v1/sessions', {
    json: { streamKey, protocol, remoteAddress: '127.0.0.1:50000', relayId: 'relay-test' },
  });
}

describe('POST /internal/v1/authorize', () => {
  it('answers the stream, config, passphrase and role for a valid key', async () => {
    const s = await createStream({ partTarget: 0.25, srtPassphrase: 'secret passphrase' });
    const res = await authorize(s.streamKey, 'srt');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      streamId: s.id,
      config: {
        partTarget: 0.25,
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
      },
      srtPassphrase: 'secret passphrase',
      role: 'primary',
    });
  });

  it('has no side effects: the stream stays idle', async () => {
    const s = await createStream();
    expect((await authorize(s.streamKey)).status).toBe(200);
    const read = (await (await call('GET', `/v1/streams/${s.id}`)).json()) as { status: string };
    expect(read.status).toBe('idle');
  });

  it('refuses unknown and malformed keys with the same 404', async () => {
    const s = await createStream();
    const forged = `${s.streamKey.slice(0, -1)}${s.streamKey.endsWith('A') ? 'B' : 'A'}`;
    for (const key of [forged, 'sk_short', 'not-even-a-key', s.id]) {
      await expectProblem(await authorize(key), 404, 'unknown-stream-key');
    }
  });

  it('validates the body', async () => {
    const s = await createStream();
    await expectProblem(await authorize(s.streamKey, 'webrtc'), 422, 'validation-failed');
    await expectProblem(
      await call('POST', '/internal/v1/authorize', { body: '{', contentType: 'application/json' }),
      400,
      'malformed-request',
    );
    await expectProblem(
      await call('POST', '/internal/v1/authorize', {
        json: { streamKey: 'x'.repeat(17 * 1024), protocol: 'rtmp' },
      }),
      413,
      'body-too-large',
    );
  });

  it('refuses the API token, and /v1 refuses the ingest token', async () => {
    const s = await createStream();
    await expectProblem(await authorize(s.streamKey, 'rtmp', API_TOKEN), 401, 'unauthorized');
    await expectProblem(
      await call('POST', '/internal/v1/authorize', { token: null, json: {} }),
      401,
      'unauthorized',
    );
    await expectProblem(
      await call('GET', `/v1/streams/${s.id}`, { token: 'test-ingest-token' }),
      401,
      'unauthorized',
    );
  });
});

describe('key rotation', () => {
  it('refuses the old key and accepts the new one', async () => {
    const s = await createStream();
    expect((await authorize(s.streamKey)).status).toBe(200);
    const rotated = (await (await call('POST', `/v1/streams/${s.id}/rotate-key`)).json()) as {
      streamKey: string;
    };
    await expectProblem(await authorize(s.streamKey), 404, 'unknown-stream-key');
    await expectProblem(await startSession(s.streamKey), 404, 'unknown-stream-key');
    const res = await authorize(rotated.streamKey);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { streamId: string }).streamId).toBe(s.id);
  });
});

describe('POST /internal/v1/sessions', () => {
  it('starts a session on the stream object, then refuses a second publisher with 409', async () => {
    const s = await createStream({ segmentTarget: 4 });
    const res = await startSession(s.streamKey);
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const started = JSON.parse(text) as Record<string, unknown>;
    expect(started.streamId).toBe(s.id);
    expect(started.sessionId).toMatch(/^se_d30_[a-z2-7]{16}$/);
    expect(started.config).toEqual({
      partTarget: 0.333,
      segmentTarget: 4,
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
    expect(started.role).toBe('primary');
    expect(Number.isInteger(started.firstMsn)).toBe(true);

    await expectProblem(await startSession(s.streamKey, 'rtmp'), 409, 'already-live');
  });

  it("names the retention class of the stream's retentionDays at its start (src/media/keys.ts)", async () => {
    const sessionOf = async (retentionDays: number) => {
      const s = await createStream({ retentionDays });
      const res = await startSession(s.streamKey);
      expect(res.status).toBe(201);
      return ((await res.json()) as { sessionId: string }).sessionId;
    };
    expect(await sessionOf(1)).toMatch(/^se_d1_[a-z2-7]{16}$/);
    expect(await sessionOf(45)).toMatch(/^se_d90_[a-z2-7]{16}$/);
    expect(await sessionOf(3650)).toMatch(/^se_d3650_[a-z2-7]{16}$/);
  });

  it('refuses an unknown key and an incomplete body', async () => {
    await expectProblem(await startSession('sk_unknown'), 404, 'unknown-stream-key');
    const s = await createStream();
    const p = await expectProblem(
      await call('POST', '/internal/v1/sessions', { json: { streamKey: s.streamKey, protocol: 'rtmp' } }),
      422,
      'validation-failed',
    );
    expect(p.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['remoteAddress', 'relayId']));
  });
});

describe('a publishing stream seen through /v1', () => {
  it('turns live in GET and health once a session starts; DELETE ends it and frees the key', async () => {
    const s = await createStream();
    expect((await startSession(s.streamKey, 'rtmp')).status).toBe(201);

    const read = (await (await call('GET', `/v1/streams/${s.id}`)).json()) as { status: string };
    expect(read.status).toBe('live');
    const healthRes = await call('GET', `/v1/streams/${s.id}/health`);
    expect(healthRes.status).toBe(200);
    const health = (await healthRes.json()) as { streamId: string; status: string; session: unknown };
    expect(health.streamId).toBe(s.id);
    expect(health.status).toBe('live');
    expect(health.session).toMatchObject({ protocol: 'rtmp', remoteAddress: '127.0.0.1:50000' });

    expect((await call('DELETE', `/v1/streams/${s.id}`)).status).toBe(204);
    await expectProblem(await startSession(s.streamKey), 404, 'unknown-stream-key');
    await expectProblem(await call('GET', `/v1/streams/${s.id}/health`), 404, 'stream-not-found');
  });

  it('reports an idle stream as idle in health', async () => {
    const s = await createStream();
    const health = (await (await call('GET', `/v1/streams/${s.id}/health`)).json()) as Record<
      string,
      unknown
    >;
    expect(health).toMatchObject({ streamId: s.id, status: 'idle' });
  });
});
