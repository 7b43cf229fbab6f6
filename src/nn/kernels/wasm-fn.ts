/**
 * A small helper for writing WebAssembly function bodies by hand: named parameters and locals (so a
 * body reads `g('p')` rather than `get(7)`), and the few loop shapes the kernels use. Everything
 * returns plain byte arrays for `moduleBytes` (core/wasm-asm.ts).
 */
import { BLOCK, br, brIf, END, EQZ, F32, get, I32, LOOP, set, tee, V128 } from '../../core/wasm-asm.js';

export class Fn {
  private readonly index = new Map<string, number>();
  private readonly groups: [number, number][] = [];
  private next: number;

  constructor(params: readonly string[]) {
    params.forEach((p, i) => this.index.set(p, i));
    this.next = params.length;
  }

  /** Declares i32 locals. */
  i32(...names: string[]): this {
    return this.declare(I32, names);
  }

  /** Declares f32 locals. */
  f32(...names: string[]): this {
    return this.declare(F32, names);
  }

  /** Declares v128 locals. */
  v128(...names: string[]): this {
    return this.declare(V128, names);
  }

  g(name: string): number[] {
    return get(this.at(name));
  }

  s(name: string): number[] {
    return set(this.at(name));
  }

  t(name: string): number[] {
    return tee(this.at(name));
  }

  /** The body for moduleBytes. */
  done(body: number[]): { locals: [number, number][]; body: number[] } {
    return { locals: this.groups, body };
  }

  private declare(type: number, names: string[]): this {
    for (const n of names) {
      if (this.index.has(n)) throw new Error(`local ${n} declared twice`);
      this.index.set(n, this.next++);
    }
    if (names.length > 0) this.groups.push([names.length, type]);
    return this;
  }

  private at(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no local ${name}`);
    return i;
  }
}

/** `while (cond) body`: cond leaves an i32 on the stack. Inside body, br(1) continues and br(2) breaks. */
export const whileLoop = (cond: number[], body: number[]): number[] => [
  ...BLOCK, ...LOOP, ...cond, EQZ, ...brIf(1), ...body, ...br(0), END, END,
];

/** `do body while (cond)`: body runs at least once. */
export const doWhile = (body: number[], cond: number[]): number[] => [...LOOP, ...body, ...cond, ...brIf(0), END];
