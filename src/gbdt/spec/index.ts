/**
 * The GBDT's parameter table and its per-parameter check, without the engine: what the config layer
 * imports to validate `models.<name>.params` when kiln.config.ts loads (params.ts needs only zod and
 * core, so a config load never pulls in the trainer). The engine's own surface is `../index.ts`.
 */
export { PARAMS, PARAM_NAMES, OBJECTIVE_NAMES, checkParams, type GbdtParams, type ParamIssue, type ParamName } from '../params.js';
