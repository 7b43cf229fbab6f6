import type { Screen } from './types.js';
import { screen as runs } from './runs.js';
import { screen as models } from './models.js';
import { screen as features } from './features.js';
import { screen as decisions } from './decisions.js';
import { screen as monitoring } from './monitoring.js';
import { screen as embeddings } from './embeddings.js';
import { screen as jobs } from './jobs.js';

export type { Screen } from './types.js';
export const SCREENS: readonly Screen[] = [runs, models, features, decisions, monitoring, embeddings, jobs];
