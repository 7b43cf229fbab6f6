// A plausible decision record for the decision-log tests (the fields as the request path fills them).
import type { DecisionRecord } from '../../src/serve/index.js';
import { newDecisionId } from '../../src/serve/decisions/index.js';

export function decisionRecord(i: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  const id = over.id ?? newDecisionId();
  const raw = ((i * 7919) % 1000) / 1000;
  return {
    id, time: new Date().toISOString(), model: 'credit', version: 1 + (i % 2), decidedBy: 'primary',
    entityId: `b${i}`, asOf: null, request: { entityId: `b${i}`, reasons: true },
    features: { income: 1000 + i, utilisation: raw, region: 'north', thin_file: i % 3 === 0, missing: null },
    score: { model: 'credit', version: 1 + (i % 2), raw, calibrated: raw * 0.9, points: Math.round(600 - raw * 100), declined: raw > 0.5 },
    reasons: raw > 0.5 ? [{ reason: 'utilisation', text: 'High utilisation', contribution: 0.4, missingText: false }] : null,
    shadow: [], latencyMs: 0.5 + (i % 10) / 10,
    ...over,
  } as DecisionRecord;
}
