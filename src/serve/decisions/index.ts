/**
 * The decision log: every decision, one JSON line, in append-only segments under `<dataDir>/decisions`,
 * written by one group-committing writer per project and read by anyone, also while it runs.
 * See docs/decisions.md.
 */
import { join } from 'node:path';
import type { PgLocation } from '../../store/index.js';
import type { DecisionLogRef } from './reader.js';

export { newDecisionId, decisionIdAt, decisionIdTime, decisionIdFloor, DECISION_ID_RE } from './id.js';
export { openDecisionLog } from './open.js';
export type { DecisionLog, DecisionLogOptions } from './writer.js';
export { readDecisions, getDecision } from './reader.js';
export type { ReadDecisionsOptions, TimeBound, DecisionLogRef } from './reader.js';
export type { TornLine } from './segments.js';
export type { WriterLockInfo } from './lock.js';

/** The decision log's folder in a project's data folder. */
export function decisionLogDir(dataDir: string): string {
  return join(dataDir, 'decisions');
}

/** A project's decision log: in its PostgreSQL schema when its metadata is there, else `<dataDir>/decisions`. */
export function decisionLogOf(project: { meta: { shared?: PgLocation | undefined }; paths: { dataDir: string } }): DecisionLogRef {
  return project.meta.shared ?? decisionLogDir(project.paths.dataDir);
}
