// Issue 11, defect 1: a PATCH during a live event must not reach that event. The object keeps the config the
// event started with and hands it to every session of the event (a backup's, a reconnect's) in the
// session-start answer, so every relay cuts with it and SERVER-CONTROL never changes under playing viewers.
import { describe, expect, it } from 'vitest';
import type { StartSessionResponse } from '../../../src/contract/ingest.ts';
import { fixtureParts, parsePlaylist, putInit, putPart, putParts } from '../support/media.ts';
import { call, createStream } from './client.ts';

async function startSession(streamKey: string): Promise<StartSessionResponse> {
  const res = await call('POST', '/internal/v1/sessions', {
    json: { streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:50000', relayId: 'relay-test' },
  });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as StartSessionResponse;
}

async function patch(id: string, json: unknown) {
  const res = await call('PATCH', `/v1/streams/${id}`, { json });
  expect(res.status, await res.clone().text()).toBe(200);
  await res.body?.cancel();
}

async function playlist(streamId: string) {
  const res = await call('GET', `/live/${streamId}/source/index.m3u8`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('the event keeps its config', () => {
  it('answers a backup that starts after a PATCH with the config the event started with', async () => {
    const s = await createStream({ segmentTarget: 1 });
    const primary = await startSession(s.streamKey);
    expect(primary.config.partTarget).toBe(0.333);
    await putInit(s.id, primary.sessionId);
    await putParts(s.id, primary.sessionId, fixtureParts.slice(0, 6));
    const before = await playlist(s.id);
    expect(before).toContain('#EXT-X-PART-INF:PART-TARGET=0.333');

    await patch(s.id, { partTarget: 0.5 });
    const stored = (await (await call('GET', `/v1/streams/${s.id}`)).json()) as {
      config: { partTarget: number };
    };
    expect(stored.config.partTarget).toBe(0.5); // the registry has the change, for the next event
    if (!s.backupStreamKey) throw new Error('stream has no backup key');
    const backup = await startSession(s.backupStreamKey);
    expect(backup.role).toBe('backup');
    expect(backup.config.partTarget).toBe(0.333);
    await putInit(s.id, backup.sessionId);

    const after = parsePlaylist(await playlist(s.id));
    expect(after.partTargetDuration).toBe(0.333);
    expect(after.serverControl?.partHoldBack).toBe(0.999);
  });

  it('keeps accepting the primary parts when partTarget is lowered below them mid-event', async () => {
    const s = await createStream({ segmentTarget: 1 });
    const primary = await startSession(s.streamKey);
    await putInit(s.id, primary.sessionId);
    await putParts(s.id, primary.sessionId, fixtureParts.slice(0, 3));
    await patch(s.id, { partTarget: 0.1 });
    if (!s.backupStreamKey) throw new Error('stream has no backup key');
    const backup = await startSession(s.backupStreamKey);
    expect(backup.config.partTarget).toBe(0.333);
    // The primary still cuts 0.2 s parts: within the event's PART-TARGET, so no 422 ends its session.
    const next = await putPart(s.id, primary.sessionId, fixtureParts[3]!);
    expect(next.status, await next.clone().text()).toBe(201);
    await next.body?.cancel();
  });
});
