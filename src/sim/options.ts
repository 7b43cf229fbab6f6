import { z } from 'zod';
import { KilnError, didYouMean } from '../core/errors.js';

/**
 * Options of `kiln sim`. Every option has a default, so `{}` is a valid input; `shockMonth` defaults to
 * the middle of the horizon (month 12 of 24) when the horizon has at least 12 months,
 * and to no shock otherwise; pass `null` for no shock.
 */
export const SimOptionsSchema = z
  .object({
    /** Number of borrowers (the unit of generation; events scale linearly). */
    borrowers: z.number().int().min(1).max(50_000_000).default(10_000),
    /** Length of the simulated horizon in calendar months. */
    months: z.number().int().min(1).max(120).default(24),
    /** Seed of every random stream; the same options give byte-identical tables. */
    seed: z.number().int().min(-2_147_483_648).max(4_294_967_295).default(42),
    /** 0-based month index (from `start`) at which the macro shock hits; null for no shock. */
    shockMonth: z.number().int().min(0).nullable().optional(),
    /** First day of the horizon, 'YYYY-MM-DD', must be the first of a month. */
    start: z
      .string()
      .regex(/^\d{4}-\d{2}-01$/, "expected an ISO date 'YYYY-MM-01' (the first of a month)")
      .refine((s) => isRealDate(s), 'expected a real calendar date')
      .default('2024-01-01'),
    /** Mean number of card/bank transactions per borrower-month (before behaviour multipliers). */
    txnsPerMonth: z.number().min(0).max(200).default(4),
    /**
     * Share of borrowers with an order episode (a spending surge and a run of cash advances before a
     * loan application, in one of two orders of which only one raises risk); 0 (the default) turns
     * them off and leaves every other table byte-identical.
     */
    orderEpisodes: z.number().min(0).max(1).default(0),
  })
  .strict();

export type SimOptionsInput = z.input<typeof SimOptionsSchema>;

export interface SimOptions {
  borrowers: number;
  months: number;
  seed: number;
  /** Resolved: a month index in [0, months) or null. */
  shockMonth: number | null;
  start: string;
  txnsPerMonth: number;
  /** Share of borrowers with an order episode, in [0, 1]. */
  orderEpisodes: number;
}

/** Default shock month for a horizon: the middle, when there are at least 12 months. */
export function defaultShockMonth(months: number): number | null {
  return months >= 12 ? Math.floor(months / 2) : null;
}

/** Validates and resolves options; every problem is a KilnError('SIM_OPTION_INVALID') naming the option. */
export function parseSimOptions(input: unknown): SimOptions {
  const res = SimOptionsSchema.safeParse(input ?? {});
  if (!res.success) {
    const known = Object.keys(SimOptionsSchema.shape);
    const issues = res.error.issues.flatMap((i) => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => {
          const hint = didYouMean(k, known);
          return { option: k, message: `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}; known options: ${known.join(', ')}` };
        });
      }
      return [{ option: i.path.join('.'), message: i.message }];
    });
    const text = issues.map((i) => (i.option ? `option '${i.option}': ${i.message}` : i.message)).join('; ');
    throw new KilnError('SIM_OPTION_INVALID', `invalid simulator options: ${text}`, {
      path: issues[0]?.option ? [issues[0].option] : undefined,
      details: issues,
    });
  }
  const o = res.data;
  const shockMonth = o.shockMonth === undefined ? defaultShockMonth(o.months) : o.shockMonth;
  if (shockMonth !== null && shockMonth >= o.months) {
    throw new KilnError(
      'SIM_OPTION_INVALID',
      `invalid simulator options: option 'shockMonth': expected a month index in [0, ${o.months - 1}] (months = ${o.months}) or null for no shock, got ${shockMonth}`,
      { path: ['shockMonth'], details: [{ option: 'shockMonth', message: `must be < months (${o.months})` }] },
    );
  }
  return { ...o, shockMonth };
}

function isRealDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d && y >= 1900 && y <= 2200;
}
