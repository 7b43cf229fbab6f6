/** core/time.ts: the one UTC parser (its fast path is checked against it in test/online/time.test.ts). */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { isoMicros, parseUtc } from '../../src/core/time.js';
import { parseUtcTime } from '../../src/features/training/index.js';
import { toMicros } from '../../src/features/index.js';

describe('parseUtc', () => {
  it('reads ISO 8601 in UTC, epoch ms and Dates as epoch µs', () => {
    const us = Date.UTC(2025, 0, 1, 8) * 1000;
    expect(parseUtc('2025-01-01T08:00:00Z', 'asOf')).toBe(us);
    expect(parseUtc('2025-01-01 08:00:00+00:00', 'asOf')).toBe(us);
    expect(parseUtc('2025-01-01T08:00:00.000123Z', 'asOf')).toBe(us + 123);
    expect(parseUtc(us / 1000, 'asOf')).toBe(us);
    expect(parseUtc(new Date(us / 1000), 'asOf')).toBe(us);
    expect(isoMicros(us + 123)).toBe('2025-01-01T08:00:00.000123Z');
  });

  it('refuses other offsets and non-times with a KilnError naming the field', () => {
    const offset = (() => { try { parseUtc('2025-01-01T08:00:00+02:00', '--as-of'); } catch (e) { return e; } })();
    expect(isKilnError(offset, 'INVALID_ARGUMENT')).toBe(true);
    expect((offset as Error).message).toBe("--as-of: '2025-01-01T08:00:00+02:00' has offset +02:00; kiln works in UTC: give the time in UTC (e.g. '2025-01-01T00:00:00Z')");
    expect(() => parseUtc('2025-02-30', 'asOf')).toThrow(/^asOf: '2025-02-30' is not a valid date and time$/);
    expect(() => parseUtc('soon', 'valid_from')).toThrow(/^valid_from: 'soon' is not a time; use ISO 8601 in UTC/);
  });

  it('is the parser the spine and the reference evaluator use (one parser: they agree)', () => {
    for (const text of ['2025-01-01T08:00:00Z', '2025-01-01 08:00:00', '2025-01-01', '2024-02-29T23:59:59.5Z']) {
      expect(Date.parse(parseUtcTime(text, 'as-of time')) * 1000).toBe(Math.floor(parseUtc(text, 'as-of time') / 1000) * 1000);
      expect(toMicros(text)).toBe(parseUtc(text, 'time'));
    }
    expect(() => parseUtcTime('2025-01-01T00:00:00-05:00', 'as-of time')).toThrow(/^as-of time '2025-01-01T00:00:00-05:00' has offset -05:00; kiln works in UTC/);
    expect(toMicros('2025-01-01T00:00:00-05:00')).toBeNull(); // refused, never shifted
  });
});
