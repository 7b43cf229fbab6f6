/**
 * The payloads of the HTTP API as zod schemas: they validate requests (an issue becomes a
 * REQUEST_INVALID naming the field) and `/openapi.json` is generated from the same schemas. A model's
 * feature row schema is built from what it reads (`requestInputs`: its signature, a fused version's lastK
 * input in place of its embedding columns; name and SQL type of each input), once per version; a
 * SEQUENCE input (a lastK feature) takes its list of events, oldest first, as the online store gives it.
 */
import { z } from 'zod';
import { KilnError } from '../../core/errors.js';
import { requestInputs } from '../models/live.js';
import type { LiveVersion } from '../types.js';

export const EntityIdSchema = z.union([z.string().min(1), z.number().finite()]).describe('The entity key (borrower_id)');
export const AsOfSchema = z.string().min(1).describe('ISO 8601 time in UTC the features are read at (default: now)');
const FeatureValueSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);
/** A lastK value: events oldest first, each `{ ts, <field>: value | null, ... }`; null or [] without history. */
export const SequenceValueSchema = z.array(z.record(z.string(), FeatureValueSchema))
  .describe('A lastK (sequence) input: its events oldest first, each { ts, <field>: value | null, ... } as the online store returns them; ts in ISO 8601 UTC');
const InputValueSchema = z.union([FeatureValueSchema, SequenceValueSchema]);
const RowAsOfSchema = AsOfSchema.describe("With a full row: the time its values are as of (a sequence model reads its events' ages from it; default: now)");

const EntityRow = z.strictObject({ entityId: EntityIdSchema, asOf: AsOfSchema.optional() });
const FeatureRow = z.strictObject({ features: z.record(z.string(), InputValueSchema).describe("The model's inputs by name; null is missing"), asOf: RowAsOfSchema.optional() });
export const PredictRowSchema = z.union([EntityRow, FeatureRow]).describe('A row by entity id (features read from the online store) or a full feature row');

const options = {
  reasons: z.boolean().optional().describe('Return adverse-action reasons for every row (declined rows always get them)'),
  allowUnknown: z.boolean().optional().describe('Score an entity the online store never saw (as one without events) instead of answering 404'),
  embedding: z.boolean().optional().describe("Sequence models: return each row's entity embedding (the encoder's pooled output)"),
};
export const PredictBodySchema = z.union([
  z.strictObject({ rows: z.array(PredictRowSchema).min(1), ...options }),
  z.strictObject({ entityId: EntityIdSchema, asOf: AsOfSchema.optional(), ...options }),
  z.strictObject({ features: FeatureRow.shape.features, asOf: RowAsOfSchema.optional(), ...options }),
]).describe('Rows to score, or one row as the body itself');
export type PredictBody = z.infer<typeof PredictBodySchema>;
export type PredictRow = z.infer<typeof PredictRowSchema>;

export const ExplainBodySchema = z.union([
  z.strictObject({ rows: z.array(PredictRowSchema).min(1), allowUnknown: options.allowUnknown }),
  z.strictObject({ entityId: EntityIdSchema, asOf: AsOfSchema.optional(), allowUnknown: options.allowUnknown }),
  z.strictObject({ features: FeatureRow.shape.features, asOf: RowAsOfSchema.optional(), allowUnknown: options.allowUnknown }),
]);
export type ExplainBody = z.infer<typeof ExplainBodySchema>;

export const FeaturesGetBodySchema = z.strictObject({
  entityIds: z.array(EntityIdSchema).min(1),
  features: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional().describe('A feature set or names (default: what the store serves)'),
  asOf: AsOfSchema.optional(),
});

export const EventsBodySchema = z.union([
  z.strictObject({ source: z.string().min(1), events: z.array(z.record(z.string(), z.unknown())).min(1), ignoreExtraColumns: z.boolean().optional() }),
  z.strictObject({ table: z.string().min(1), events: z.array(z.record(z.string(), z.unknown())).min(1), ignoreExtraColumns: z.boolean().optional() }),
]).describe('Events of one source, or rows of one table (every source reading it is updated)');

export const TrafficBodySchema = z.strictObject({
  traffic: z.union([
    z.strictObject({ challenger: z.string().min(1), mode: z.literal('shadow') }),
    z.strictObject({ challenger: z.string().min(1), mode: z.literal('canary'), share: z.number().gt(0).lt(1) }),
    z.null(),
  ]).describe('The challenger, or null to remove it'),
  reason: z.string().min(1).describe('Why: kept in the audit log'),
});

const ReasonSchema = z.object({ reason: z.string(), text: z.string(), contribution: z.number() });
export const VersionScoreSchema = z.object({
  model: z.string(), version: z.number().int(), raw: z.number(), calibrated: z.number().nullable(), points: z.number(), declined: z.boolean(),
});
export const PredictResultSchema = z.object({
  decisionId: z.string(),
  model: z.string(),
  version: z.number().int(),
  entityId: z.string().nullable(),
  asOf: z.string().nullable(),
  score: z.object({ probability: z.number(), raw: z.number(), points: z.number(), declined: z.boolean() }),
  reasons: z.array(ReasonSchema).nullable(),
  tasks: z.record(z.string(), z.union([z.number(), z.record(z.string(), z.number())])).optional()
    .describe("Sequence models: the other heads' outputs (a binary task's probability, a next-event task's class probabilities)"),
  reasonsUnavailable: z.string().optional().describe('Sequence models: why reasons is an empty list'),
  embedding: z.array(z.number()).optional().describe('Sequence models, when asked for: the entity embedding'),
  cutoffUnavailable: z.string().optional().describe('Imported ONNX models: why declined is always false (no cutoff)'),
});
export const PredictResponseSchema = z.object({ results: z.array(PredictResultSchema) });
export const ErrorSchema = z.object({ code: z.string(), message: z.string(), path: z.array(z.union([z.string(), z.number()])).optional() });

/** A zod failure as REQUEST_INVALID: the first issue, with its field path and what was expected. */
export function requestInvalid(error: z.ZodError, where: string, prefix: (string | number)[] = []): KilnError {
  const issue = error.issues[0]!;
  let path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  let message = issue.message;
  // A union failing: report the branch that got furthest into the value.
  if (issue.code === 'invalid_union' && issue.errors.length) {
    const best = [...issue.errors].sort((a, b) => (b[0]?.path.length ?? 0) - (a[0]?.path.length ?? 0))[0]!;
    if (best[0] && best[0].path.length > 0) {
      path = [...path, ...best[0].path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
      message = best[0].message;
    } else message = `${message}: expected { rows: [...] }, { entityId, asOf? } or { features: {...} } (see /openapi.json)`;
  }
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  const field = path.length ? path.join('.') : '(body)';
  return new KilnError('REQUEST_INVALID', `${where}: ${field}: ${message}`, { path });
}

/** Parses with a schema; a failure is REQUEST_INVALID naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, where: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw requestInvalid(r.error, where);
  return r.data;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*)$/i;

/** The JSON type a signature's SQL type takes in a request. */
export function jsonTypeOf(sqlType: string): 'number' | 'string' | 'boolean' {
  if (NUMERIC.test(sqlType)) return 'number';
  if (/^BOOL(EAN)?$/i.test(sqlType)) return 'boolean';
  return 'string';
}

/** A version's feature row: every input by name, of its type or null (missing). Unknown names are refused. */
export function featureRowSchema(live: LiveVersion): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const f of requestInputs(live)) {
    if (f.type === 'SEQUENCE') {
      shape[f.name] = SequenceValueSchema.nullable();
      continue;
    }
    const t = jsonTypeOf(f.type);
    const base = t === 'number' ? z.number() : t === 'boolean' ? z.boolean() : z.string();
    shape[f.name] = base.nullable().describe(`${f.type}; null when missing`);
  }
  return z.strictObject(shape).describe(`Inputs of ${live.name} version ${live.version}`);
}
