import { describe, expect, it } from 'vitest';
import { call, createStream, expectProblem, type StreamBody } from './client.ts';

function authorize(streamKey: string) {
  return call('POST', '/internal/v1/authorize', { json: { streamKey, protocol: 'rtmp' } });
}

function startSession(streamKey: string) {
  return call('POST', '/internal/v1/sessions', {
    json: { streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:50001', relayId: 'relay-test' },
  });
}

describe('backup stream key', () => {
  it('is a second secret with its own ingest URLs, publishing as the backup role', async () => {
    const s = await createStream({ failoverTimeout: 2, failbackHoldOff: 0 });
    expect(s.backupStreamKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(s.backupStreamKey).not.toBe(s.streamKey);
    expect(s.ingest.backup?.rtmp).toBe(`rtmp://127.0.0.1:1935/live/${s.backupStreamKey}`);
    expect(s.ingest.backup?.srt).toBe(`srt://127.0.0.1:9000?streamid=${s.backupStreamKey}`);
    expect(s.config).toMatchObject({ failoverTimeout: 2, failbackHoldOff: 0 });

    const auth = (await (await authorize(s.backupStreamKey ?? '')).json()) as {
      role: string;
      streamId: string;
    };
    expect(auth).toMatchObject({ role: 'backup', streamId: s.id });

    // Primary and backup publish at once; a second publisher of either role is refused while it is healthy.
    const primary = await startSession(s.streamKey);
    expect(primary.status).toBe(201);
    const backup = await startSession(s.backupStreamKey ?? '');
    expect(backup.status, await backup.clone().text()).toBe(201);
    expect(((await backup.json()) as { role: string }).role).toBe('backup');
    await expectProblem(await startSession(s.backupStreamKey ?? ''), 409, 'already-live');
    await expectProblem(await startSession(s.streamKey), 409, 'already-live');

    const health = (await (await call('GET', `/v1/streams/${s.id}/health`)).json()) as {
      inputs: { role: string; state: string }[];
      switches: unknown[];
    };
    expect(health.inputs.map((i) => [i.role, i.state])).toEqual([
      ['primary', 'active'],
      ['backup', 'standby'],
    ]);
    expect(health.switches).toEqual([]);
  });

  it('rotates the primary or the backup key on request, each refusing only its own old key', async () => {
    const s = await createStream();
    const rotated = (await (
      await call('POST', `/v1/streams/${s.id}/rotate-key`, { json: { which: 'backup' } })
    ).json()) as StreamBody;
    // A rotation shows the one key it made, and only that one.
    expect(rotated).not.toHaveProperty('streamKey');
    expect(rotated.backupStreamKey).toMatch(/^sk_/);
    expect(rotated.backupStreamKey).not.toBe(s.backupStreamKey);
    await expectProblem(await authorize(s.backupStreamKey ?? ''), 404, 'unknown-stream-key');
    expect((await authorize(rotated.backupStreamKey ?? '')).status).toBe(200);
    expect((await authorize(s.streamKey)).status).toBe(200);

    const primary = (await (
      await call('POST', `/v1/streams/${s.id}/rotate-key`, { json: {} })
    ).json()) as StreamBody;
    expect(primary.streamKey).not.toBe(s.streamKey);
    expect(primary).not.toHaveProperty('backupStreamKey');
    expect((await authorize(rotated.backupStreamKey ?? '')).status).toBe(200);

    await expectProblem(
      await call('POST', `/v1/streams/${s.id}/rotate-key`, { json: { which: 'tertiary' } }),
      422,
      'validation-failed',
    );
  });

  it('validates failoverTimeout and failbackHoldOff on PATCH', async () => {
    const s = await createStream();
    const res = await call('PATCH', `/v1/streams/${s.id}`, {
      json: { failoverTimeout: 0.5, failbackHoldOff: 300 },
    });
    expect(((await res.json()) as StreamBody).config).toMatchObject({
      failoverTimeout: 0.5,
      failbackHoldOff: 300,
    });
    await expectProblem(
      await call('PATCH', `/v1/streams/${s.id}`, { json: { failoverTimeout: 0.2 } }),
      422,
      'validation-failed',
    );
  });
});
