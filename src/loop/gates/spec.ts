/**
 * The promotion gates of a config (`loop.gates`), after TFX's Evaluator: per metric a value threshold
 * (`min` / `max`: the challenger's own value) and/or a change threshold against the champion read in the
 * metric's direction (`maxDrop` for higher-is-better metrics, `maxRise` for lower-is-better ones), applied
 * over all rows and again per value of each slice column with at least `minSliceRows` rows.
 */
import { z } from 'zod';
import { KilnError } from '../../core/errors.js';
import { GATE_METRIC_NAMES, GATE_METRICS, type GateMetric } from './compare.js';

const GateRuleSchema = z.strictObject({
  metric: z.enum(GATE_METRIC_NAMES).describe('metric of GATE_METRICS'),
  min: z.number().finite().optional().describe('the challenger value must be >= min'),
  max: z.number().finite().optional().describe('the challenger value must be <= max'),
  maxDrop: z.number().finite().min(0).optional().describe('higher-is-better metrics: challenger >= champion − maxDrop'),
  maxRise: z.number().finite().min(0).optional().describe('lower-is-better metrics: challenger <= champion + maxRise'),
  perSlice: z.boolean().default(true).describe('also apply on each slice value (default true)'),
}).superRefine((r, ctx) => {
  const better = GATE_METRICS[r.metric as GateMetric]?.better;
  if (r.min === undefined && r.max === undefined && r.maxDrop === undefined && r.maxRise === undefined) {
    ctx.addIssue({ code: 'custom', message: `gate on '${r.metric}' has no threshold; give min, max, ${better === 'lower' ? 'maxRise' : 'maxDrop'} or several` });
  }
  if (r.maxDrop !== undefined && better === 'lower') {
    ctx.addIssue({ code: 'custom', path: ['maxDrop'], message: `'${r.metric}' is lower-is-better, so a drop is an improvement; bound its worsening with maxRise` });
  }
  if (r.maxRise !== undefined && better === 'higher') {
    ctx.addIssue({ code: 'custom', path: ['maxRise'], message: `'${r.metric}' is higher-is-better, so a rise is an improvement; bound its worsening with maxDrop` });
  }
  if (r.min !== undefined && r.max !== undefined && r.min > r.max) {
    ctx.addIssue({ code: 'custom', path: ['min'], message: `min ${r.min} is above max ${r.max}; no value could pass` });
  }
});

/**
 * `loop.gates` of the config.
 * @example { metrics: [{ metric: 'auc', maxDrop: 0.01 }, { metric: 'ece', max: 0.03 }, { metric: 'air', min: 0.8 }], slices: ['region'], minSliceRows: 200, maxInputDriftPsi: 0.25, action: { onPass: 'promote', onFail: 'reject' } }
 */
export const GateSpecSchema = z.strictObject({
  metrics: z.array(GateRuleSchema).min(1).describe('the gates; each may hold several thresholds'),
  slices: z.array(z.string().min(1)).default([]).describe('slice columns: the same gates per slice value'),
  minSliceRows: z.number().int().min(1).default(200).describe('slice values with fewer rows are skipped (recorded as skipped)'),
  maxInputDriftPsi: z.number().positive().optional().describe("largest PSI allowed on any of the challenger's inputs between its training sample and recent decisions"),
  action: z.strictObject({
    onPass: z.enum(['promote', 'shadow']).default('promote'),
    onFail: z.enum(['reject', 'shadow']).default('reject'),
  }).default({ onPass: 'promote', onFail: 'reject' }),
});

export type GateRule = z.output<typeof GateRuleSchema>;
export type GateSpec = z.output<typeof GateSpecSchema>;
export type GateSpecInput = z.input<typeof GateSpecSchema>;

/** Validates `loop.gates`; throws CONFIG_INVALID listing every problem with its path. */
export function parseGateSpec(input: unknown, where = 'loop.gates'): GateSpec {
  const r = GateSpecSchema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${[where, ...i.path].map((p, k) => (typeof p === 'number' ? `[${p}]` : k ? `.${String(p)}` : String(p))).join('')}: ${i.message}`);
  throw new KilnError('CONFIG_INVALID', `${where} is invalid: ${problems.join('; ')}`, { path: [where, ...(r.error.issues[0]?.path ?? []).map((p) => (typeof p === 'number' ? p : String(p)))], details: { problems } });
}
