import { describe, expect, it } from 'vitest';
import { StartGate } from '../../../ingest-relay/src/cmaf/start-gate.ts';
import type { AccessUnit, TrackConfig } from '../../../ingest-relay/src/media/access-unit.ts';

// Only the fields the gate reads matter here; the rest are plausible values.
const video: TrackConfig = {
  kind: 'video',
  codec: 'h264',
  timescale: 1000,
  avcC: new Uint8Array(0),
  width: 320,
  height: 180,
  codecString: 'avc1.64000c',
  profile: 'High',
};
const audio: TrackConfig = {
  kind: 'audio',
  codec: 'aac',
  timescale: 1000,
  audioSpecificConfig: Uint8Array.of(0x11, 0x90),
  sampleRate: 48000,
  channelCount: 2,
  codecString: 'mp4a.40.2',
  objectType: 2,
  profile: 'LC',
};
const unit = (kind: 'video' | 'audio', dts: number, keyframe = kind === 'audio'): AccessUnit => ({
  kind,
  dts,
  pts: dts,
  keyframe,
  data: new Uint8Array(1),
  receivedAt: dts,
});
const stats = () => ({ droppedBeforeKeyframe: 0, droppedWithoutTrack: 0 });

describe('StartGate', () => {
  it('starts at the first keyframe once both tracks are declared, with the audio held before it', () => {
    const s = stats();
    const gate = new StartGate(1, s);
    gate.config(video);
    gate.config(audio);
    expect(gate.push(unit('video', 0, false))).toBeUndefined();
    expect(gate.push(unit('audio', 10))).toBeUndefined();
    const start = gate.push(unit('video', 40, true));
    expect(start).toMatchObject({ video, audio, originSec: 0.04 });
    expect(start!.units.map((u) => [u.kind, u.dts])).toEqual([
      ['audio', 10],
      ['video', 40],
    ]);
    expect(s.droppedBeforeKeyframe).toBe(1);
  });

  it('drops, and counts, units of a track that was never declared', () => {
    const s = stats();
    const gate = new StartGate(1, s);
    gate.config(audio);
    gate.push(unit('video', 0, true));
    expect(s.droppedWithoutTrack).toBe(1);
  });

  it('waits `trackWait` seconds of one track for the other config, then starts with one track', () => {
    const gate = new StartGate(0.5, stats());
    gate.config(video);
    expect(gate.push(unit('video', 0, true))).toBeUndefined();
    expect(gate.push(unit('video', 499))).toBeUndefined();
    expect(gate.push(unit('video', 500))).toMatchObject({ video, audio: undefined, originSec: 0 });
    const audioOnly = new StartGate(0.5, stats());
    audioOnly.config(audio);
    audioOnly.push(unit('audio', 1000));
    expect(audioOnly.push(unit('audio', 1500))).toMatchObject({ video: undefined, audio, originSec: 1 });
  });

  it('does not start audio-only while a declared video track has sent no keyframe, except at flush', () => {
    const gate = new StartGate(0.5, stats());
    gate.config(video);
    gate.config(audio);
    for (let t = 0; t < 3000; t += 21) expect(gate.push(unit('audio', t))).toBeUndefined();
    const start = gate.flush();
    expect(start).toMatchObject({ video: undefined, audio, originSec: 0 });
    expect(start!.units).toHaveLength(143);
    expect(new StartGate(1, stats()).flush()).toBeUndefined();
  });

  it('keeps the audio held for a video track without a keyframe bounded (4096 units), counting the drops', () => {
    const s = stats();
    const gate = new StartGate(1, s);
    gate.config(video);
    gate.config(audio);
    for (let k = 0; k < 5000; k++) gate.push(unit('audio', k * 21));
    expect(s.droppedBeforeKeyframe).toBe(5000 - 4096);
    expect(gate.flush()!.units[0]!.dts).toBe((5000 - 4096) * 21);
  });
  it('declares captions from the held video: the first keyframe, or what is held while audio is awaited', () => {
    const run = (audioDeclared: boolean, captionedAt: number) => {
      const gate = new StartGate(1, stats());
      gate.config(video);
      if (audioDeclared) gate.config(audio);
      for (let dts = 0; dts <= 1100; dts += 100) {
        const u = unit('video', dts, dts === 100);
        if (dts === captionedAt) u.captions = true;
        const start = gate.push(u);
        if (start) return start.video?.closedCaptions;
      }
      return 'not started';
    };
    expect(run(true, 100)).toBe(true); // on the first keyframe
    expect(run(true, 200)).toBe(false); // after the start: not declared (the init is out)
    expect(run(true, 0)).toBe(false); // before the keyframe: dropped, never held
    expect(run(false, 600)).toBe(true); // held while the audio config is awaited (trackWait 1 s)
    expect(run(false, -1)).toBe(false);
  });
});
