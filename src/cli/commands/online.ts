import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { Progress, formatCount } from '../../core/progress.js';
import type { OnlineFeatureStore, OpenOnlineOptions, PushTarget } from '../../online/index.js';
import type { Project } from '../../store/index.js';
import { formatTable } from '../table.js';
import { projectOption } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };

interface BackendFlags { backend?: string; redisUrl?: string; features?: string }

const names = (list: string | undefined): string | string[] | undefined => {
  if (list === undefined) return undefined;
  const n = list.split(',').map((s) => s.trim()).filter(Boolean);
  return n.length === 1 ? n[0]! : n;
};

async function withOnline<T>(cmd: Command, flags: BackendFlags, serve: boolean, fn: (project: Project, online: OnlineFeatureStore) => Promise<T>): Promise<T> {
  const [{ Project }, { openOnlineStore }] = await Promise.all([import('../../store/index.js'), import('../../online/index.js')]);
  const project = await Project.open(projectOption(cmd));
  try {
    const features = serve ? names(flags.features) : undefined;
    const opts: OpenOnlineOptions = {
      ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
      ...(flags.redisUrl !== undefined ? { redisUrl: flags.redisUrl } : {}),
      ...(features !== undefined ? { features } : {}),
    };
    const online = await openOnlineStore(project, opts);
    try {
      return await fn(project, online);
    } finally {
      await online.close();
    }
  } finally {
    project.close();
  }
}

const backendOptions = (c: Command): Command => c
  .option('--backend <name>', 'embedded (in-process, SQLite) or redis (default $KILN_ONLINE_BACKEND, else online.backend in the config, else embedded)')
  .option('--redis-url <url>', 'the Redis to use (default $KILN_REDIS_URL, else online.redisUrl, else redis://127.0.0.1:6379)');

/** Reads NDJSON records in batches; a line that is not a JSON object is an error naming the line. `chars`: read so far (for progress). */
async function* ndjson(file: string, batchSize: number): AsyncGenerator<{ rows: unknown[]; lines: number[]; chars: number }> {
  if (file !== '-' && !existsSync(file)) throw new KilnError('FILE_NOT_FOUND', `event file ${file} does not exist (give an NDJSON file, or - to read standard input)`);
  const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let rows: unknown[] = [];
  let lines: number[] = [];
  let n = 0;
  let chars = 0;
  for await (const line of rl) {
    n++;
    chars += line.length + 1;
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line));
    } catch (e) {
      throw new KilnError('EVENTS_INVALID', `${file === '-' ? 'stdin' : file} line ${n}: not JSON (${(e as Error).message}); push takes one JSON object per line`);
    }
    lines.push(n);
    if (rows.length >= batchSize) { yield { rows, lines, chars }; rows = []; lines = []; }
  }
  if (rows.length) yield { rows, lines, chars };
}

/** A value for the table: lists as JSON, fractions to 12 significant digits (238.51999999999998 -> 238.52); --json keeps them exact. */
function display(v: unknown): string {
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) return String(Number(v.toPrecision(12)));
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** `kiln online materialize|push|get`. */
export function registerOnline(program: Command): void {
  const online = program.command('online').description('the online feature store: materialize current values, push events, read fresh features');

  backendOptions(online.command('materialize'))
    .description('compute the current state of every entity into the online store, from the offline store')
    .option('-f, --features <set|names>', 'the features to serve: a set or comma-separated names (default: online.features in the config, else every feature)')
    .option('--as-of <time>', 'UTC time to materialise at (default: now); later events arrive by push')
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: BackendFlags & { asOf?: string; json: boolean }, cmd: Command) => {
      await withOnline(cmd, flags, true, async (project, store) => {
        const { materialize } = await import('../../online/index.js');
        const s = await materialize(project, { store, quiet: flags.json, ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}) });
        if (flags.json) { out(JSON.stringify({ backend: store.backend.capabilities.name, ...s }, null, 2)); return; }
        out(formatTable(['source', 'table', 'events', 'entities', 'seconds'], s.sources.map((x) => [x.name, x.table, x.events, x.entities, x.seconds.toFixed(2)])));
        out(`materialised ${formatCount(s.events)} events as of ${s.asOf} into the ${store.backend.capabilities.name} online store in ${s.seconds.toFixed(2)}s (serving ${s.features.join(', ')})`);
      });
    });

  backendOptions(online.command('push'))
    .description('push events (NDJSON, one object per line) into the online store; times in UTC')
    .argument('<file>', 'an NDJSON file, or - for standard input')
    .option('--source <name>', 'the source the events belong to')
    .option('--table <name>', 'or: the table they are rows of (updates every source that reads it)')
    .option('--batch <n>', 'events per write', '20000')
    .option('--ignore-extra-columns', 'ignore columns no target source declares (default: an error)', false)
    .option('--json', 'print the summary as JSON', false)
    .action(async (file: string, flags: BackendFlags & { source?: string; table?: string; batch: string; ignoreExtraColumns: boolean; json: boolean }, cmd: Command) => {
      if ((flags.source === undefined) === (flags.table === undefined)) throw new KilnError('USAGE', 'say where the events go: --source NAME or --table NAME (one of them)');
      const target: PushTarget = flags.source !== undefined ? { source: flags.source } : { table: flags.table! };
      const batch = Number(flags.batch);
      if (!Number.isInteger(batch) || batch < 1) throw new KilnError('USAGE', `--batch must be a positive integer; got ${flags.batch}`);
      await withOnline(cmd, flags, false, async (_project, store) => {
        // A bar with rate and ETA on a TTY (plain lines otherwise): the total is estimated from the bytes read of the file.
        const size = file === '-' || !existsSync(file) ? 0 : statSync(file).size;
        const progress = new Progress({ label: 'push', unit: 'records', quiet: flags.json });
        const interrupt = onInterrupt();
        let records = 0;
        let chars = 0;
        async function* batches(): AsyncGenerator<{ rows: unknown[]; label: (i: number) => string }> {
          for await (const chunk of ndjson(file, batch)) {
            records += chunk.rows.length;
            chars = chunk.chars;
            yield { rows: chunk.rows, label: (i: number) => `line ${chunk.lines[i]}` };
          }
        }
        let totals;
        try {
          totals = await store.pushAll(target, batches(), {
            extraColumns: flags.ignoreExtraColumns ? 'ignore' : 'error', signal: interrupt.signal,
            onBatch: (t) => {
              if (size > 0 && chars > 0) progress.setTotal(Math.max(t.rows, Math.round((records * size) / chars)));
              progress.update(t.rows, `${formatCount(t.events)} events written${t.duplicates ? `, ${formatCount(t.duplicates)} duplicates skipped` : ''}`);
            },
          });
        } catch (e) {
          progress.abort();
          throw e;
        } finally {
          interrupt.dispose();
        }
        progress.setTotal(totals.rows);
        const seconds = progress.finish(`${formatCount(totals.events)} events written${totals.duplicates ? `, ${totals.duplicates} duplicates skipped (already stored)` : ''}${totals.skipped ? `, ${totals.skipped} rows without key or time skipped` : ''}`);
        if (flags.json) out(JSON.stringify({ rows: totals.rows, events: totals.events, duplicates: totals.duplicates, skipped: totals.skipped, seconds, rowsPerSecond: totals.rows / Math.max(seconds, 1e-9) }, null, 2));
      });
    });

  backendOptions(online.command('get'))
    .description('read features of entities, computed at request time (default: now)')
    .argument('<entity...>', 'entity keys')
    .option('-f, --features <set|names>', 'a set or comma-separated features (default: every served feature)')
    .option('--as-of <time>', 'UTC time to read at (default: now)')
    .option('--inclusive', 'count events at exactly the as-of time (default: strictly before)', false)
    .option('--allow-unknown', 'exit 0 even when an entity is unknown to the online store (its values are those of an entity without events)', false)
    .option('--json', 'print JSON (each row with "known": whether the store has ever stored anything for the entity)', false)
    .action(async (ids: string[], flags: BackendFlags & { asOf?: string; inclusive: boolean; allowUnknown: boolean; json: boolean }, cmd: Command) => {
      await withOnline(cmd, flags, false, async (_project, store) => {
        // An empty store is not an error (an entity with no events has empty values), but say so.
        if ((await store.backend.manifest()).features === undefined) {
          process.stderr.write(`note: this online store was never materialised; values reflect only events pushed to it (run 'kiln online materialize' first)\n`);
        }
        const found = await store.lookup(ids, names(flags.features), {
          eventTimeBound: flags.inclusive ? 'inclusive' : 'strict', ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}),
        });
        if (flags.json) {
          const rows = found.map((f) => ({ ...f.row, known: f.known, sources: f.sources }));
          out(JSON.stringify(rows.length === 1 ? rows[0] : rows, null, 2));
        } else {
          found.forEach((f, i) => {
            if (i) out('');
            if (!f.known) out(`entity ${f.entity}: UNKNOWN to the online store (no source has stored an event or a materialised value for it); the values below are those of an entity without events`);
            out(formatTable(['feature', 'value'], Object.entries(f.row).map(([k, v]) => [k, display(v)])));
          });
        }
        const unknown = found.filter((f) => !f.known).map((f) => String(f.entity));
        if (unknown.length && !flags.allowUnknown) {
          throw new KilnError('ENTITY_UNKNOWN', `${unknown.length === 1 ? 'entity' : `${unknown.length} entities`} unknown to the online store: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', ...' : ''}. No source has stored an event or a materialised value for ${unknown.length === 1 ? 'it' : 'them'}: check the id, push its events, or run kiln online materialize; pass --allow-unknown to read unknown entities as entities without events (exit 0)`,
            { details: { unknown } });
        }
      });
    });
}
