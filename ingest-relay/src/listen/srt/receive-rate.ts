/**
 * The receiving rate the receiver reports in every full ACK (draft-sharabayko-srt-01 §3.2.4: packets receiving
 * rate, estimated link capacity, receiving rate in bytes) and in its stats: counted over windows of one second.
 */
const WINDOW_US = 1_000_000;

export class ReceiveRate {
  #windowStartUs: number | undefined;
  #bytes = 0;
  #packets = 0;
  /** Over the last full window. */
  bitsPerSecond = 0;
  packetsPerSecond = 0;

  /** One packet of `bytes` arrived at `nowUs`; `bytes` 0 only closes a window that has run out. */
  count(bytes: number, nowUs: number): void {
    if (this.#windowStartUs === undefined) this.#windowStartUs = nowUs;
    const elapsed = nowUs - this.#windowStartUs;
    if (elapsed >= WINDOW_US) {
      this.bitsPerSecond = Math.round((this.#bytes * 8 * 1_000_000) / elapsed);
      this.packetsPerSecond = Math.round((this.#packets * 1_000_000) / elapsed);
      this.#windowStartUs = nowUs;
      this.#bytes = 0;
      this.#packets = 0;
    }
    if (bytes > 0) {
      this.#bytes += bytes;
      this.#packets++;
    }
  }
}
