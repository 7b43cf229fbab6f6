import { expect } from 'vitest';
import { KilnError } from '../src/core/errors.js';

/** Awaits `p`, which must reject with a KilnError of `code`; returns that error. */
export async function fails(p: Promise<unknown>, code: string): Promise<KilnError> {
  try { await p; } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}`);
}

/** As `fails`, returning the error's message. */
export async function failMessage(p: Promise<unknown>, code: string): Promise<string> {
  return (await fails(p, code)).message;
}
