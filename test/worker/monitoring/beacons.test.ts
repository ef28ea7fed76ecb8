// POST /live/{id}/qoe through the real Worker: good beacons reach the stream's health, summed in the isolate and
// the region's replica on the way (one stream object call per replica and interval), bad ones are refused.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { beaconClock } from '../../../src/monitoring/beacons.ts';
import { FLUSH_MS } from '../../../src/monitoring/stream-tally.ts';
import { ORIGIN, startSession, streamStub } from '../support/media.ts';

const STREAM = 'st_qoe_beacons';

/** Moves the isolate's beacon clock past the flush interval, so the next beacon sends what it holds. */
function stepBeaconClock(): void {
  const now = beaconClock.now();
  beaconClock.now = () => now + FLUSH_MS + 1;
}

async function qoeOf(streamId: string) {
  return (await streamStub(streamId).getHealth()).monitoring?.qoe;
}

function beacon(streamId: string, body: string, contentType = 'text/plain;charset=UTF-8') {
  return SELF.fetch(`${ORIGIN}/live/${streamId}/qoe`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'cf-connecting-ip': `198.51.100.${streamId.length}` },
    body,
  });
}

const good = {
  session: 'abcdefgh1234',
  events: [
    { type: 'startup', ms: 850 },
    { type: 'latency', s: 1.7 },
    { type: 'playing', ms: 9_500 },
    { type: 'rebuffer', ms: 500 },
    { type: 'rendition', bitrate: 1_200_000, height: 360 },
    { type: 'error', code: 'fragment', fatal: false },
  ],
};

describe('QoE beacons', () => {
  it('aggregates a valid batch into the stream health', async () => {
    await startSession(STREAM, 'sess_qoe_1');
    const res = await beacon(STREAM, JSON.stringify(good));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    // The isolate's first beacons go up at once; the replica forwards its first sum at once too.
    await expect.poll(async () => (await qoeOf(STREAM))?.sessions, { timeout: 3_000 }).toBe(1);
    const qoe = await qoeOf(STREAM);
    expect(qoe?.startupMs?.p50).toBe(850);
    expect(qoe?.latencySeconds?.p50).toBe(1.7);
    expect(qoe?.rebuffers).toBe(1);
    expect(qoe?.rebufferRatio).toBe(0.05);
    expect(qoe?.errors).toEqual({ fragment: 1 });
  });

  it("sums an isolate's beacons: many viewers, one call up per interval", async () => {
    const id = 'st_qoe_summed';
    await startSession(id, 'sess_summed');
    stepBeaconClock(); // whatever earlier cases left in the isolate goes up with the first beacon below
    const calls = async () => (await streamStub(id).getHealth()).delivery.streamObjectCalls.monitoring;
    const before = await calls();
    for (let i = 0; i < 12; i++) {
      const viewer = { ...good, session: `viewer-${String(i).padStart(4, '0')}` };
      expect((await beacon(id, JSON.stringify(viewer))).status).toBe(204);
    }
    // Eleven of them are still in the isolate: the interval has not passed on its clock.
    stepBeaconClock();
    expect((await beacon(id, JSON.stringify({ ...good, session: 'viewer-last' }))).status).toBe(204);
    // The replica holds its second sum until its own interval passed (real time), then sends it. The wait is
    // the interval and a loaded CI's slack (a 3 s slack ran out once, with every worker file in parallel).
    await expect.poll(async () => (await qoeOf(id))?.sessions, { timeout: FLUSH_MS + 12_000 }).toBe(13);
    expect((await qoeOf(id))?.rebuffers).toBe(13);
    // Thirteen beacons, at most two calls: the isolate's first flush and the summed rest.
    expect((await calls()) - before).toBeLessThanOrEqual(2);
  }, 30_000);

  it('answers the CORS preflight for POST', async () => {
    const res = await SELF.fetch(`${ORIGIN}/live/${STREAM}/qoe`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.test', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it.each([
    ['not JSON', '{"session": ', 400],
    ['a wrong type', JSON.stringify({ ...good, events: [{ type: 'startup', ms: 'fast' }] }), 422],
    ['an unknown event', JSON.stringify({ ...good, events: [{ type: 'cpu', load: 1 }] }), 422],
    [
      'free text as an error code',
      JSON.stringify({ ...good, events: [{ type: 'error', code: 'see http://x', fatal: true }] }),
      422,
    ],
    ['an extra field', JSON.stringify({ ...good, url: 'https://evil.test/' }), 422],
    ['a bad session token', JSON.stringify({ ...good, session: 'x' }), 422],
    ['a negative duration', JSON.stringify({ ...good, events: [{ type: 'rebuffer', ms: -5 }] }), 422],
    ['no events', JSON.stringify({ ...good, events: [] }), 422],
    ['more than 4 KiB', JSON.stringify({ ...good, pad: 'x'.repeat(5000) }), 413],
  ])('refuses %s', async (_what, body, status) => {
    await startSession(STREAM, 'sess_qoe_1');
    const res = await beacon(STREAM, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a beacon for a stream that never published, and other content types', async () => {
    expect((await beacon('st_never_seen', JSON.stringify(good))).status).toBe(404);
    expect((await beacon('bad id!', JSON.stringify(good))).status).toBe(404);
    await startSession(STREAM, 'sess_qoe_1');
    expect((await beacon(STREAM, JSON.stringify(good), 'application/x-www-form-urlencoded')).status).toBe(
      415,
    );
  });

  it('rate-limits one client hammering one stream', async () => {
    const id = 'st_qoe_flood';
    await startSession(id, 'sess_flood');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await beacon(id, JSON.stringify(good))).status);
    expect(statuses.slice(0, 20).every((s) => s === 204)).toBe(true);
    expect(statuses.slice(20)).toContain(429);
  });
});
