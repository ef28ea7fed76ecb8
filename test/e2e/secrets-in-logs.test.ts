// Secrets never reach a log line: publish with known stream keys and passphrases over RTMP, RTMPS and SRT,
// with good and bad keys and a wrong passphrase, then search every line the Worker and the relay wrote for
// each secret (issue 10, item 3). The stack's log is read through the e2e control endpoint.
import { describe, expect, it } from 'vitest';
import { createStream, publish, stackInfo, waitUntil } from '../support/e2e.ts';

const passphrase = 'known-passphrase-for-log-test';
/** Well-formed keys that no stream has: refused by the Worker, and as secret as a real key to whoever sent them. */
const badKey = 'sk_BadKeyNobodyHas0123456789abcdef';
const wrongPassphrase = 'wrong-passphrase-for-log-test';

async function stackLog(): Promise<string> {
  const res = await fetch(`${stackInfo().controlUrl}/log`);
  return res.text();
}

/** ffmpeg for `seconds` of test pattern to `url`; resolves when it exits (a refusal exits early). */
async function publishFor(url: string, format: 'flv' | 'mpegts', seconds: number) {
  const encoder = publish(url, format, { seconds, size: '320x180', videoBitrate: '300k' });
  const timer = setTimeout(() => encoder.process.kill('SIGKILL'), (seconds + 15) * 1000);
  const code = await encoder.exited;
  clearTimeout(timer);
  return { code, stderr: encoder.stderr };
}

describe('secrets in logs', () => {
  it('no stream key, passphrase or token appears in any Worker or relay log line', async () => {
    const stream = await createStream({ name: 'e2e secrets', srtPassphrase: passphrase });
    const { streamKey } = stream;
    const info = stackInfo();
    const srt = (key: string, pass: string) =>
      `${info.srtUrl.split('?')[0]}?streamid=${key}&passphrase=${pass}&pbkeylen=16&latency=200000`;

    // Good keys: each protocol publishes, one after the other (one live input per stream at a time).
    const rtmp = await publishFor(stream.ingest.rtmp, 'flv', 2);
    expect(rtmp.code, rtmp.stderr).toBe(0);
    if (stream.ingest.rtmps) {
      const rtmps = await publishFor(stream.ingest.rtmps, 'flv', 2);
      expect(rtmps.code, rtmps.stderr).toBe(0);
    }
    const good = await publishFor(srt(streamKey, passphrase), 'mpegts', 2);
    expect(good.code, good.stderr).toBe(0);

    // Bad keys and a wrong passphrase: refused, with reasons logged.
    const rtmpBase = stream.ingest.rtmp.slice(0, stream.ingest.rtmp.lastIndexOf('/'));
    expect((await publishFor(`${rtmpBase}/${badKey}`, 'flv', 2)).code).not.toBe(0);
    if (stream.ingest.rtmps) {
      const rtmpsBase = stream.ingest.rtmps.slice(0, stream.ingest.rtmps.lastIndexOf('/'));
      expect((await publishFor(`${rtmpsBase}/${badKey}`, 'flv', 2)).code).not.toBe(0);
    }
    expect((await publishFor(srt(badKey, passphrase), 'mpegts', 2)).code).not.toBe(0);
    expect((await publishFor(srt(streamKey, wrongPassphrase), 'mpegts', 2)).code).not.toBe(0);

    // The refusals are in the log (so the search below reads the right lines), the secrets are not.
    const log = await waitUntil(
      'the refusals in the log',
      async () => {
        const text = await stackLog();
        return text.includes('wrong passphrase') && text.includes('refused') ? text : undefined;
      },
      10_000,
    );
    expect(log).toContain(stream.id);
    for (const secret of [
      streamKey,
      streamKey.slice(3), // the key's random part, in case a prefix was cut
      badKey,
      passphrase,
      wrongPassphrase,
      info.ingestToken,
      info.apiToken,
    ]) {
      const lines = log.split('\n').filter((line) => line.includes(secret));
      expect(lines, `lines carrying ${secret}`).toEqual([]);
    }
  }, 90_000);
});
