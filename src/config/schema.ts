import { z } from 'zod';
import { ModelSpecSchema } from './model-spec.js';

/** Column types a table schema may declare, with their DuckDB storage types. */
export const COLUMN_TYPES = {
  boolean: 'BOOLEAN',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  varchar: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
} as const;
export type ColumnType = keyof typeof COLUMN_TYPES;
const columnTypeNames = Object.keys(COLUMN_TYPES) as [ColumnType, ...ColumnType[]];

export const ColumnTypeSchema = z.enum(columnTypeNames);

export const ColumnSpecSchema = z.union([
  ColumnTypeSchema,
  z.strictObject({
    type: ColumnTypeSchema,
    /** A missing column in an input file is an error unless `required: false` (it then loads as NULL). */
    required: z.boolean().default(true),
    /** NULL values are rejected when `nullable: false`. */
    nullable: z.boolean().default(true),
    description: z.string().optional(),
  }),
]);
export type ColumnSpecInput = z.input<typeof ColumnSpecSchema>;

export const FILE_FORMATS = ['csv', 'parquet', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const TableSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** Event-time column: parsed as a UTC timestamp, never NULL. */
  timestamp: z.string().min(1).optional(),
  /** Primary key: must be present, non-NULL and unique across the whole table. */
  key: z.string().min(1).optional(),
  format: z.enum(FILE_FORMATS).optional(),
  /** Declared columns; when given, input must match them (see `allowExtraColumns`). */
  columns: z.record(z.string().min(1), ColumnSpecSchema).optional(),
  /** With declared columns, whether input columns that are not declared are loaded (true) or rejected. */
  allowExtraColumns: z.boolean().default(false),
});
export type TableSpecInput = z.input<typeof TableSpecSchema>;
export type TableSpec = z.output<typeof TableSpecSchema>;

export const KilnConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  /** Where kiln keeps its data, relative to the config file. */
  dataDir: z.string().min(1).default('.kiln'),
  tables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a SQL identifier: letters, digits and _, not starting with a digit'), TableSpecSchema).default({}),
  /**
   * Feature definitions built with kiln's feature DSL (entities, sources, features, feature sets). They
   * are plain frozen specs; the features module validates them when it loads them.
   */
  features: z.array(z.unknown()).default([]),
  /** Models trained by `kiln train NAME`. */
  models: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "letters, digits, '.', '_' or '-', starting with a letter"), ModelSpecSchema).default({}),
});

export type KilnConfigInput = z.input<typeof KilnConfigSchema>;
export type KilnConfig = z.output<typeof KilnConfigSchema>;

/** Normalised column declaration. */
export interface ColumnDecl {
  name: string;
  type: ColumnType;
  required: boolean;
  nullable: boolean;
}

export function columnDecls(spec: TableSpec): ColumnDecl[] | undefined {
  if (!spec.columns) return undefined;
  return Object.entries(spec.columns).map(([name, c]) =>
    typeof c === 'string'
      ? { name, type: c, required: true, nullable: true }
      : { name, type: c.type, required: c.required, nullable: c.nullable },
  );
}
