/**
 * Runs the SRT listener's periodic tick only after the socket has been read (issue 10, item 5).
 *
 * A Node timer fires in the event loop's timers phase, before the poll phase reads the socket. After the
 * process was starved (on a busy box: measured stalls of 200–400 ms with almost no CPU of its own), a tick
 * straight from the timer judged packets too late while their retransmissions sat in the kernel buffer.
 * So the timer only asks for a tick, and the tick runs in the check phase (`setImmediate`), after a poll.
 * libuv reads at most 32 datagrams per socket in one poll (`uv__udp_recvmsg`), so while a turn read that
 * many there may be more queued: the tick waits for another turn, a bounded number of times, so a flood
 * cannot hold the timers off for ever.
 *
 * It also bounds how long a datagram just read may have waited in the kernel (`stalledUs`): the timer fires
 * every interval while the loop runs, so a longer silence since its last firing was a stall. The receiver
 * takes that off its RTT samples (receiver.ts `onAckAck`).
 */

/** Datagrams libuv reads from one UDP socket per loop turn (libuv src/unix/udp.c, `count = 32`). */
export const UV_UDP_READS_PER_TURN = 32;
/** At most this many extra turns (≈ 32 datagrams each) before a tick runs regardless. */
const MAX_DEFERRED_TURNS = 64;

export class ReceiveFirstTicker {
  readonly #intervalMs: number;
  readonly #clockUs: () => number;
  #lastFireUs: number;
  /** How late the timer fired whose tick still waits for reads, µs. */
  #lateFireUs = 0;
  #tick: () => void = () => undefined;
  #readThisTurn = 0;
  #wanted = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  /** Ticks that waited for at least one more read turn. */
  deferred = 0;

  /** `clockUs`: the caller's monotonic clock, µs. */
  constructor(intervalMs: number, clockUs: () => number) {
    this.#intervalMs = intervalMs;
    this.#clockUs = clockUs;
    this.#lastFireUs = clockUs();
  }

  /** How long the loop may have been stalled before now, µs: 0 while the timer keeps its interval. */
  stalledUs(): number {
    const silence = this.#clockUs() - this.#lastFireUs - 2 * this.#intervalMs * 1000;
    // A stall may end in the timers phase (the loop was busy) or in the poll (it was descheduled in epoll):
    // either way the reads that follow, up to the tick, may have waited that long.
    return Math.max(0, silence, this.#wanted ? this.#lateFireUs : 0);
  }

  start(tick: () => void): void {
    this.stop();
    this.#tick = tick;
    this.#lastFireUs = this.#clockUs();
    this.#timer = setInterval(() => this.#request(), this.#intervalMs);
  }

  /** Call once per datagram read. */
  noteRead(): void {
    this.#readThisTurn++;
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#wanted = false;
  }

  #request(): void {
    const now = this.#clockUs();
    const late = now - this.#lastFireUs - 2 * this.#intervalMs * 1000;
    this.#lastFireUs = now;
    if (this.#wanted) return; // a tick is already waiting for the reads
    this.#lateFireUs = Math.max(0, late);
    this.#wanted = true;
    this.#readThisTurn = 0;
    this.#immediate = setImmediate(() => this.#afterPoll(0));
  }

  #afterPoll(turns: number): void {
    if (this.#readThisTurn >= UV_UDP_READS_PER_TURN && turns < MAX_DEFERRED_TURNS) {
      if (turns === 0) this.deferred++;
      this.#readThisTurn = 0;
      this.#immediate = setImmediate(() => this.#afterPoll(turns + 1));
      return;
    }
    this.#wanted = false;
    this.#immediate = undefined;
    this.#tick();
  }
}
