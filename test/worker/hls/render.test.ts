/**
 * Renderers against exact golden files, and every rendered playlist read back by an independent reader
 * (m3u8-parser) that must raise no warning and must see the parts, hints, reports and skips we meant.
 */
import { type ParsedManifest, Parser } from 'm3u8-parser';
import { describe, expect, it } from 'vitest';
import type { MediaPlaylist } from '../../../src/hls/model.ts';
import { decimal, renderMediaPlaylist, requiredVersion } from '../../../src/hls/render-media.ts';
import deltaV2Golden from '../../fixtures/golden/delta-v2.m3u8?raw';
import deltaYesGolden from '../../fixtures/golden/delta-yes.m3u8?raw';
import discontinuityGolden from '../../fixtures/golden/discontinuity.m3u8?raw';
import endedGolden from '../../fixtures/golden/ended.m3u8?raw';
import gapOpenSegmentGolden from '../../fixtures/golden/gap-open-segment.m3u8?raw';
import gapSegmentsGolden from '../../fixtures/golden/gap-segments.m3u8?raw';
import liveWindowGolden from '../../fixtures/golden/live-window.m3u8?raw';
import openSegmentGolden from '../../fixtures/golden/open-segment.m3u8?raw';
import renditionReportsGolden from '../../fixtures/golden/rendition-reports.m3u8?raw';
import sessionChangeHintGolden from '../../fixtures/golden/session-change-hint.m3u8?raw';
import { gapShapes } from './ladder-shapes.ts';
import { mediaShapes as baseShapes, liveWindow } from './shapes.ts';

const mediaShapes = { ...baseShapes, ...gapShapes };

const goldens: Record<string, string> = {
  'live-window.m3u8': liveWindowGolden,
  'open-segment.m3u8': openSegmentGolden,
  'delta-yes.m3u8': deltaYesGolden,
  'delta-v2.m3u8': deltaV2Golden,
  'rendition-reports.m3u8': renditionReportsGolden,
  'discontinuity.m3u8': discontinuityGolden,
  'session-change-hint.m3u8': sessionChangeHintGolden,
  'ended.m3u8': endedGolden,
  'gap-segments.m3u8': gapSegmentsGolden,
  'gap-open-segment.m3u8': gapOpenSegmentGolden,
};

function parse(text: string): { manifest: ParsedManifest; warnings: string[] } {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (event) => warnings.push(event.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

function shape(name: string): MediaPlaylist {
  const model = mediaShapes[name];
  if (!model) throw new Error(`no shape ${name}`);
  return model;
}

/** What m3u8-parser must read back from each shape, beyond the checks every shape gets. */
const expectations: Record<string, (m: ParsedManifest) => void> = {
  'live-window.m3u8': (m) => {
    expect(m.segments.map((s) => s.parts?.length ?? 0)).toEqual([0, 0, 0, 0, 5, 5]);
    expect(m.segments[4]?.parts?.map((p) => p.independent ?? false)).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(m.preloadSegment?.parts).toBeUndefined();
    expect(m.preloadSegment?.preloadHints).toEqual([{ type: 'PART', uri: 's1/106.0.m4s' }]);
    expect(m.renditionReports).toBeUndefined();
  },
  'open-segment.m3u8': (m) => {
    expect(m.preloadSegment?.parts?.map((p) => p.uri)).toEqual([
      's1/106.0.m4s',
      's1/106.1.m4s',
      's1/106.2.m4s',
    ]);
    expect(m.preloadSegment?.dateTimeString).toBe('2026-01-15T12:00:12.123Z');
    expect(m.preloadSegment?.preloadHints).toEqual([{ type: 'PART', uri: 's1/106.3.m4s' }]);
    expect(m.renditionReports).toEqual([
      { uri: '../360p/ev_k3n7q2xw5tb4m6ra.m3u8', lastMsn: 106, lastPart: 2 },
    ]);
  },
  'delta-yes.m3u8': (m) => {
    expect(m.version).toBe(9);
    expect(m.skip).toEqual({ skippedSegments: 5 });
    expect(m.mediaSequence).toBe(100);
    expect(m.segments[0]?.uri).toBe('s1/105.m4s');
    expect(m.segments[0]?.map?.uri).toBe('s1/init.mp4');
    expect(m.segments[0]?.dateTimeString).toBe('2026-01-15T12:00:10.123Z');
    expect(m.serverControl?.canSkipDateranges).toBeUndefined();
  },
  'delta-v2.m3u8': (m) => {
    expect(m.version).toBe(10);
    expect(m.skip).toEqual({ skippedSegments: 5, recentlyRemovedDateranges: [''] });
    expect(m.serverControl?.canSkipDateranges).toBe(true);
    expect(m.segments).toHaveLength(7);
  },
  'rendition-reports.m3u8': (m) => {
    expect(m.renditionReports).toEqual([
      { uri: '../1080p/ev_k3n7q2xw5tb4m6ra.m3u8', lastMsn: 104, lastPart: 0 },
      { uri: '../360p/ev_k3n7q2xw5tb4m6ra.m3u8', lastMsn: 103, lastPart: 4 },
    ]);
  },
  'discontinuity.m3u8': (m) => {
    expect(m.discontinuityStarts).toEqual([3]);
    expect(m.segments.map((s) => s.map?.uri)).toEqual([
      's1/init.mp4',
      's1/init.mp4',
      's1/init.mp4',
      's2/init.mp4',
      's2/init.mp4',
    ]);
    expect(m.segments.map((s) => s.timeline)).toEqual([0, 0, 0, 1, 1]);
    expect(m.segments[3]?.dateTimeString).toBe('2026-01-15T12:00:36.123Z');
    expect(m.preloadSegment?.map?.uri).toBe('s2/init.mp4');
  },
  'session-change-hint.m3u8': (m) => {
    expect(m.preloadSegment?.parts).toBeUndefined();
    expect(m.preloadSegment?.preloadHints).toEqual([
      { type: 'MAP', uri: 's2/init.mp4' },
      { type: 'PART', uri: 's2/106.0.m4s' },
    ]);
  },
  'ended.m3u8': (m) => {
    expect(m.endList).toBe(true);
    expect(m.preloadSegment).toBeUndefined();
    expect(m.discontinuitySequence).toBe(2);
    expect(m.segments[3]?.parts?.map((p) => p.duration)).toEqual([
      0.33333, 0.33333, 0.33333, 0.33333, 0.33333, 0.33333,
    ]);
  },
};

/** URIs of the segments an EXT-X-GAP applies to (m3u8-parser reads the tag without keeping it). */
function gapUris(text: string): string[] {
  const lines = text.split('\n');
  const uris: string[] = [];
  let gap = false;
  for (const line of lines) {
    if (line === '#EXT-X-GAP') gap = true;
    else if (line && !line.startsWith('#')) {
      if (gap) uris.push(line);
      gap = false;
    }
  }
  return uris;
}

Object.assign(expectations, {
  'gap-segments.m3u8': (m: ParsedManifest) => {
    const text = renderMediaPlaylist(shape('gap-segments.m3u8'));
    expect(gapUris(text)).toEqual(['s1/105.m4s']);
    // 4.4.4.9: every part of a gap segment is GAP=YES; the segment keeps its EXTINF and MSN. 104 has media in
    // its first two parts, listed as they were while it was open.
    expect(m.segments[4]?.parts?.map((p) => p.gap ?? false)).toEqual([false, false, true, true, true]);
    expect(m.segments[5]?.parts?.every((p) => p.gap === true)).toBe(true);
    expect(m.segments.map((s) => s.duration)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(m.segments[3]?.parts?.some((p) => p.gap)).toBe(false);
    expect(m.preloadSegment?.parts?.map((p) => p.gap ?? false)).toEqual([false, false]);
  },
  'gap-open-segment.m3u8': (m: ParsedManifest) => {
    expect(gapUris(renderMediaPlaylist(shape('gap-open-segment.m3u8')))).toEqual([]);
    expect(m.preloadSegment?.parts?.map((p) => p.gap ?? false)).toEqual([false, false, true]);
  },
});

describe('renderMediaPlaylist', () => {
  it('has a warning collector that hears m3u8-parser', () => {
    // Without this, "no warning" below could pass because nothing was listening.
    const { warnings } = parse(
      '#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=1\n#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.5\n',
    );
    expect(warnings).toEqual([expect.stringContaining('clamping PART-HOLD-BACK')]);
  });

  for (const name of Object.keys(mediaShapes)) {
    it(`renders ${name} exactly`, () => {
      expect(renderMediaPlaylist(shape(name))).toBe(goldens[name]);
    });

    it(`${name} reads back through m3u8-parser with no warning`, () => {
      const model = shape(name);
      const { manifest, warnings } = parse(renderMediaPlaylist(model));
      expect(warnings).toEqual([]);
      expect(manifest.targetDuration).toBe(model.targetDuration);
      expect(manifest.partTargetDuration).toBe(model.partTarget);
      expect(manifest.mediaSequence).toBe(model.mediaSequence);
      expect(manifest.serverControl?.canBlockReload).toBe(true);
      expect(manifest.segments.map((s) => s.uri)).toEqual(model.segments.map((s) => s.uri));
      for (const [i, segment] of manifest.segments.entries()) {
        // Appendix B.1: every segment dated; durations round-trip to five decimals.
        expect(segment.dateTimeString).toBe(new Date(model.segments[i]?.programDateTime ?? 0).toISOString());
        expect(segment.duration).toBe(Number(decimal(model.segments[i]?.duration ?? 0)));
        expect(Math.round(segment.duration ?? 0)).toBeLessThanOrEqual(model.targetDuration);
        for (const part of segment.parts ?? []) expect(part.duration).toBeLessThanOrEqual(model.partTarget);
      }
      expectations[name]?.(manifest);
    });
  }

  it('never writes a preload hint once ended (4.4.5.3), even if the model holds one', () => {
    const text = renderMediaPlaylist(shape('ended.m3u8'));
    expect(shape('ended.m3u8').preloadHint).not.toBeNull();
    expect(text).not.toContain('PRELOAD-HINT');
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('raises EXT-X-VERSION to what the tags need, and keeps a higher pinned version', () => {
    const skipping: MediaPlaylist = { ...liveWindow, version: 6, skippedSegments: 2 };
    expect(requiredVersion(liveWindow)).toBe(6);
    expect(requiredVersion(skipping)).toBe(9);
    expect(requiredVersion({ ...skipping, skipV2: true })).toBe(10);
    expect(renderMediaPlaylist(skipping)).toContain('#EXT-X-VERSION:9\n');
    expect(renderMediaPlaylist({ ...liveWindow, version: 9 })).toContain('#EXT-X-VERSION:9\n');
  });

  it('omits LAST-PART for a rendition that has no part yet (4.4.5.4)', () => {
    const model: MediaPlaylist = {
      ...liveWindow,
      renditionReports: [{ uri: '../360p/index.m3u8', lastMsn: 99, lastPart: -1 }],
    };
    expect(renderMediaPlaylist(model)).toContain(
      '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=99\n',
    );
  });

  it('writes no dangling tags for an open segment without parts, except its announced discontinuity', () => {
    const model: MediaPlaylist = {
      ...liveWindow,
      openSegment: { msn: 106, parts: [], programDateTime: 0, discontinuity: false, mapUri: 's1/init.mp4' },
    };
    expect(renderMediaPlaylist(model)).toBe(liveWindowGolden);
    const announced = renderMediaPlaylist({
      ...model,
      openSegment: { msn: 106, parts: [], programDateTime: 0, discontinuity: true, mapUri: 's1/init.mp4' },
    });
    expect(announced).toBe(
      liveWindowGolden.replace('#EXT-X-PRELOAD-HINT', '#EXT-X-DISCONTINUITY\n#EXT-X-PRELOAD-HINT'),
    );
  });

  it('writes CAN-SKIP-DATERANGES only beside CAN-SKIP-UNTIL (4.4.3.8)', () => {
    const { canSkipUntil: _, ...noSkip } = liveWindow.serverControl;
    const text = renderMediaPlaylist({
      ...liveWindow,
      serverControl: { ...noSkip, canSkipDateRanges: true },
    });
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,HOLD-BACK=6,PART-HOLD-BACK=1.2\n');
  });
});

describe('decimal', () => {
  it('rounds to five decimals, trims zeros and never uses exponent notation', () => {
    expect(decimal(2)).toBe('2');
    expect(decimal(0.4)).toBe('0.4');
    expect(decimal(1 / 3)).toBe('0.33333');
    expect(decimal(2 / 3)).toBe('0.66667');
    expect(decimal(0.1 + 0.2)).toBe('0.3');
    expect(decimal(1e-7)).toBe('0');
    expect(decimal(-1e-9)).toBe('0');
    expect(decimal(6.00000001)).toBe('6');
    expect(decimal(1e20)).toBe('100000000000000000000');
    expect(decimal(123456.789012)).toBe('123456.78901');
  });
});
