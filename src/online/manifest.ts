/** The online store's manifest: small text entries the engine keeps in the backend (what it serves, its format). */
import { KilnError } from '../core/errors.js';
import { ONLINE_FORMAT } from './engine/plan.js';

/** The manifest entry naming the features served (JSON list), written by a materialisation. */
export const MANIFEST_FEATURES = 'features';
/** The manifest entry naming the store's format (ONLINE_FORMAT), written by the first reset or push. */
export const MANIFEST_FORMAT = 'format';

/** Refuses a store written by a newer kiln (a higher `kiln.online@N` than this one's). */
export function checkFormat(stored: string | undefined): void {
  if (stored === undefined || stored === ONLINE_FORMAT) return;
  const version = (f: string): number => Number(/@(\d+)$/.exec(f)?.[1] ?? NaN);
  if (!(version(stored) <= version(ONLINE_FORMAT))) {
    throw new KilnError('STORE_TOO_NEW', `the online store was written by a newer kiln (format ${stored}; this kiln reads ${ONLINE_FORMAT}): upgrade kiln, or materialize into a fresh store (another --prefix or data directory)`, { details: { stored, supported: ONLINE_FORMAT } });
  }
}
