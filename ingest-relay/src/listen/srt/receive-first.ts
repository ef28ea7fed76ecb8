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
 */

/** Datagrams libuv reads from one UDP socket per loop turn (libuv src/unix/udp.c, `count = 32`). */
export const UV_UDP_READS_PER_TURN = 32;
/** At most this many extra turns (≈ 32 datagrams each) before a tick runs regardless. */
const MAX_DEFERRED_TURNS = 64;

export class ReceiveFirstTicker {
  readonly #intervalMs: number;
  #tick: () => void = () => undefined;
  #readThisTurn = 0;
  #wanted = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  /** Ticks that waited for at least one more read turn. */
  deferred = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  start(tick: () => void): void {
    this.stop();
    this.#tick = tick;
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
    if (this.#wanted) return; // a tick is already waiting for the reads
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
