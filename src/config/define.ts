import type { KilnConfigInput } from './schema.js';

/**
 * Identity helper that types a `kiln.config.ts`.
 * @example
 * export default defineConfig({ name: 'credit', tables: { loans: { key: 'loan_id', timestamp: 'funded_at' } } });
 */
export function defineConfig<const T extends KilnConfigInput>(config: T): T {
  return config;
}
