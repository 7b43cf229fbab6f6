/** The online store's manifest: small text entries the engine keeps in the backend (what it serves, its format). */
import { KilnError } from '../core/errors.js';
import { ONLINE_FORMAT } from './engine/plan.js';

/** The manifest entry naming the features served (JSON list), written by a materialisation. */
export const MANIFEST_FEATURES = 'features';
/** The manifest entry naming the store's format (ONLINE_FORMAT), written by the first reset or push. */
export const MANIFEST_FORMAT = 'format';

/** The manifest entry recording the last materialisation (JSON `MaterializationRecord`): written when one starts and when it ends. */
export const MANIFEST_MATERIALIZED = 'materialized';

/** The last materialisation of a store, as its manifest records it. */
export interface MaterializationRecord {
  /** Wall-clock time it started and (null while running, or when it failed) finished, ISO UTC. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** The time the store was materialised as of (events strictly before it), ISO UTC. */
  readonly asOf: string;
  readonly features: readonly string[];
  /** Per source: events and entities written, and the latest event time among them (ISO UTC; null when none). */
  readonly sources: readonly { readonly name: string; readonly table: string; readonly events: number; readonly entities: number; readonly latestEvent: string | null }[];
}

/** Refuses a store written by a newer kiln (a higher `kiln.online@N` than this one's). */
export function checkFormat(stored: string | undefined): void {
  if (stored === undefined || stored === ONLINE_FORMAT) return;
  const version = (f: string): number => Number(/@(\d+)$/.exec(f)?.[1] ?? NaN);
  if (!(version(stored) <= version(ONLINE_FORMAT))) {
    throw new KilnError('STORE_TOO_NEW', `the online store was written by a newer kiln (format ${stored}; this kiln reads ${ONLINE_FORMAT}): upgrade kiln, or materialize into a fresh store (another --prefix or data directory)`, { details: { stored, supported: ONLINE_FORMAT } });
  }
}
