// Issue 11, defect 3: the primary and the backup each have their own relay report and alerts; the stream's
// health (`relay`, `monitoring.alerts`) is the active input's. Before, both shared one slot: alerts flapped
// when the two inputs' reports differed, a backup connecting cleared every alert, and `relay` went null
// whenever the last report came from the standby.
import { describe, expect, it } from 'vitest';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import type { IngestRole } from '../../../src/contract/ingest.ts';
import { streamStub, TEST_CONFIG } from '../support/media.ts';

function report(keyframeInterval: number): SessionHealthReport {
  return {
    at: Date.now(),
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:1',
    ingestBitrate: 900_000,
    video: { codec: 'avc1.64001f', bitrate: 800_000, frameRate: 30, keyframeInterval },
    uploadRetries: 0,
    partsGivenUp: 0,
  };
}

async function start(streamId: string, sessionId: string, role: IngestRole) {
  const result = await streamStub(streamId).startSession({
    streamId,
    sessionId,
    eventId: `ev_${streamId}`,
    config: TEST_CONFIG,
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:1',
    relayId: 'relay-test',
    role,
  });
  if (!result.ok) throw new Error(result.detail);
}

describe('health per input', () => {
  it('keeps the active input alert while the standby reports a healthy encoder', async () => {
    const id = 'ih-flap';
    const stub = streamStub(id);
    await start(id, 'se_p', 'primary');
    expect(await stub.reportHealth('se_p', report(8))).toBe(true);
    expect((await stub.getHealth()).monitoring?.alerts.active).toEqual(['keyframe-interval-out-of-range']);
    // A backup connecting does not clear the primary's alert.
    await start(id, 'se_b', 'backup');
    expect((await stub.getHealth()).monitoring?.alerts.active).toEqual(['keyframe-interval-out-of-range']);
    // Nor does the backup's healthy report, nor does the primary's next bad one raise it again.
    expect(await stub.reportHealth('se_b', report(2))).toBe(true);
    expect(await stub.reportHealth('se_p', report(8))).toBe(true);
    expect(await stub.reportHealth('se_b', report(2))).toBe(true);
    const health = await stub.getHealth();
    expect(health.monitoring?.alerts.active).toEqual(['keyframe-interval-out-of-range']);
    // `relay` is the active input's report even when the standby reported last.
    expect(health.relay?.report.video?.keyframeInterval).toBe(8);
    expect(
      health.inputs.map((i) => [i.sessionId, i.relay?.report.video?.keyframeInterval, i.alerts]),
    ).toEqual([
      ['se_p', 8, ['keyframe-interval-out-of-range']],
      ['se_b', 2, []],
    ]);
  });
});
