/**
 * Appends decisions to a log under load and prints `<id> <ack ms>` for each acknowledged one, for the
 * crash tests in decisions-crash.test.ts. argv: dir durability flushMs appenders. On SIGTERM it closes
 * the log (flushing it) and exits 0.
 */
import { openDecisionLog } from '../../src/serve/decisions/index.js';
import { decisionRecord } from './decision-records.js';

const [dir, durability, flushMs, appenders] = process.argv.slice(2) as [string, 'durable' | 'buffered', string, string];
const log = await openDecisionLog(dir.startsWith('{') ? JSON.parse(dir) : dir, { durability, flushMs: Number(flushMs), segmentBytes: 256 * 1024 });
let stop = false;
let n = 0;
process.on('SIGTERM', () => {
  stop = true;
  void log.close().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
});
process.stderr.write('ready\n');
async function appender(): Promise<void> {
  while (!stop) {
    const rec = decisionRecord(n++);
    try {
      await log.append([rec]);
    } catch (e) {
      if (stop) return; // closed by SIGTERM
      throw e;
    }
    if (stop) return;
    process.stdout.write(`${rec.id} ${Date.now()}\n`);
    // buffered appends resolve at once: let the timer and I/O run between them
    if (durability === 'buffered') await new Promise((r) => setImmediate(r));
  }
}
await Promise.all(Array.from({ length: Number(appenders) }, appender));
