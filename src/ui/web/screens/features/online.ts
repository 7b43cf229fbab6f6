/**
 * The online store as the UI sees it: whether there is one, and opening it for a read. The embedded store
 * is a file in the data folder; opening it would create it, so an absent file means no online store.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OnlineFeatureStore, OnlineFeatureStoreOptions } from '../../../../online/index.js';
import type { Project } from '../../../../store/index.js';

export type OnlineAccess =
  | { readonly state: 'absent'; readonly note: string }
  | { readonly state: 'failed'; readonly note: string }
  | { readonly state: 'open'; readonly store: OnlineFeatureStore; readonly backend: string };

/** Opens the project's online store for reading, or says why there is none. Close the store after use. */
export async function openOnline(project: Project, opts: Pick<OnlineFeatureStoreOptions, 'features'> = {}): Promise<OnlineAccess> {
  const { onlineSettings, openOnlineStore } = await import('../../../../online/index.js');
  const settings = onlineSettings(project);
  if (settings.backend === 'embedded' && !existsSync(join(project.paths.dataDir, 'online.sqlite'))) {
    return { state: 'absent', note: 'This project has no online store yet (kiln online materialize builds it from the offline store).' };
  }
  try {
    return { state: 'open', store: await openOnlineStore(project, opts), backend: settings.backend };
  } catch (e) {
    return { state: 'failed', note: `The online store (${settings.backend}) could not be opened: ${(e as Error).message}` };
  }
}
