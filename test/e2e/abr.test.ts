// The ABR ladder end to end (issue 12): a pre-encoded 480p source published with `-c copy` over RTMP (and SRT)
// gets a 360p rung from the relay's ffmpeg; the renditions line up msn for msn, report each other truly, read
// back in ffmpeg, and switch in hls.js under a throttled link; a killed ladder ffmpeg leaves the source playing.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type CreatedStream,
  createStream,
  decodeHls,
  type Encoder,
  launchChromium,
  parsePlaylist,
  run,
  stackInfo,
  startExtraRelay,
  waitUntil,
} from '../support/e2e.ts';
import { ladderSource, publishFile } from '../support/ladder-source.ts';

interface Playlist {
  text: string;
  manifest: ReturnType<typeof parsePlaylist>['manifest'];
}

async function fetchPlaylist(url: string): Promise<Playlist> {
  const text = await (await fetch(url)).text();
  const { manifest, warnings } = parsePlaylist(text);
  expect(warnings, url).toEqual([]);
  return { text, manifest };
}

function mediaUrl(stream: CreatedStream, rendition: string): string {
  return stream.playback.hls.replace('master.m3u8', `${rendition}/index.m3u8`);
}

/** msn -> what must be the same in every rendition: duration, PDT, part count and INDEPENDENT flags. */
function segmentsByMsn(p: Playlist): Map<number, string> {
  const out = new Map<number, string>();
  const first = p.manifest.mediaSequence ?? 0;
  (p.manifest.segments ?? []).forEach((s, i) => {
    const parts = (s.parts ?? []).map((part) => `${part.duration}${part.independent ? 'I' : ''}`).join(' ');
    out.set(first + i, `${s.duration} ${s.dateTimeString} ${s.discontinuity ? 'D' : ''} [${parts}]`);
  });
  return out;
}

function expectAligned(a: Playlist, b: Playlist): number {
  const sa = segmentsByMsn(a);
  const sb = segmentsByMsn(b);
  let common = 0;
  for (const [msn, shape] of sa) {
    const other = sb.get(msn);
    if (other === undefined) continue;
    expect(other, `msn ${msn}`).toBe(shape);
    common++;
  }
  expect(a.manifest.discontinuitySequence ?? 0).toBe(b.manifest.discontinuitySequence ?? 0);
  return common;
}

const RENDITIONS = ['source', '360p'];
const SHAKA = fileURLToPath(
  new URL('../../node_modules/shaka-player/dist/shaka-player.compiled.js', import.meta.url),
);

for (const protocol of ['rtmp', 'srt'] as const) {
  describe(`the standard ladder over ${protocol.toUpperCase()} (480p source)`, () => {
    let stream: CreatedStream;
    let encoder: Encoder;
    let firstMultivariant = '';

    beforeAll(async () => {
      const file = await ladderSource(480);
      stream = await createStream({ name: `e2e ladder ${protocol}`, ladder: 'standard', reconnectWindow: 3 });
      const url = protocol === 'rtmp' ? stream.ingest.rtmp : stream.ingest.srt;
      encoder = publishFile(file, url as string, protocol === 'rtmp' ? 'flv' : 'mpegts', 90);
      // As a viewer waiting for the event to start: the first multivariant it can get.
      firstMultivariant = await waitUntil(
        'a multivariant playlist',
        async () => {
          const res = await fetch(stream.playback.hls);
          return res.ok ? await res.text() : null;
        },
        40_000,
      );
      await waitUntil(
        'both renditions to hold three segments',
        async () => {
          for (const r of RENDITIONS) {
            const res = await fetch(mediaUrl(stream, r));
            const text = res.ok ? await res.text() : '';
            if ((text.match(/#EXTINF:/g) ?? []).length < 3) return null;
          }
          return true;
        },
        40_000,
      );
    }, 120_000);

    afterAll(async () => {
      await encoder?.kill();
    });

    it('lists the whole ladder in the very first multivariant a viewer can get', () => {
      expect(firstMultivariant.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    });

    it('lists the source and the 360p rung, each with its own codecs, size and a bandwidth', async () => {
      const master = await fetchPlaylist(stream.playback.hls);
      const variants = master.manifest.playlists ?? [];
      const sizes = variants.map(
        (v) => `${v.attributes.RESOLUTION?.width}x${v.attributes.RESOLUTION?.height}`,
      );
      expect(sizes.sort()).toEqual(['640x360', '854x480']);
      for (const v of variants) {
        expect(v.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
        expect(v.attributes.BANDWIDTH).toBeGreaterThan(100_000);
        expect(v.attributes['FRAME-RATE']).toBeCloseTo(30, 0);
      }
      // The rung a player should start on first (nearest 2 Mb/s at or below), then ascending.
      const bw = variants.map((v) => v.attributes.BANDWIDTH as number);
      const atOrBelow = bw.filter((b) => b <= 2_000_000);
      expect(bw[0]).toBe(atOrBelow.length > 0 ? Math.max(...atOrBelow) : Math.min(...bw));
      expect(bw.slice(1)).toEqual([...bw.slice(1)].sort((x, y) => x - y));
    });

    it('keeps the renditions in step: same msn, duration, PDT and parts, and true rendition reports', async () => {
      const [source, rung] = await Promise.all(RENDITIONS.map((r) => fetchPlaylist(mediaUrl(stream, r))));
      if (!source || !rung) throw new Error('no playlists');
      expect(expectAligned(source, rung)).toBeGreaterThanOrEqual(2);
      for (const tag of ['#EXT-X-TARGETDURATION', '#EXT-X-PART-INF', '#EXT-X-SERVER-CONTROL']) {
        const line = (t: string) => t.split('\n').find((l) => l.startsWith(tag));
        expect(line(rung.text), tag).toBe(line(source.text));
      }
      // Each playlist reports the other; what it reports exists there (LAST-MSN/LAST-PART true when served).
      for (const [self, otherName] of [
        [source, '360p'],
        [rung, 'source'],
      ] as const) {
        const report = self.text
          .split('\n')
          .find((l) => l.startsWith('#EXT-X-RENDITION-REPORT') && l.includes(`../${otherName}/`));
        expect(report, `report of ${otherName}`).toBeTruthy();
        const lastMsn = Number(/LAST-MSN=(\d+)/.exec(report ?? '')?.[1]);
        const lastPart = Number(/LAST-PART=(\d+)/.exec(report ?? '')?.[1]);
        const url = `${mediaUrl(stream, otherName)}?_HLS_msn=${lastMsn}&_HLS_part=${lastPart}`;
        const res = await fetch(url);
        expect(res.status, url).toBe(200);
      }
    });

    it('reads back in ffmpeg without decode errors, every variant', async () => {
      for (const r of RENDITIONS) {
        const res = await decodeHls(mediaUrl(stream, r), 4);
        expect(res.stderr.trim(), r).toBe('');
        expect(res.code, r).toBe(0);
      }
    });

    if (protocol === 'srt') return;

    it('switches down on a 1.2 Mb/s link in hls.js and back up when it lifts, with no fatal error', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Network.enable');
        await page.goto(stream.playback.player);
        const level = () =>
          page.evaluate(() => {
            const hls = (
              window as unknown as {
                __player: { hls: { currentLevel: number; levels: { height: number }[] } | null };
              }
            ).__player.hls;
            return hls && hls.currentLevel >= 0 ? (hls.levels[hls.currentLevel]?.height ?? null) : null;
          });
        await waitUntil('playback to start', async () => ((await level()) !== null ? true : null), 30_000);
        const throttle = (kbps: number) =>
          cdp.send('Network.emulateNetworkConditions', {
            offline: false,
            latency: 20,
            downloadThroughput: (kbps * 1000) / 8,
            uploadThroughput: (kbps * 1000) / 8,
          });
        await throttle(1200);
        await waitUntil(
          'hls.js to settle on the 360p rung',
          async () => ((await level()) === 360 ? true : null),
          45_000,
        );
        await throttle(50_000);
        await waitUntil(
          'hls.js to climb back to the source',
          async () => ((await level()) === 480 ? true : null),
          45_000,
        );
        const fatal = await page.evaluate(
          () =>
            (
              window as unknown as { __player: { stats: { errors: { fatal: boolean }[] } } }
            ).__player.stats.errors.filter((e) => e.fatal).length,
        );
        expect(fatal).toBe(0);
      } finally {
        await browser.close();
      }
    }, 120_000);

    it('plays in Shaka Player from the multivariant URL, a second, independent player', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        // The Worker's origin (any page of it), so Shaka's requests are same-origin like a site's own player.
        await page.goto(`${stackInfo().workerUrl}/v1/openapi.json`);
        await page.setContent('<video muted autoplay playsinline></video>');
        await page.addScriptTag({ path: SHAKA });
        const errors = await page.evaluate(async (url) => {
          const w = window as unknown as {
            shaka: {
              polyfill: { installAll(): void };
              Player: new () => {
                attach(v: HTMLMediaElement): Promise<void>;
                configure(c: object): void;
                load(u: string): Promise<void>;
                addEventListener(t: string, f: (e: { detail: { code: number } }) => void): void;
              };
            };
            __shakaErrors: number[];
          };
          w.shaka.polyfill.installAll();
          const player = new w.shaka.Player();
          w.__shakaErrors = [];
          player.addEventListener('error', (e) => w.__shakaErrors.push(e.detail.code));
          await player.attach(document.querySelector('video') as HTMLVideoElement);
          player.configure({ streaming: { lowLatencyMode: true } });
          await player.load(url);
          return w.__shakaErrors;
        }, stream.playback.hls);
        expect(errors).toEqual([]);
        const t0 = await waitUntil(
          'Shaka to play',
          () =>
            page.evaluate(() => ((document.querySelector('video')?.currentTime ?? 0) > 0.5 ? true : null)),
          30_000,
        );
        expect(t0).toBe(true);
        const before = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
        await page.waitForTimeout(6000);
        const after = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
        // Real time is 6 s; the margin is for a tune-in stall on two cores shared with encoders and workerd.
        expect(after - before).toBeGreaterThan(4);
        expect(
          await page.evaluate(() => (window as unknown as { __shakaErrors: number[] }).__shakaErrors),
        ).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 90_000);

    it('keeps the source playing when the ladder ffmpeg dies, the rung gaps and then comes back', async () => {
      // The ladder's ffmpeg, killed as the OOM killer would (only it runs a split filter graph).
      await run('pkill', ['-KILL', '-f', 'filter_complex \\[0:v\\]split']);
      const gapped = await waitUntil(
        'the rung to show a gap',
        async () => {
          const text = await (await fetch(mediaUrl(stream, '360p'))).text();
          return text.includes('GAP=YES') || text.includes('#EXT-X-GAP') ? text : null;
        },
        10_000,
      );
      expect(gapped).toBeTruthy();
      const source = await fetchPlaylist(mediaUrl(stream, 'source'));
      expect(source.text).not.toContain('GAP');
      await waitUntil(
        'the rung to come back after its gap',
        async () => {
          const text = await (await fetch(mediaUrl(stream, '360p'))).text();
          const lines = text.split('\n').filter((l) => l.startsWith('#EXT-X-PART:'));
          const lastGap = lines.findLastIndex((l) => l.includes('GAP=YES'));
          return lastGap >= 0 && lines.slice(lastGap + 1).some((l) => l.includes('INDEPENDENT=YES'))
            ? true
            : null;
        },
        20_000,
      );
      const [s, r] = await Promise.all(RENDITIONS.map((x) => fetchPlaylist(mediaUrl(stream, x))));
      if (s && r) expectAligned(s, r);
    }, 60_000);
  });
}

describe('the standard ladder of a 720p source', () => {
  let stream: CreatedStream;
  let encoder: Encoder;

  beforeAll(async () => {
    const file = await ladderSource(720);
    stream = await createStream({ name: 'e2e ladder 720p', ladder: 'standard', reconnectWindow: 3 });
    encoder = publishFile(file, stream.ingest.rtmp, 'flv', 60);
    await waitUntil(
      'three renditions with two segments each',
      async () => {
        for (const r of ['source', '480p', '360p']) {
          const res = await fetch(mediaUrl(stream, r));
          if (((res.ok ? await res.text() : '').match(/#EXTINF:/g) ?? []).length < 2) return null;
        }
        return true;
      },
      45_000,
    );
  }, 120_000);

  afterAll(async () => {
    await encoder?.kill();
  });

  it('gets the 480p and 360p rungs beside the source, in step, each decodable', async () => {
    const master = await fetchPlaylist(stream.playback.hls);
    const sizes = (master.manifest.playlists ?? []).map(
      (v) => `${v.attributes.RESOLUTION?.width}x${v.attributes.RESOLUTION?.height}`,
    );
    expect(sizes.sort()).toEqual(['1280x720', '640x360', '854x480']);
    const [source, r480, r360] = await Promise.all(
      ['source', '480p', '360p'].map((r) => fetchPlaylist(mediaUrl(stream, r))),
    );
    if (!source || !r480 || !r360) throw new Error('no playlists');
    expect(expectAligned(source, r480)).toBeGreaterThanOrEqual(1);
    expect(expectAligned(source, r360)).toBeGreaterThanOrEqual(1);
    for (const r of ['480p', '360p']) {
      const res = await decodeHls(mediaUrl(stream, r), 3);
      expect(res.stderr.trim(), r).toBe('');
    }
  }, 60_000);
});

describe('the ladder through a failover', () => {
  const encoders: Encoder[] = [];

  afterAll(async () => {
    await Promise.all(encoders.map((e) => e.kill()));
  });

  it('keeps every rendition on the same msn, PDT and discontinuity after the backup takes over', async () => {
    const file = await ladderSource(480);
    const stream = (await createStream({
      name: 'e2e ladder failover',
      ladder: 'standard',
      reconnectWindow: 10,
    })) as CreatedStream & {
      ingest: { backup?: { rtmp: string } };
    };
    const primary = publishFile(file, stream.ingest.rtmp, 'flv', 90);
    encoders.push(primary);
    await waitUntil(
      'both renditions to hold three segments',
      async () => {
        for (const r of RENDITIONS) {
          const res = await fetch(mediaUrl(stream, r));
          if (((res.ok ? await res.text() : '').match(/#EXTINF:/g) ?? []).length < 3) return null;
        }
        return true;
      },
      40_000,
    );
    // The backup joins once the primary is published, as a standby with a ladder of its own.
    encoders.push(publishFile(file, stream.ingest.backup?.rtmp as string, 'flv', 90));
    await waitUntil(
      'the primary active, the backup standby',
      async () => {
        const h = (
          await api<{ inputs: { role: string; state: string }[] }>(`/v1/streams/${stream.id}/health`)
        ).body;
        const states = h.inputs.map((i) => `${i.role}:${i.state}`).sort();
        return states.join() === 'backup:standby,primary:active' ? true : null;
      },
      30_000,
    );
    await primary.kill('SIGKILL');
    const after = await waitUntil(
      'two segments after the discontinuity in both renditions',
      async () => {
        const lists = await Promise.all(RENDITIONS.map((r) => fetchPlaylist(mediaUrl(stream, r))));
        const ok = lists.every((p) => {
          const segs = p.manifest.segments ?? [];
          const d = segs.findIndex((s) => s.discontinuity);
          return d >= 0 && segs.length - d >= 2;
        });
        return ok ? lists : null;
      },
      30_000,
    );
    const [source, rung] = after;
    if (!source || !rung) throw new Error('no playlists');
    expect(expectAligned(source, rung)).toBeGreaterThanOrEqual(3);
  }, 120_000);
});

describe('the ladder through a reconnect to a relay with no CPU for it', () => {
  const encoders: Encoder[] = [];
  let venue: Awaited<ReturnType<typeof startExtraRelay>> | undefined;

  afterAll(async () => {
    await Promise.all(encoders.map((e) => e.kill()));
    await venue?.stop();
  });

  it('keeps the rung playlist moving as gaps, in step with the source, and lists the source alone', async () => {
    const file = await ladderSource(480);
    const stream = await createStream({
      name: 'e2e ladder refused',
      ladder: 'standard',
      reconnectWindow: 15,
    });
    // A relay that admits no ladder (LADDER_MAX_INPUTS=0): what a full box answers.
    venue = await startExtraRelay(stackInfo().workerUrl, 'no-ladder-relay', { LADDER_MAX_INPUTS: '0' });
    const first = publishFile(file, stream.ingest.rtmp, 'flv', 90);
    encoders.push(first);
    await waitUntil(
      'the rung to hold two segments',
      async () => {
        const res = await fetch(mediaUrl(stream, '360p'));
        return ((res.ok ? await res.text() : '').match(/#EXTINF:/g) ?? []).length >= 2 ? true : null;
      },
      40_000,
    );
    await first.kill('SIGKILL');
    const key = stream.ingest.rtmp.split('/').pop() as string;
    encoders.push(publishFile(file, `${venue.rtmpBase}/${key}`, 'flv', 90));
    // The reconnect has no ladder; players that loaded the rung's playlist keep reloading it.
    const [source, rung] = await waitUntil(
      'three segments after the reconnect in both renditions',
      async () => {
        const lists = await Promise.all(RENDITIONS.map((r) => fetchPlaylist(mediaUrl(stream, r))));
        const ok = lists.every((p) => {
          const segs = p.manifest.segments ?? [];
          const d = segs.findIndex((s) => s.discontinuity);
          return d >= 0 && segs.length - d >= 3;
        });
        return ok ? lists : null;
      },
      40_000,
    );
    if (!source || !rung) throw new Error('no playlists');
    expect(expectAligned(source, rung)).toBeGreaterThanOrEqual(4);
    const gapSegments =
      rung.text
        .split('#EXT-X-DISCONTINUITY\n')
        .at(-1)
        ?.match(/#EXT-X-GAP\n/g) ?? [];
    expect(gapSegments.length).toBeGreaterThanOrEqual(3);
    expect(rung.text).not.toContain('#EXT-X-PRELOAD-HINT');
    const master = parsePlaylist(await (await fetch(stream.playback.hls)).text()).manifest;
    expect(master.playlists?.map((p) => p.uri.split('/')[0])).toEqual(['source']);
    const h = (await api<{ ladder: { state: string } | null }>(`/v1/streams/${stream.id}/health`)).body;
    expect(h.ladder?.state).toBe('no-capacity');
  }, 150_000);
});
