/**
 * Approval-rate fairness at a cutoff. Convention: the score is the probability of default, lower is
 * better, and an applicant is approved when score < cutoff (a score equal to the cutoff is declined).
 */
import { didYouMean } from '../core/errors.js';
import { ArgCheck, checkKeys, checkScores, checkWeights, compareKeys, fail, groupRows, type GroupKey, type WeightOption } from './validate.js';

/** The four-fifths rule: a group whose approval rate is below 80% of the reference group's is flagged. */
export const FOUR_FIFTHS = 0.8;

export interface FairnessOptions extends WeightOption {
  /** Approve when score < cutoff. */
  cutoff: number;
  /** Group the ratios are taken against; default the most favoured group (highest approval rate, first in slice order on ties). */
  reference?: GroupKey;
  /** Flag groups whose adverse impact ratio is below this (default 0.8, the four-fifths rule). */
  threshold?: number;
}

export interface FairnessGroupRow {
  group: GroupKey;
  /** Applicants (unweighted). */
  count: number;
  /** Sum of weights (= count without weights). */
  weight: number;
  /** Approved applicants, weighted. */
  approved: number;
  /** approved / weight; null when the group's weight is 0. */
  approvalRate: number | null;
  /** approvalRate / reference approvalRate; null when either is undefined or the reference approves nobody. */
  adverseImpactRatio: number | null;
  /** approvalRate − reference approvalRate; null when either is undefined. */
  approvalRateDifference: number | null;
  /** adverseImpactRatio < threshold. */
  flagged: boolean;
}

export interface FairnessReport {
  cutoff: number;
  rule: 'approve when score < cutoff';
  reference: GroupKey;
  threshold: number;
  overallApprovalRate: number;
  groups: FairnessGroupRow[];
  /** Smallest adverse impact ratio over the groups; null when none is defined. */
  minAdverseImpactRatio: number | null;
  /** Groups with adverseImpactRatio < threshold. */
  flagged: GroupKey[];
}

/**
 * Approval rates per group of a protected attribute at `cutoff`, each group's adverse impact ratio
 * (its approval rate over the reference group's) and approval-rate difference, flagging ratios below
 * the four-fifths threshold.
 * @example fairnessReport(pd, sex, { cutoff: 0.1 }) // { reference: 'M', groups: [{ group: 'F', approvalRate: 0.62, adverseImpactRatio: 0.86, … }, …] }
 */
export function fairnessReport(score: ArrayLike<number>, groups: ArrayLike<GroupKey>, options: FairnessOptions): FairnessReport {
  const fn = 'fairnessReport';
  const c = new ArgCheck(fn);
  const cutoff = options?.cutoff;
  const threshold = options?.threshold ?? FOUR_FIFTHS;
  if (typeof cutoff !== 'number' || cutoff !== cutoff) c.add('cutoff', `cutoff is ${String(cutoff)}; pass { cutoff } as a number: approve when score < cutoff`);
  if (typeof threshold !== 'number' || !(threshold > 0)) c.add('threshold', `threshold is ${String(threshold)}; expected a positive number such as 0.8`);
  const n = checkScores(c, score, -1);
  checkKeys(c, 'groups', groups, n, 'score');
  checkWeights(c, options?.weight, n, 'score');
  c.done();
  const w = options.weight;
  const g = groupRows(groups);
  let total = 0, totalApproved = 0;
  const rows: FairnessGroupRow[] = g.keys.map((group, k) => {
    let weight = 0, approved = 0;
    for (let j = g.start[k]!; j < g.start[k + 1]!; j++) {
      const r = g.rows[j]!;
      const wi = w ? w[r]! : 1;
      weight += wi;
      if (score[r]! < cutoff) approved += wi;
    }
    total += weight; totalApproved += approved;
    return {
      group, count: g.start[k + 1]! - g.start[k]!, weight, approved, approvalRate: weight > 0 ? approved / weight : null,
      adverseImpactRatio: null, approvalRateDifference: null, flagged: false,
    };
  });
  let ref: FairnessGroupRow | undefined;
  if (options.reference !== undefined) {
    ref = rows.find((r) => compareKeys(r.group, options.reference!) === 0);
    if (!ref) {
      const names = rows.map((r) => String(r.group));
      const hint = didYouMean(String(options.reference), names);
      fail(fn, 'reference', `reference group ${JSON.stringify(options.reference)} does not occur in groups${hint ? ` (did you mean '${hint}'?)` : ''}; groups are: ${names.join(', ')}`);
    }
    if (ref.approvalRate === null) fail(fn, 'reference', `reference group ${JSON.stringify(ref.group)} has total weight 0; choose a group with weight`);
  } else {
    for (const r of rows) if (r.approvalRate !== null && (ref === undefined || r.approvalRate > ref.approvalRate!)) ref = r;
  }
  const refRate = ref!.approvalRate!;
  let minAir: number | null = null;
  const flagged: GroupKey[] = [];
  for (const r of rows) {
    if (r.approvalRate === null) continue;
    r.approvalRateDifference = r.approvalRate - refRate;
    if (refRate > 0) {
      const air = r.approvalRate / refRate;
      r.adverseImpactRatio = air;
      r.flagged = air < threshold;
      if (r.flagged) flagged.push(r.group);
      if (minAir === null || air < minAir) minAir = air;
    }
  }
  return {
    cutoff, rule: 'approve when score < cutoff', reference: ref!.group, threshold, overallApprovalRate: totalApproved / total,
    groups: rows, minAdverseImpactRatio: minAir, flagged,
  };
}
