/**
 * Swap-set analysis: who would flip between approve and decline if the challenger replaced the champion.
 * Each row lands in one of four cells (approve = pd < the model's cutoff): swap-in (declined by the
 * champion, approved by the challenger), swap-out (the reverse), kept approved, kept declined. Row counts
 * use every row; bad rates use only rows whose outcome is known (label NaN = not yet matured, as in recent
 * decisions), and are null when a cell has no known outcome. A good challenger swaps in fewer bads than it
 * swaps out.
 */
import { checkEvalSet, type EvalSet } from './compare.js';

export interface SwapCell {
  /** Rows in the cell (known outcome or not). */
  rows: number;
  /** Rows with a known outcome. */
  labelled: number;
  /** Defaults among the labelled rows. */
  bad: number;
  /** bad / labelled; null when no row of the cell has a known outcome. */
  badRate: number | null;
}

export interface SwapSet {
  /** Declined by the champion, approved by the challenger. */
  swapIn: SwapCell;
  /** Approved by the champion, declined by the challenger. */
  swapOut: SwapCell;
  keptApproved: SwapCell;
  keptDeclined: SwapCell;
  /** Rows approved by the challenger minus rows approved by the champion (= swapIn.rows − swapOut.rows). */
  netApprovalChange: number;
  approvalRate: { champion: number; challenger: number };
  /** Default rate among each model's approved rows with a known outcome. */
  approvedBadRate: { champion: number | null; challenger: number | null };
}

function cell(rows: number, labelled: number, bad: number): SwapCell {
  return { rows, labelled, bad, badRate: labelled > 0 ? bad / labelled : null };
}

/**
 * The four cells of champion × challenger decisions with their bad rates.
 * @example swapSet(set).swapIn // { rows: 412, labelled: 380, bad: 21, badRate: 0.055 }
 */
export function swapSet(set: EvalSet): SwapSet {
  const n = checkEvalSet(set);
  // counts[cell][0 rows, 1 labelled, 2 bad]; cell = 2 * championApproves + challengerApproves
  const c = new Float64Array(12);
  for (let i = 0; i < n; i++) {
    const k = 3 * ((set.championPd[i]! < set.championCutoff ? 2 : 0) + (set.challengerPd[i]! < set.challengerCutoff ? 1 : 0));
    c[k]!++;
    const y = set.label[i]!;
    if (y === y) { c[k + 1]!++; c[k + 2]! += y; }
  }
  const at = (k: number): SwapCell => cell(c[3 * k]!, c[3 * k + 1]!, c[3 * k + 2]!);
  const keptDeclined = at(0), swapIn = at(1), swapOut = at(2), keptApproved = at(3);
  const rate = (a: SwapCell, b: SwapCell): number | null => (a.labelled + b.labelled > 0 ? (a.bad + b.bad) / (a.labelled + b.labelled) : null);
  return {
    swapIn, swapOut, keptApproved, keptDeclined,
    netApprovalChange: swapIn.rows - swapOut.rows,
    approvalRate: { champion: (keptApproved.rows + swapOut.rows) / n, challenger: (keptApproved.rows + swapIn.rows) / n },
    approvedBadRate: { champion: rate(keptApproved, swapOut), challenger: rate(keptApproved, swapIn) },
  };
}
