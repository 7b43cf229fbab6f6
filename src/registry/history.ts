import { KilnError, isKilnError } from '../core/errors.js';
import { parseUtc, timeUs } from '../core/time.js';
import type { AuditEntry, ModelRegistry } from './models.js';

export interface AliasInterval {
  alias: string;
  version: number;
  /** When the alias started pointing at this version. */
  from: string;
  /** When it stopped (moved or was removed); null while it still holds. */
  to: string | null;
  setBy: string;
  reason: string | null;
}

/**
 * Which version held each alias over time, rebuilt from the append-only audit log. With `at`, only the
 * intervals that contain that instant: the answer to "what was champion on March 3rd at 14:00?".
 */
export function aliasHistory(registry: ModelRegistry, model: string, opts: { at?: string } = {}): AliasInterval[] {
  registry.requireModel(model);
  const log: AuditEntry[] = registry.auditLog(model);
  const open = new Map<string, AliasInterval>();
  const out: AliasInterval[] = [];
  for (const e of log) {
    if (e.action !== 'set_alias' && e.action !== 'remove_alias') continue;
    const current = open.get(e.alias!);
    if (current) { current.to = e.at; open.delete(e.alias!); }
    if (e.action === 'set_alias') {
      const iv: AliasInterval = { alias: e.alias!, version: e.version!, from: e.at, to: null, setBy: e.actor, reason: e.reason };
      out.push(iv);
      open.set(e.alias!, iv);
    }
  }
  if (opts.at === undefined) return out;
  let t: number;
  try {
    t = parseUtc(opts.at, '--at');
  } catch (e) {
    if (!isKilnError(e)) throw e;
    const why = e.message.replace(/^--at: /, '');
    throw new KilnError('USAGE', `--at ${opts.at}: expected an ISO date or timestamp in UTC such as 2026-03-03T14:00:00Z (${why})`, { path: ['at'], cause: e });
  }
  // The audit log's times are kiln's own ISO strings in UTC.
  const at = (iso: string): number => timeUs(iso) ?? parseUtc(iso, 'audit log time');
  return out.filter((iv) => at(iv.from) <= t && (iv.to === null || t < at(iv.to)));
}
