/**
 * One ladder ffmpeg process: MPEG-TS on stdin, one MPEG-TS pipe per rung (fd 3, 4, ...) demuxed by the relay's
 * own TS demuxer, stderr kept (its last lines) for the reason when it exits. I/O only; what the frames mean is
 * the ladder's business.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { TsDemuxer } from '../demux/mpegts/demuxer.ts';
import type { DemuxEvent } from '../media/access-unit.ts';

export interface TranscoderOptions {
  /** The ffmpeg binary (default `ffmpeg` on the PATH; `FFMPEG_PATH` in the relay's environment). */
  ffmpegPath: string;
  args: readonly string[];
  rungCount: number;
  /** Demux events of rung `index`'s output, in order. */
  onEvents: (index: number, events: DemuxEvent[]) => void;
  /** The process is gone: `reason` says how (a spawn error, an exit code or signal, with stderr's last line). */
  onExit: (reason: string) => void;
}

/** stderr kept for the exit reason, bytes. */
const STDERR_TAIL = 2048;

export class Transcoder {
  readonly #child: ChildProcess;
  readonly #stdin: Writable;
  #stderr = '';
  #exited = false;

  constructor(o: TranscoderOptions) {
    const stdio: ('pipe' | 'ignore')[] = [
      'pipe',
      'ignore',
      'pipe',
      ...Array<'pipe'>(o.rungCount).fill('pipe'),
    ];
    this.#child = spawn(o.ffmpegPath, o.args, { stdio });
    this.#stdin = this.#child.stdin as Writable;
    // A write after ffmpeg died is EPIPE on stdin: the exit handler reports it, this must not throw.
    this.#stdin.on('error', () => {});
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    for (let i = 0; i < o.rungCount; i++) {
      const demuxer = new TsDemuxer();
      const out = this.#child.stdio[3 + i] as Readable;
      out.on('data', (chunk: Buffer) => {
        const events = demuxer.push(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          Date.now(),
        );
        if (events.length > 0) o.onEvents(i, events);
      });
      out.on('end', () => {
        const events = demuxer.flush();
        if (events.length > 0) o.onEvents(i, events);
      });
      out.on('error', () => {});
    }
    this.#child.on('error', (err) => this.#exit(o, `ffmpeg could not start: ${err.message}`));
    this.#child.on('close', (code, signal) => {
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const last = this.#stderr.trim().split('\n').at(-1);
      this.#exit(o, last ? `ffmpeg ${how}: ${last.slice(0, 300)}` : `ffmpeg ${how}`);
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Bytes written to stdin that ffmpeg has not read yet: how far it is behind its input. */
  get backlogBytes(): number {
    return this.#stdin.writableLength;
  }

  write(bytes: Uint8Array): void {
    if (!this.#exited && this.#stdin.writable) this.#stdin.write(bytes);
  }

  /** End of input: ffmpeg encodes what it has, writes it out and exits. */
  end(): void {
    if (!this.#exited) this.#stdin.end();
  }

  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }

  #exit(o: TranscoderOptions, reason: string): void {
    if (this.#exited) return;
    this.#exited = true;
    o.onExit(reason);
  }
}
