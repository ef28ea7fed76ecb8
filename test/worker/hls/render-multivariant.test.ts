/**
 * The multivariant renderer against exact golden files, read back by m3u8-parser with no warning: a ladder's
 * variants with their own attributes, and closed captions declared once for all variants or NONE on each.
 */
import { type ParsedManifest, Parser } from 'm3u8-parser';
import { describe, expect, it } from 'vitest';
import { renderMultivariantPlaylist } from '../../../src/hls/render-multivariant.ts';
import multivariantGolden from '../../fixtures/golden/multivariant.m3u8?raw';
import multivariantCaptionsGolden from '../../fixtures/golden/multivariant-captions.m3u8?raw';
import { multivariant, multivariantCaptions } from './ladder-shapes.ts';

function parse(text: string): { manifest: ParsedManifest; warnings: string[] } {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (event) => warnings.push(event.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

describe('renderMultivariantPlaylist', () => {
  it('renders the ladder exactly, with and without closed captions', () => {
    expect(renderMultivariantPlaylist(multivariant)).toBe(multivariantGolden);
    expect(renderMultivariantPlaylist(multivariantCaptions)).toBe(multivariantCaptionsGolden);
  });

  it('reads back through m3u8-parser with no warning', () => {
    const { manifest, warnings } = parse(renderMultivariantPlaylist(multivariant));
    expect(warnings).toEqual([]);
    expect(manifest.independentSegments).toBe(true);
    expect(manifest.playlists?.map((p) => [p.uri, p.attributes])).toEqual([
      [
        '360p/ev_k3n7q2xw5tb4m6ra.m3u8',
        {
          BANDWIDTH: 1340800,
          'AVERAGE-BANDWIDTH': '1340800',
          CODECS: 'avc1.64001e,mp4a.40.2',
          RESOLUTION: { width: 640, height: 360 },
          'FRAME-RATE': 30,
          'CLOSED-CAPTIONS': 'NONE',
        },
      ],
      [
        '480p/ev_k3n7q2xw5tb4m6ra.m3u8',
        {
          BANDWIDTH: 2240800,
          'AVERAGE-BANDWIDTH': '2240800',
          CODECS: 'avc1.64001e,mp4a.40.2',
          RESOLUTION: { width: 854, height: 480 },
          'FRAME-RATE': 30,
          'CLOSED-CAPTIONS': 'NONE',
        },
      ],
      [
        'source/ev_k3n7q2xw5tb4m6ra.m3u8',
        {
          BANDWIDTH: 3512000,
          'AVERAGE-BANDWIDTH': '3105000',
          CODECS: 'avc1.64001f,mp4a.40.2',
          RESOLUTION: { width: 1280, height: 720 },
          'FRAME-RATE': 29.97,
          'CLOSED-CAPTIONS': 'NONE',
        },
      ],
    ]);
    expect(manifest.mediaGroups?.['CLOSED-CAPTIONS']).toEqual({});
  });

  it('declares the captions group once and names it on every variant (4.4.6.1, 4.4.6.2)', () => {
    const { manifest, warnings } = parse(renderMultivariantPlaylist(multivariantCaptions));
    expect(warnings).toEqual([]);
    expect(manifest.mediaGroups?.['CLOSED-CAPTIONS']).toEqual({
      cc: { English: { default: true, autoselect: true, instreamId: 'CC1' } },
    });
    expect(manifest.playlists?.map((p) => p.attributes['CLOSED-CAPTIONS'])).toEqual(['cc', 'cc', 'cc']);
  });
});
