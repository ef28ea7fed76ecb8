/**
 * Media playlists across renditions (issue 12, RFC 8216bis 4.4.5.4, 6.2.4), through the real routes: every
 * rendition has the same TARGETDURATION, PART-INF and SERVER-CONTROL; each reports every other rendition with
 * the LAST-MSN/LAST-PART that rendition's own playlist shows; and a rung whose uploads arrive after the
 * source's keeps the source's msn, durations and PDT, also across a failover between two inputs.
 */
import { SELF } from 'cloudflare:test';
import type { ParsedManifest } from 'm3u8-parser';
import { describe, expect, it } from 'vitest';
import type { IngestRole } from '../../../src/contract/ingest.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

const CONFIG = { ...TEST_CONFIG, reconnectWindow: 10 };

async function start(streamId: string, sessionId: string, role: IngestRole, renditions: readonly string[]) {
  const result = await streamStub(streamId).startSession({
    streamId,
    sessionId,
    eventId: `ev_${streamId}`,
    config: CONFIG,
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:1',
    relayId: 'relay-test',
    role,
  });
  if (!result.ok) throw new Error(result.detail);
  for (const r of renditions) expect((await putInit(streamId, sessionId, r)).status).toBe(201);
}

/** Uploads fixture parts [from, to) of `rendition`, each answered 201. */
async function upload(streamId: string, sessionId: string, rendition: string, from: number, to: number) {
  for (const p of fixtureParts.slice(from, to)) {
    const res = await putPart(streamId, sessionId, p, { rendition });
    expect(res.status, await res.clone().text()).toBe(201);
    await res.body?.cancel();
  }
}

async function fetchPlaylist(url: string): Promise<{ text: string; m: ParsedManifest }> {
  const res = await SELF.fetch(url);
  expect(res.status, url).toBe(200);
  const text = await bodyText(res);
  return { text, m: parsePlaylist(text) };
}

/** The last part a parsed playlist lists, as EXT-X-RENDITION-REPORT would name it. */
function edge(m: ParsedManifest): { lastMsn: number; lastPart: number } {
  const first = m.mediaSequence ?? 0;
  const open = m.preloadSegment?.parts ?? [];
  if (open.length > 0) return { lastMsn: first + m.segments.length, lastPart: open.length - 1 };
  return { lastMsn: first + m.segments.length - 1, lastPart: (m.segments.at(-1)?.parts?.length ?? 0) - 1 };
}

/** The header lines every rendition must share. */
function head(text: string): string[] {
  return text
    .split('\n')
    .filter((l) =>
      /^#EXT-X-(TARGETDURATION|PART-INF|SERVER-CONTROL|VERSION|DISCONTINUITY-SEQUENCE):/.test(l),
    );
}

describe('renditions of one stream', () => {
  it('share one header, and each reports every other with what that playlist itself shows', async () => {
    const id = 'rr-ladder';
    const renditions = ['source', '480p', '360p'] as const;
    await start(id, 'se_a', 'primary', renditions);
    // The rungs trail the source (transcode lag): 480p by one part, 360p by three.
    await upload(id, 'se_a', 'source', 0, 13);
    await upload(id, 'se_a', '480p', 0, 12);
    await upload(id, 'se_a', '360p', 0, 10);
    const urls = Object.fromEntries(renditions.map((r) => [r, playlistUrl(id, r)]));
    const playlists = Object.fromEntries(
      await Promise.all(renditions.map(async (r) => [r, await fetchPlaylist(urls[r] as string)] as const)),
    );
    const heads = renditions.map((r) => head(playlists[r]?.text ?? ''));
    expect(heads[0]).toHaveLength(5);
    expect(heads[1]).toEqual(heads[0]);
    expect(heads[2]).toEqual(heads[0]);
    expect(edge(playlists['360p']?.m as ParsedManifest)).toEqual({ lastMsn: 1, lastPart: 4 });

    for (const r of renditions) {
      const reports = playlists[r]?.m.renditionReports ?? [];
      expect(reports.map((x) => x.uri.split('/')[1]).sort(), r).toEqual(
        renditions.filter((o) => o !== r).sort(),
      );
      for (const report of reports) {
        // The report's URI, resolved against the playlist that carries it, is the other rendition's playlist.
        const other = await fetchPlaylist(new URL(report.uri, urls[r]).href);
        expect({ lastMsn: report.lastMsn, lastPart: report.lastPart }, `${r} -> ${report.uri}`).toEqual(
          edge(other.m),
        );
      }
    }
  });

  it('gives a rung uploaded after the source the source msn, durations and PDT across a failover', async () => {
    const id = 'rr-failover';
    await start(id, 'se_p', 'primary', ['source', '360p']);
    await start(id, 'se_b', 'backup', ['source', '360p']);
    // Both inputs cut the same picture (same PDT). The primary's source reaches the end of segment 1; its rung
    // is two parts behind when its encoder leaves; the backup's rung, too, lands after its source.
    await upload(id, 'se_p', 'source', 0, 10);
    await upload(id, 'se_b', 'source', 0, 12);
    await upload(id, 'se_p', '360p', 0, 8);
    await upload(id, 'se_b', '360p', 0, 9);
    expect((await endSession(id, 'se_p')).status).toBe(200);
    // The failover joins the backup at its keyframe 2.0, decided on the source, in both renditions.
    await upload(id, 'se_b', 'source', 12, 20);
    await upload(id, 'se_b', '360p', 9, 20);

    const source = await fetchPlaylist(playlistUrl(id, 'source'));
    const rung = await fetchPlaylist(playlistUrl(id, '360p'));
    const shape = (m: ParsedManifest) =>
      m.segments.map((s) => [s.uri, s.duration, s.dateTimeString, s.timeline, s.parts?.length ?? 0]);
    expect(rung.m.mediaSequence).toBe(source.m.mediaSequence);
    expect(shape(rung.m)).toEqual(shape(source.m));
    expect(shape(source.m).map(([uri]) => uri)).toEqual([
      'se_p/0.m4s',
      'se_p/1.m4s',
      'se_b/2.m4s',
      'se_b/3.m4s',
    ]);
    // The primary's rung never sent 1.3 and 1.4: they are gaps, in the rung alone. Its segment 1 has media in
    // 1.0-1.2, listed before the gaps and unchanged since: not EXT-X-GAP (RFC 8216bis 6.2.2).
    expect(rung.text).toContain(
      '#EXT-X-PART:DURATION=0.2,URI="se_p/1.2.m4s"\n' +
        '#EXT-X-PART:DURATION=0.2,URI="se_p/1.3.m4s",GAP=YES\n#EXT-X-PART:DURATION=0.2,URI="se_p/1.4.m4s",GAP=YES\n' +
        '#EXTINF:1,\nse_p/1.m4s\n#EXT-X-DISCONTINUITY\n',
    );
    expect(source.text).not.toContain('GAP');
    expect(rung.text).not.toContain('#EXT-X-GAP\n');
    // A late part of the left input is refused: its session ended, the rung's msn 1 stays as published.
    const late = await putPart(id, 'se_p', fixtureParts[8]!, { rendition: '360p' });
    expect(late.status).toBe(410);
    await late.body?.cancel();
    const gapPart = await SELF.fetch(`${ORIGIN}/live/${id}/360p/se_p/1.3.m4s`);
    expect(gapPart.status).toBe(404);
    expect(gapPart.headers.get('cache-control')).toBe('no-store');
    await gapPart.body?.cancel();
  });
  it('keeps a rung playlist moving, as gaps, through a reconnect to an input with no ladder', async () => {
    const id = 'rr-no-ladder';
    await start(id, 'se_a', 'primary', ['source', '360p']);
    await upload(id, 'se_a', 'source', 0, 10);
    await upload(id, 'se_a', '360p', 0, 10);
    expect((await endSession(id, 'se_a')).status).toBe(200);
    // The encoder comes back through a relay that admitted no ladder: se_b uploads the source alone.
    await start(id, 'se_b', 'primary', ['source']);
    // A player on the rung asks for its next part (a blocking reload); only the source's parts will come.
    const blocked = SELF.fetch(playlistUrl(id, '360p', '?_HLS_msn=3&_HLS_part=1'));
    for (const p of fixtureParts.slice(0, 7)) {
      const res = await putPart(id, 'se_b', p, { msn: p.msn + 2 });
      expect(res.status, await res.clone().text()).toBe(201);
      await res.body?.cancel();
    }
    const answered = await blocked;
    expect(answered.status).toBe(200);
    const m = parsePlaylist(await bodyText(answered));
    expect(m.preloadSegment?.parts?.map((p) => [p.uri, p.gap])).toEqual([
      ['se_b/3.0.m4s', true],
      ['se_b/3.1.m4s', true],
    ]);

    const source = await fetchPlaylist(playlistUrl(id, 'source'));
    const rung = await fetchPlaylist(playlistUrl(id, '360p'));
    const shape = (x: ParsedManifest) =>
      x.segments.map((s) => [s.uri, s.duration, s.dateTimeString, s.timeline, s.parts?.length ?? 0]);
    expect(rung.m.mediaSequence).toBe(source.m.mediaSequence);
    expect(shape(rung.m)).toEqual(shape(source.m));
    expect(edge(rung.m)).toEqual(edge(source.m));
    expect(rung.text).toContain('#EXT-X-GAP\n#EXTINF:1,\nse_b/2.m4s\n');
    expect(rung.text).not.toContain('#EXT-X-PRELOAD-HINT'); // none of its parts will come from se_b
    // New players get the source alone.
    const master = parsePlaylist(await bodyText(await SELF.fetch(`${ORIGIN}/live/${id}/master.m3u8`)));
    expect(master.playlists?.map((p) => p.uri.split('/')[0])).toEqual(['source']);
    const gapSegment = await SELF.fetch(`${ORIGIN}/live/${id}/360p/se_b/2.m4s`);
    expect(gapSegment.status).toBe(404);
    await gapSegment.body?.cancel();
  });
});
