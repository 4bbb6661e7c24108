/**
 * Reusable buffers for request bodies. A fresh buffer per request is a fresh ArrayBuffer, whose
 * memory is external to V8's heap: a 600 KB image body at 150 req/s set off a mark-compact about
 * every 130 ms (BENCHMARKS.md, "What limits each target"), and even a 400-byte body of the tiny
 * MLP costs a few microseconds more per request than a reused one (allocation, the ArrayBuffer's
 * bookkeeping in V8 and its sweep, and onnxruntime reading a buffer it has not seen). Bodies are
 * only borrowed while one request is decoded, run and answered; after that nothing refers to them
 * (inputs are copied into the batch or sent to the model worker when the run starts, and the
 * answer is encoded into its own buffer), so the fast path gives them back here.
 */

/** The smallest size class: every body is taken in a class of at least this many bytes. */
export const MIN_POOLED_BYTES = 512;

export interface BodyPoolOptions {
  /** Most bytes kept idle across all sizes; past it, returned buffers are left to the GC. */
  readonly maxIdleBytes: number;
}

/**
 * Buffers in power-of-two size classes from MIN_POOLED_BYTES up, each class a stack (the buffer
 * used last is the one most likely still in cache).
 *
 * @example
 * const pool = new BodyPool({ maxIdleBytes: 64 << 20 });
 * const buffer = pool.take(600_000); // at least 600,000 bytes
 * pool.give(buffer);
 */
export class BodyPool {
  private readonly idle = new Map<number, Buffer[]>();
  private idleBytes = 0;

  constructor(private readonly options: BodyPoolOptions) {}

  /** A buffer of at least `bytes`; its length is its whole capacity, a power of two. */
  take(bytes: number): Buffer {
    const capacity = classOf(Math.max(bytes, MIN_POOLED_BYTES));
    const buffer = this.idle.get(capacity)?.pop();
    if (buffer === undefined) return Buffer.allocUnsafeSlow(capacity);
    this.idleBytes -= capacity;
    return buffer;
  }

  /**
   * Returns a buffer from take() once nothing refers to it any more. Other buffers (views, or
   * sizes take() does not make) are ignored.
   */
  give(buffer: Buffer): void {
    const capacity = buffer.buffer.byteLength;
    if (capacity < MIN_POOLED_BYTES || capacity !== classOf(capacity) || buffer.byteOffset !== 0) return;
    if (buffer.byteLength !== capacity) return;
    if (this.idleBytes + capacity > this.options.maxIdleBytes) return;
    let stack = this.idle.get(capacity);
    if (stack === undefined) {
      stack = [];
      this.idle.set(capacity, stack);
    }
    stack.push(buffer);
    this.idleBytes += capacity;
  }

  /** Bytes held idle, for tests and metrics. */
  get retainedBytes(): number {
    return this.idleBytes;
  }
}

/** The smallest power of two >= bytes (bytes >= MIN_POOLED_BYTES). */
function classOf(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}
