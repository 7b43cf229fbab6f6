import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatCount, formatDuration } from '../../src/core/progress.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY: boolean; columns: number }; text: () => string } {
  let buf = '';
  const stream = Object.assign(new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } }), { isTTY, columns: 120 });
  return { stream, text: () => buf };
}

describe('Progress', () => {
  it('redraws a bar with rate and ETA on a TTY and ends with a summary line', async () => {
    const s = sink(true);
    const p = new Progress({ label: 'load', total: 1000, unit: 'rows', stream: s.stream });
    await new Promise((r) => setTimeout(r, 120));
    p.update(250);
    p.finish();
    const out = s.text();
    expect(out).toMatch(/\rload  \[#+-+\]  25\.0%  250\/1000 rows  ETA \S+  \S+ rows\/s/);
    expect(out).toMatch(/\rload  100\.0%  1000\/1000 rows  \S+ rows\/s  in \S+s\x1b\[K\n$/);
  });

  it('prints plain lines, throttled, when not on a TTY', () => {
    const s = sink(false);
    const p = new Progress({ label: 'sim', unit: 'events', stream: s.stream, plainIntervalSeconds: 0 });
    p.update(10);
    p.update(20);
    p.finish('done');
    const lines = s.text().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^sim  10 events  \S+ events\/s$/);
    expect(lines[2]).toMatch(/^sim  20 events  \S+ events\/s  in \S+  done$/);
    expect(s.text()).not.toContain('\r');
  });

  it('prints nothing when quiet', () => {
    const s = sink(true);
    const p = new Progress({ label: 'x', total: 5, stream: s.stream, quiet: true });
    p.update(3);
    p.finish();
    expect(s.text()).toBe('');
  });

  it('formats counts and durations for people', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatCount(2_500_000)).toBe('2.50M');
    expect(formatDuration(12.34)).toBe('12.3s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(7300)).toBe('2h01m');
  });
});
