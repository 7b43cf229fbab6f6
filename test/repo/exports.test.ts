import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ENTRIES } from '../../src/entries/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };

/** package.json `exports` without ./package.json: entry -> the source file its built file comes from. */
function entries(): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    m.set(key === '.' ? 'kiln' : `kiln/${key.slice(2)}`, join(ROOT, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')));
  }
  return m;
}

async function exportList(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, file] of entries()) out[name] = Object.keys(await import(file)).sort();
  return out;
}

describe('the public API', () => {
  it('is the package.json exports map: every entry has types and code in dist/, built from a file in src/', () => {
    expect(pkg.exports['./package.json']).toBe('./package.json');
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (key === './package.json') continue;
      expect(target, key).toEqual({ types: expect.stringMatching(/^\.\/dist\/.+\.d\.ts$/), default: expect.stringMatching(/^\.\/dist\/.+\.js$/) });
      const t = target as { types: string; default: string };
      expect(t.types.replace(/\.d\.ts$/, ''), key).toBe(t.default.replace(/\.js$/, ''));
    }
    for (const [name, file] of entries()) expect(existsSync(file), `${name}: ${file}`).toBe(true);
    expect([...entries().keys()]).toEqual(['kiln', ...PACKAGE_ENTRIES.map((e) => `kiln/${e}`)]);
  });

  // A change to this list is a change to kiln's public API: make it on purpose (vitest -u), and say so.
  it('exports exactly these names from each entry', async () => {
    expect(await exportList()).toMatchInlineSnapshot(`
      {
        "kiln": [
          "ERROR_CODES",
          "KilnError",
          "abs",
          "add",
          "attribute",
          "bucket",
          "coalesce",
          "count",
          "countDistinct",
          "defineConfig",
          "derived",
          "div",
          "entity",
          "eventSource",
          "exitCode",
          "featureSet",
          "first",
          "greatest",
          "httpStatus",
          "isKilnError",
          "last",
          "lastK",
          "least",
          "ln1p",
          "max",
          "mean",
          "min",
          "mul",
          "neg",
          "percentile",
          "snapshotSource",
          "sqrt",
          "stddev",
          "sub",
          "sum",
          "timeSinceLast",
        ],
        "kiln/embeddings": [
          "EmbeddingLookup",
          "EmbeddingRegistry",
          "ExactIndex",
          "MfModel",
          "OnnxTextEncoder",
          "TextLsa",
          "TwoTowerModel",
          "VectorIndex",
          "VersionFiles",
          "WordPieceTokenizer",
          "compareVersions",
          "loadTextEncoder",
          "neighborOverlap",
          "procrustes",
          "recallAt",
          "trainAls",
          "trainBpr",
          "trainItem2Vec",
          "trainMf",
          "trainSpace",
          "trainTwoTower",
          "vectorsTable",
        ],
        "kiln/eval": [
          "CALIBRATION_STRATEGIES",
          "CALIBRATOR_FORMAT",
          "DEFAULT_TOP",
          "FOUR_FIFTHS",
          "LIFT_TIES",
          "LOG_LOSS_EPS",
          "REASON_DIRECTIONS",
          "SLICE_METRICS",
          "SLICE_METRIC_NAMES",
          "approvalCurve",
          "auc",
          "brier",
          "bySlice",
          "calibrationTable",
          "calibratorFromJson",
          "describeInputs",
          "expectedCalibrationError",
          "fairnessReport",
          "familyName",
          "fitIsotonic",
          "fitPlatt",
          "gini",
          "groupFigures",
          "ks",
          "liftTable",
          "logLoss",
          "originsFromFeatures",
          "originsFromNames",
          "prAuc",
          "prCurve",
          "reasonCoder",
          "reasonCodes",
          "rocCurve",
          "scoreDistribution",
          "scorecardScaling",
          "topWithRest",
        ],
        "kiln/features": [
          "TRAINING_SET_FORMAT",
          "buildTrainingSet",
          "describeDefinition",
          "loadFeatureRegistry",
          "loadProjectFeatures",
        ],
        "kiln/gbdt": [
          "Booster",
          "METRIC_NAMES",
          "MIN_ENTRIES_FOR_THREADS",
          "MIN_WIDE_ENTRIES_FOR_THREADS",
          "MODEL_FORMAT",
          "MODEL_SOURCES",
          "OBJECTIVE_NAMES",
          "PARAMS",
          "PARAM_NAMES",
          "WIDE_FROM_FEATURES",
          "explain",
          "explainRow",
          "fromLightGBMText",
          "fromXGBoostJSON",
          "lightgbmToKilnJSON",
          "loadModelText",
          "meanAbsContributions",
          "threadsFor",
          "toXGBoostJSON",
          "toXGBoostModel",
          "train",
          "xgboostToKilnJSON",
        ],
        "kiln/nn": [
          "Adam",
          "AdamW",
          "Arena",
          "DataParallel",
          "Dense",
          "Dropout",
          "EarlyStopping",
          "Embedding",
          "EmptyEmbedding",
          "GRU",
          "LayerNorm",
          "LearnedPositions",
          "MultiheadAttention",
          "OnnxSession",
          "Params",
          "SeqNet",
          "SequenceEncoding",
          "SequencePool",
          "TimeGapEncoding",
          "TransformerEncoder",
          "TransformerEncoderLayer",
          "allocBatch",
          "bceWithLogits",
          "buildNet",
          "clipGradNorm",
          "encodeBatch",
          "encodeRow",
          "exportSeqNet",
          "fit",
          "jsKernels",
          "kernelsFor",
          "learnEncoding",
          "lrAt",
          "ntXent",
          "onnxSignature",
          "sampledSoftmax",
          "sequenceSpec",
          "sharedField",
          "softmaxCrossEntropy",
        ],
        "kiln/online": [
          "DEFAULT_REDIS_URL",
          "OnlineFeatureStore",
          "materialize",
          "onlineSettings",
          "openOnlineStore",
        ],
        "kiln/pipelines": [
          "BUNDLE_FORMAT",
          "FusedModel",
          "ModelBundle",
          "OnnxSequenceModel",
          "SEQUENCE_BUNDLE_FORMAT",
          "SequenceModel",
          "evaluateModel",
          "exportModel",
          "exportSequenceOnnx",
          "importModel",
          "importOnnxModel",
          "loadModelBundle",
          "loadModelForScoring",
          "parseSequenceBundle",
          "trainModel",
        ],
        "kiln/recs": [
          "GENERATOR_KINDS",
          "RecommenderHandle",
          "RetrieveThenRank",
          "checkInteractions",
          "evaluateRecommender",
          "evaluateTopK",
          "fitGenerator",
          "fitRetrieveThenRank",
          "indexInteractions",
          "loadRetrieveThenRank",
          "saveRetrieveThenRank",
          "stratifiedSplit",
          "syntheticMarketplace",
          "trainRecommender",
          "tuneGenerator",
        ],
        "kiln/registry": [
          "ModelRegistry",
          "Run",
          "Tracker",
          "aliasHistory",
          "checkSignature",
          "compareRuns",
          "getRun",
          "listRuns",
        ],
        "kiln/search": [
          "Analyzer",
          "Bm25Index",
          "Reranker",
          "SearchIndexHandle",
          "VectorSearch",
          "averagePrecision",
          "buildSearchIndex",
          "cranfieldQueries",
          "evaluateRuns",
          "evaluateSearchIndex",
          "fitBlendWeights",
          "linearBlend",
          "loadCranfield",
          "ndcgAtK",
          "readJudgedQueries",
          "recallAtK",
          "reciprocalRankFusion",
        ],
        "kiln/serve": [
          "createServer",
          "decidedBy",
          "decisionLogDir",
          "decisionLogOf",
          "defaultEmbeddingRefs",
          "fixedModelSet",
          "getDecision",
          "hashApiKey",
          "loadLiveVersion",
          "newApiKey",
          "newDecisionId",
          "openApiDocument",
          "openDecisionLog",
          "openEmbeddingSet",
          "openModelSet",
          "readDecisions",
          "scoreBatch",
          "serveSettings",
          "servedFeatures",
          "startServer",
          "validateLive",
        ],
        "kiln/sim": [
          "SIM_TABLES",
          "parseSimOptions",
          "simulate",
        ],
        "kiln/store": [
          "DEFAULT_WAIT_TIMEOUT_SECONDS",
          "Project",
          "ingest",
          "initProject",
          "listTables",
          "showTable",
          "tableChecksum",
          "tableChecksums",
        ],
      }
    `);
  });

  it("keeps the demo's features out of the library", async () => {
    const names = Object.values(await exportList()).flat();
    expect(names.filter((n) => /^DEMO_/.test(n))).toEqual([]);
    expect(existsSync(join(ROOT, 'src', 'features', 'demo-features.ts'))).toBe(false);
  });

  it('re-exports by name: no `export *` in an entry', () => {
    for (const [name, file] of entries()) expect(readFileSync(file, 'utf8'), name).not.toMatch(/^export\s+\*/m);
  });
});
