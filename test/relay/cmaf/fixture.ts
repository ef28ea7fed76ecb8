/**
 * Access units from real encoder output, made without the relay's demuxers: libx264 into MP4 (ffprobe gives
 * each sample's pts/dts/keyframe/offset), AAC into ADTS (split by the relay's ADTS parser).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ascFromAdts, parseAdtsFrames } from '../../../ingest-relay/src/codec/aac.ts';
import { annexBToAvcc, parseAvcC, parseSps, splitAvcc } from '../../../ingest-relay/src/codec/h264.ts';
import type { AccessUnit, DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { aacTrackConfig, h264TrackConfig } from '../../../ingest-relay/src/media/track-config.ts';
import { makeElementaryStreams, makeVideoMp4, type TestStreamOptions } from '../../support/ffmpeg.ts';

const run = promisify(execFile);

interface ProbePacket {
  pts_time: string;
  dts_time: string;
  flags: string;
  pos: string;
  size: string;
}

/** The avcC box payload, found in an MP4 file by its type. */
function findAvcC(mp4: Uint8Array): Uint8Array {
  for (let i = 4; i + 4 < mp4.byteLength; i++) {
    if (mp4[i] === 0x61 && mp4[i + 1] === 0x76 && mp4[i + 2] === 0x63 && mp4[i + 3] === 0x43) {
      const size = new DataView(mp4.buffer, mp4.byteOffset + i - 4).getUint32(0);
      return mp4.slice(i + 4, i - 4 + size);
    }
  }
  throw new Error('no avcC in the MP4');
}

/**
 * Demux events for `opts`, with dts/pts in ticks of `timescale` (1000 like RTMP, 90000 like MPEG-TS),
 * interleaved by dts, and `receivedAt` = `wallStart` + media time (a real-time encoder).
 */
export async function makeDemuxEvents(
  dir: string,
  opts: Partial<TestStreamOptions> & { timescale: number; wallStart?: number; audio?: boolean },
): Promise<{ events: DemuxEvent[]; avcC: Uint8Array; asc: Uint8Array }> {
  const { adts, options } = await makeElementaryStreams(dir, opts);
  const mp4Path = await makeVideoMp4(dir, opts);
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,dts_time,flags,pos,size',
    '-of', 'json', mp4Path,
  ]); // biome-ignore format: argument pairs
  const packets = (JSON.parse(stdout) as { packets: ProbePacket[] }).packets;
  const mp4 = new Uint8Array(await readFile(mp4Path));
  const avcC = findAvcC(mp4);
  const avc = parseAvcC(avcC);
  if (!avc.ok) throw new Error(avc.error);
  const sps = parseSps(avc.value.sps[0]!);
  if (!sps.ok) throw new Error(sps.error);
  const ts = opts.timescale;
  const wallStart = opts.wallStart ?? 1_700_000_000_000;
  // Raw H.264 in MP4 starts with negative dts when there are B-frames; shift so every time is >= 0.
  const shift = Math.max(0, -Math.min(...packets.map((p) => Number(p.dts_time))));
  const units: AccessUnit[] = packets.map((p) => {
    const pos = Number(p.pos);
    const nals = splitAvcc(mp4.subarray(pos, pos + Number(p.size)), avc.value.nalLengthSize);
    if (!nals.ok) throw new Error(nals.error);
    const dtsSec = Number(p.dts_time) + shift;
    return {
      kind: 'video',
      dts: Math.round(dtsSec * ts),
      pts: Math.round((Number(p.pts_time) + shift) * ts),
      keyframe: p.flags.startsWith('K'),
      data: annexBToAvcc(nals.value),
      receivedAt: wallStart + Math.round(dtsSec * 1000),
    };
  });
  const frames = parseAdtsFrames(adts).frames;
  const asc = ascFromAdts(frames[0]!.header);
  if (opts.audio !== false) {
    frames.forEach((f, i) => {
      const sec = (i * 1024) / options.audioRate + shift;
      const t = Math.round(sec * ts);
      units.push({
        kind: 'audio',
        dts: t,
        pts: t,
        keyframe: true,
        data: f.data,
        receivedAt: wallStart + Math.round(sec * 1000),
      });
    });
  }
  units.sort((a, b) => a.dts - b.dts || (a.kind === 'video' ? -1 : 1));
  const events: DemuxEvent[] = [{ type: 'config', track: h264TrackConfig(ts, avcC, sps.value) }];
  if (opts.audio !== false) {
    const facts = {
      objectType: frames[0]!.header.objectType,
      sampleRate: options.audioRate,
      channelCount: options.audioChannels,
    };
    events.push({ type: 'config', track: aacTrackConfig(ts, asc, facts) });
  }
  for (const unit of units) events.push({ type: 'unit', unit });
  return { events, avcC, asc };
}
