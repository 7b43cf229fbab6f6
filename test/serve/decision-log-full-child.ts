/**
 * Appends durable decisions until the file size limit (`ulimit -f`, set by the parent) makes writes
 * fail mid-pipeline, for decisions-crash.test.ts. Prints `ok <id>` per acknowledged append and
 * `fail <code> <message>` per refused one; argv: dir appends appenders.
 */
import { openDecisionLog } from '../../src/serve/decisions/index.js';
import { decisionRecord } from './decision-records.js';

// Past the limit a write fails with EFBIG instead of the process being killed.
process.on('SIGXFSZ', () => undefined);
const [dir, appends, appenders] = process.argv.slice(2) as [string, string, string];
const log = await openDecisionLog(dir, { durability: 'durable' });
let n = 0;
async function appender(k: number): Promise<void> {
  while (n < Number(appends)) {
    // Staggered over event-loop turns, as requests arrive: several groups in flight at once.
    for (let i = 0; i < k % 4; i++) await new Promise((r) => setImmediate(r));
    const rec = decisionRecord(n++);
    try {
      await log.append([rec]);
      process.stdout.write(`ok ${rec.id}\n`);
    } catch (e) {
      process.stdout.write(`fail ${(e as { code?: string }).code} ${(e as Error).message.split('\n')[0]}\n`);
    }
  }
}
await Promise.all(Array.from({ length: Number(appenders) }, (_, k) => appender(k)));
await log.close().catch(() => undefined);
process.stdout.write(`stats ${JSON.stringify(log.stats())}\n`);
