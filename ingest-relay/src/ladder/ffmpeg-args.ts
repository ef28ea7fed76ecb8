/**
 * The one ffmpeg command line of a ladder (issue 12): MPEG-TS of the source's video on stdin, decoded once,
 * split and scaled per rung, each rung encoded by libx264 and written as MPEG-TS to its own pipe (fd 3, 4, ...).
 *
 * - `-copyts`, `-fps_mode passthrough`, `-enc_time_base 1:90000`, `-muxdelay 0 -muxpreload 0`: every output
 *   frame keeps its input's timestamp exactly, one for one (the rung cutter places frames by timestamp).
 * - `-force_key_frames source`: a keyframe exactly where the source has one (works in Debian's ffmpeg 5.1), and
 *   none elsewhere: `-g` far above any GOP, `-sc_threshold 0`, closed GOPs. Segments and INDEPENDENT parts then
 *   line up across renditions.
 * - `-tune zerolatency`, `-bf 0`: no lookahead, no frame reordering, so a frame leaves x264 as it goes in.
 * - CBR-like VBV: `-maxrate` = `-b:v`, a one-second `-bufsize`. Captions in the source's SEI (A/53) go through:
 *   the decoder exports them and libx264 writes them (`-a53cc 1`, its default, said here).
 * - Output: `-flush_packets 1` and `-omit_video_pes_length 0`, so each frame's PES is written at once and
 *   bounded, and the relay's demuxer hands it on without waiting for the next one.
 */
import type { ResolvedRung } from '../../../src/contract/ladder.ts';

export interface LadderArgsOptions {
  /** x264 preset (default `veryfast`: the cost a 2-core box can carry for a 720p ladder). */
  preset?: string;
  /** The source's frames per second: a rung capped below it keeps every k-th frame. */
  sourceFrameRate?: number;
}

export function ffmpegLadderArgs(rungs: readonly ResolvedRung[], options: LadderArgsOptions = {}): string[] {
  if (rungs.length === 0) throw new Error('a ladder needs at least one rung');
  const preset = options.preset ?? 'veryfast';
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'warning',
    '-nostdin',
    // Start on the first keyframe's SPS: no seconds of probing before the first frame.
    '-probesize',
    '32768',
    '-analyzeduration',
    '0',
    '-f',
    'mpegts',
    '-i',
    'pipe:0',
    '-copyts',
    '-filter_complex',
    filterGraph(rungs, options.sourceFrameRate),
    ...rungs.flatMap((rung, i) => rungOutput(rung, i, preset)),
  ];
}

/**
 * `[0:v]split=N[s0][s1]...;[s0]scale=W:H[v0];...`. A rung capped below the source's frame rate keeps every
 * k-th frame and every keyframe (`select`), never an `fps` filter: that one puts frames on its own time grid,
 * and an RTMP source's millisecond timestamps would then miss the source's keyframes.
 */
export function filterGraph(rungs: readonly ResolvedRung[], sourceFrameRate?: number): string {
  const splits = rungs.map((_, i) => `[s${i}]`).join('');
  const chains = rungs.map((r, i) => {
    const every = sourceFrameRate !== undefined ? Math.round(sourceFrameRate / r.frameRate) : 1;
    const select = every > 1 ? `select='key+not(mod(n,${every}))',` : '';
    return `[s${i}]${select}scale=${r.width}:${r.height}:flags=bilinear[v${i}]`;
  });
  return [`[0:v]split=${rungs.length}${splits}`, ...chains].join(';');
}

function rungOutput(rung: ResolvedRung, i: number, preset: string): string[] {
  const rate = String(rung.videoBitrate);
  return [
    '-map',
    `[v${i}]`,
    '-an',
    '-sn',
    '-dn',
    '-c:v',
    'libx264',
    '-preset',
    preset,
    '-tune',
    'zerolatency',
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    '-bf',
    '0',
    '-b:v',
    rate,
    '-maxrate',
    rate,
    '-bufsize',
    rate,
    '-g',
    '100000',
    '-sc_threshold',
    '0',
    '-x264-params',
    'open-gop=0:scenecut=0',
    '-force_key_frames',
    'source',
    '-a53cc',
    '1',
    '-fps_mode',
    'passthrough',
    // libx264's own time base is 1/frame rate: an RTMP source's millisecond timestamps (33, 67, 100 ms) would
    // come out rounded onto that grid, and no rung frame would sit where the source's does.
    '-enc_time_base',
    '1:90000',
    '-flush_packets',
    '1',
    '-muxdelay',
    '0',
    '-muxpreload',
    '0',
    '-omit_video_pes_length',
    '0',
    '-f',
    'mpegts',
    `pipe:${3 + i}`,
  ];
}
