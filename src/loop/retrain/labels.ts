/** Labels that matured in a window: the loop's matured-labels trigger (live and replayed). */
import { timestampSql, type Project } from '../../store/index.js';

/** Labels of the loop's spine that became known in (from, to]. */
export async function maturedSince(project: Project, spec: { spine: { table: string }; label: { column: string; availableAt?: string | undefined } }, from: number, to: number): Promise<number> {
  if (!spec.label.availableAt) return 0;
  const [r] = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM "${spec.spine.table}" WHERE "${spec.label.availableAt}" > ${timestampSql(from)} AND "${spec.label.availableAt}" <= ${timestampSql(to)} AND "${spec.label.column}" IS NOT NULL`);
  project.releaseOffline();
  return Number(r!.n);
}
