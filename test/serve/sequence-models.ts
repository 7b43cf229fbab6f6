/**
 * Model specs the serve tests of sequence, fused and ONNX versions share: a simulated world whose 24
 * months end this month (so the online store has recent events as of now), the credit spine, a GBDT,
 * a small GRU sequence model, and a config writer over the demo's features.
 */
import { DEMO_FEATURES_FILE } from '../helpers.js';

/** The first day of month k of the simulated 24 months (month 23 is this month). */
export const month = (k: number): string => { const n = new Date(); return new Date(Date.UTC(n.getUTCFullYear(), n.getUTCMonth() - 23 + k, 1)).toISOString().slice(0, 10); };

export const BASE = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { validFrom: month(6), testFrom: month(9), testTo: month(12) },
  minPositives: 3,
};
export const GBDT = { ...BASE, defaultReason: 'Credit history factors', params: { max_depth: 3, learning_rate: 0.1, n_estimators: 30 } };
export const SEQ = { ...BASE, algorithm: 'sequence', sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 2, patience: 5, compare: false } };

/** A config with one model, `credit`. */
export const creditConfig = (name: string, credit: object): string => `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: '${name}', features: [...DEMO_FEATURES], models: { credit: ${JSON.stringify(credit)} } });\n`;
