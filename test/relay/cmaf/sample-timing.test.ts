import { describe, expect, it } from 'vitest';
import { AudioTiming, aacFrameTicks, VideoTiming } from '../../../ingest-relay/src/cmaf/sample-timing.ts';
import type { AccessUnit } from '../../../ingest-relay/src/media/access-unit.ts';

const unit = (kind: 'video' | 'audio', dts: number, pts = dts, keyframe = true): AccessUnit => ({
  kind,
  dts,
  pts,
  keyframe,
  data: new Uint8Array(1),
  receivedAt: 1000 + dts,
});

describe('VideoTiming', () => {
  // RTMP-like input (1 kHz) on a 90 kHz output track, with the origin at input second 10.
  const timing = { inScale: 1000, outScale: 90_000, originSec: 10 };

  it('holds one sample back: its duration is the distance to the next, its cto in output ticks', () => {
    const video = new VideoTiming(timing, { droppedNonMonotonic: 0 });
    expect(video.push(unit('video', 10_000, 10_066))).toEqual({ accepted: true, complete: undefined });
    expect(video.held).toMatchObject({ dts: 0, cto: 5940, sync: true });
    const next = video.push(unit('video', 10_033, 10_033, false));
    expect(next).toMatchObject({ accepted: true, complete: { dts: 0, duration: 2970 } });
    expect(video.held).toMatchObject({ dts: 2970, duration: 0, sync: false });
  });

  it('drops, and counts, units that do not move forward or come before the origin', () => {
    const stats = { droppedNonMonotonic: 0 };
    const video = new VideoTiming(timing, stats);
    expect(video.push(unit('video', 9_990)).accepted).toBe(false);
    video.push(unit('video', 10_000));
    expect(video.push(unit('video', 10_000)).accepted).toBe(false);
    expect(video.push(unit('video', 9_999)).accepted).toBe(false);
    expect(stats.droppedNonMonotonic).toBe(3);
  });

  it('at flush gives the held sample the previous duration, or 1/30 s when it is the only one', () => {
    const video = new VideoTiming(timing, { droppedNonMonotonic: 0 });
    video.push(unit('video', 10_000));
    video.push(unit('video', 10_040));
    expect(video.flush()).toMatchObject({ dts: 3600, duration: 3600 });
    expect(video.held).toBeUndefined();
    const lone = new VideoTiming(timing, { droppedNonMonotonic: 0 });
    lone.push(unit('video', 10_000));
    expect(lone.flush()).toMatchObject({ dts: 0, duration: 3000 });
  });
});

describe('AudioTiming', () => {
  // 48 kHz AAC timed in RTMP milliseconds: frames are 21.333 ms apart, so the input alternates 21/22 ms.
  const timing = { inScale: 1000, outScale: 48_000, originSec: 0 };
  const stats = () => ({ droppedBeforeKeyframe: 0, audioResyncs: 0 });

  it('counts frames so durations stay exact (1024 ticks) whatever the millisecond rounding', () => {
    const audio = new AudioTiming(timing, 1024, stats());
    const dts = Array.from(
      { length: 6 },
      (_, k) => audio.push(unit('audio', Math.round((k * 1024) / 48)))!.dts,
    );
    expect(dts).toEqual([0, 1024, 2048, 3072, 4096, 5120]);
    expect(audio.end).toBe(6144);
  });

  it('follows the input only when it jumps by more than two frames, and counts the resync', () => {
    const s = stats();
    const audio = new AudioTiming(timing, 1024, s);
    audio.push(unit('audio', 0));
    expect(audio.push(unit('audio', 40))!.dts).toBe(1024); // 1920 ticks: within two frames of 1024
    expect(audio.push(unit('audio', 1000))!.dts).toBe(48_000);
    expect(s.audioResyncs).toBe(1);
  });

  it('drops, and counts, frames from before the origin', () => {
    const s = stats();
    const audio = new AudioTiming({ ...timing, originSec: 1 }, 1024, s);
    expect(audio.push(unit('audio', 900))).toBeUndefined();
    expect(s.droppedBeforeKeyframe).toBe(1);
    expect(audio.end).toBeUndefined();
  });

  it('has 2048-tick frames for HE-AAC (explicit SBR reports the output rate), 1024 otherwise', () => {
    expect([2, 5, 29].map(aacFrameTicks)).toEqual([1024, 2048, 2048]);
  });
});
