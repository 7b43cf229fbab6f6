export { buildSearchIndex, searchDir, searchSpec, type SearchIndexDocs, type SearchIndexMeta } from './build.js';
export { SearchIndexHandle, SEARCH_MODES, type SearchHit, type SearchMode, type SearchRequest, type SearchResponse } from './open.js';
export { cranfieldQueries, evaluateSearchIndex, readJudgedQueries, type JudgedQueries, type SearchEvalRow } from './eval.js';
