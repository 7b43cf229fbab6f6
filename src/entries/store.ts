/**
 * `kiln/store`: a kiln project and its offline store. Create or open a project, ingest files, list and
 * show tables, checksum them.
 * @example
 * import { Project, ingest } from 'kiln/store';
 * const project = await Project.open({ project: 'credit' });
 * await ingest(project, { table: 'loans', inputs: ['loans.csv'], key: 'loan_id', timestamp: 'funded_at' });
 */
export {
  Project, initProject, ingest, listTables, showTable, tableChecksum, tableChecksums, DEFAULT_WAIT_TIMEOUT_SECONDS,
  type OpenProjectOptions, type ProjectPaths, type OfflineAccess, type IngestOptions, type IngestResult, type TableInfo,
  type TableRows, type RepairReport,
} from '../store/index.js';
