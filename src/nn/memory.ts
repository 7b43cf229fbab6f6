/**
 * The memory every tensor of a network lives in: one shared WebAssembly.Memory per thread, so the
 * WebAssembly kernels address parameters, activations and gradients by byte offset with no copies.
 * A shared memory is reserved up to its maximum when created, so growing it never moves it: a
 * Float32Array handed out before a grow stays valid after it.
 *
 * Allocation is a bump pointer. Parameters, gradients and optimizer state are allocated once, when the
 * model is built; a training step or an inference takes `mark()` first and `release(mark)` after, so
 * its activations reuse the same bytes every step (no allocation in the hot loop). `f32` zeroes what it
 * hands out; `f32u` does not, for outputs that are written in full before they are read.
 */
import { KilnError } from '../core/errors.js';
import { WA, type WasmMemory } from '../core/wasm-asm.js';

const PAGE = 65536;
/** Each tensor starts on a 64-byte boundary (a cache line; SIMD loads stay aligned). */
const ALIGN = 64;
/** 2 GiB of addresses per thread: far more than kiln's sequence models need, and safe for i32 offsets. */
const MAX_PAGES = 32768;

export class Arena {
  readonly memory: WasmMemory | null;
  private buffer: ArrayBufferLike;
  private top = ALIGN;
  private peak = 0;
  /** Nothing below it can be released: buffers that live as long as the arena (kernel scratch). */
  private floor = ALIGN;

  /** `bytes` sizes the first reservation; more is grown on demand. `wasm: false` uses plain memory (the JS kernels). */
  constructor(bytes = 1 << 20, wasm = true) {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    let memory: WasmMemory | null = null;
    if (wasm && WA) {
      try {
        memory = new WA.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
      } catch {
        memory = null;
      }
    }
    this.memory = memory;
    this.buffer = memory ? memory.buffer : new ArrayBuffer(pages * PAGE);
  }

  /** A zeroed Float32Array of `n` values. */
  f32(n: number): Float32Array {
    const bytes = Math.ceil((n * 4) / ALIGN) * ALIGN;
    const at = this.reserve(bytes);
    const out = new Float32Array(this.buffer, at, n);
    out.fill(0);
    return out;
  }

  /**
   * A Float32Array of `n` values NOT zeroed: it holds whatever the bytes held (an earlier step's
   * tensors). Only for outputs the caller overwrites entirely before reading (a gemm with beta 0, a
   * bias copied into every row, an elementwise kernel's output).
   */
  f32u(n: number): Float32Array {
    const bytes = Math.ceil((n * 4) / ALIGN) * ALIGN;
    const at = this.reserve(bytes);
    return new Float32Array(this.buffer, at, n);
  }

  /** A zeroed Int32Array of `n` values (token ids, lengths). */
  i32(n: number): Int32Array {
    const bytes = Math.ceil((n * 4) / ALIGN) * ALIGN;
    const at = this.reserve(bytes);
    const out = new Int32Array(this.buffer, at, n);
    out.fill(0);
    return out;
  }

  /** A zeroed Float32Array of `n` values that lives as long as the arena: no `release` can free it (one taken after a `mark` makes releasing to that mark an error). */
  pinnedF32(n: number): Float32Array {
    const out = this.f32(n);
    this.floor = this.top;
    return out;
  }

  /** The current top, to `release` back to when a step's temporaries are no longer needed. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark > this.top || mark < ALIGN) throw new KilnError('INVALID_ARGUMENT', `arena release to ${mark} past the top ${this.top}`);
    if (mark < this.floor) throw new KilnError('INVALID_ARGUMENT', `arena release to ${mark} would free pinned memory (up to ${this.floor}); take kernels before marking`);
    this.top = mark;
  }

  /** The most bytes in use at once so far. */
  get peakBytes(): number {
    return this.peak;
  }

  private reserve(bytes: number): number {
    const at = this.top;
    const need = at + bytes;
    if (need > this.buffer.byteLength) this.grow(need);
    this.top = need;
    if (need > this.peak) this.peak = need;
    return at;
  }

  private grow(need: number): void {
    const have = this.buffer.byteLength;
    const want = Math.max(need, have * 2);
    if (this.memory) {
      if (want > MAX_PAGES * PAGE) throw new KilnError('INVALID_ARGUMENT', `a network needs more than ${MAX_PAGES * PAGE} bytes of working memory; use smaller batches or sequences`);
      this.memory.grow(Math.ceil((want - have) / PAGE));
      this.buffer = this.memory.buffer;
      return;
    }
    // Plain memory cannot grow in place: only reachable with wasm disabled, where callers size the arena up front.
    throw new KilnError('INVALID_ARGUMENT', `the arena (no WebAssembly) is full at ${have} bytes; size it for the model and batch`);
  }
}
