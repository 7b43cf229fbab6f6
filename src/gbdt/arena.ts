/**
 * Shared memory for the arrays the histogram kernel reads and writes (bins, gradients, row indices,
 * histogram slots): one shared WebAssembly.Memory when WebAssembly is available and the data fits in
 * 4 GiB, so the WebAssembly kernel can address it; otherwise a SharedArrayBuffer per allocation and the
 * JavaScript kernel. Allocation only grows (slots are recycled by their owner).
 */
import { histModule, sharedMemory, WASM_MAX_BYTES, WASM_PAGE, type WasmMemory, type WasmModule } from './wasm.js';

/** Where an allocation lives: a view over `buf` at byteOffset. */
export interface Region {
  buf: SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  /**
   * In the kernels' WebAssembly memory. Compare this, not `buf`: a buffer sent to a worker arrives as a
   * new SharedArrayBuffer object in each message, and memory.grow gives the memory a new buffer object.
   */
  wasm?: boolean;
}

const ALIGN = 64;

export class Arena {
  readonly memory: WasmMemory | null;
  readonly module: WasmModule | null;
  private top = 0;

  /** `expectedBytes` sizes the initial memory; more is grown on demand. */
  constructor(expectedBytes: number, allowWasm = true) {
    const module = allowWasm ? histModule() : null;
    const memory = module && expectedBytes < WASM_MAX_BYTES / 2 ? sharedMemory(Math.ceil((expectedBytes + ALIGN) / WASM_PAGE), WASM_MAX_BYTES / WASM_PAGE) : null;
    this.memory = memory;
    this.module = memory ? module : null;
  }

  alloc(bytes: number): Region {
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    const mem = this.memory;
    if (!mem) return { buf: new SharedArrayBuffer(size), byteOffset: 0, byteLength: bytes };
    const need = this.top + size;
    if (need > mem.buffer.byteLength) {
      if (need > WASM_MAX_BYTES) throw new RangeError(`GBDT working memory would exceed ${WASM_MAX_BYTES} bytes`);
      mem.grow(Math.ceil((need - mem.buffer.byteLength) / WASM_PAGE));
    }
    const r = { buf: mem.buffer as unknown as SharedArrayBuffer, byteOffset: this.top, byteLength: bytes, wasm: true };
    this.top = need;
    return r;
  }
}
