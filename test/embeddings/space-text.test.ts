/** Text spaces: the trained-here LSA and a local ONNX sentence encoder (built by scripts/make-text-encoder.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingLookup, TextLsa, topicalCorpus, trainSpace, VersionFiles } from '../../src/embeddings/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { writeTinyTextEncoder } from '../../scripts/make-text-encoder.js';
import { tempDir } from '../helpers.js';

let project: Project;
let dir: string;
let cleanup: () => void;
let topicOf: Map<string, number>;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-emb-text-'));
  writeTinyTextEncoder(join(dir, 'encoder'), { seed: 3 });
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'embtext', embeddings: {
  docs_lsa: { entity: 'document', source: { kind: 'text', table: 'docs', id: 'doc_id', text: ['title', 'body'] }, trainer: 'text-lsa', dim: 12, attributes: { columns: ['topic'] } },
  docs_onnx: { entity: 'document', source: { kind: 'text', table: 'docs', id: 'doc_id', text: 'title' }, trainer: 'text-onnx', params: { path: 'encoder' } },
  bad_dim: { entity: 'document', source: { kind: 'text', table: 'docs', id: 'doc_id', text: 'title' }, trainer: 'text-onnx', dim: 7, params: { path: 'encoder' } },
  no_model: { entity: 'document', source: { kind: 'text', table: 'docs', id: 'doc_id', text: 'title' }, trainer: 'text-onnx', params: { path: 'nowhere' } },
} });
`);
  await initProject(dir);
  project = await Project.open({ project: dir });
  const corpus = topicalCorpus({ texts: 300, words: 30, seed: 9 });
  topicOf = new Map();
  const lines = ['doc_id,topic,title,body'];
  corpus.texts.forEach((t, i) => {
    topicOf.set(`d${i}`, corpus.topic[i]!);
    const words = t.split(' ');
    lines.push(`d${i},t${corpus.topic[i]},"${words.slice(0, 6).join(' ')}","${words.slice(6).join(' ')}"`);
  });
  writeFileSync(join(dir, 'docs.csv'), `${lines.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE docs AS SELECT * FROM read_csv('${join(dir, 'docs.csv')}')`);
}, 60_000);
afterAll(() => { project?.close(); cleanup?.(); });

describe('text spaces', () => {
  it('text-lsa: neighbours share the topic; the saved encoder folds new text in identically', async () => {
    const { version } = await trainSpace(project, 'docs_lsa', { quiet: true });
    expect([version.trainer, version.dim, version.size]).toEqual(['text-lsa', 12, 300]);
    expect(version.dataTo).toBeNull();
    const lookup = new EmbeddingLookup(project.embeddings);
    let agree = 0;
    for (let i = 0; i < 300; i += 10) {
      for (const n of lookup.neighbors('docs_lsa', { id: `d${i}`, k: 10 }).neighbors) agree += topicOf.get(n.id) === topicOf.get(`d${i}`) ? 1 : 0;
    }
    expect(agree / 300).toBeGreaterThan(0.8);
    // The version keeps its encoder: re-encoding a document's text gives its stored vector.
    const files = VersionFiles.open(version.path);
    const model = TextLsa.fromJSON(files.encoder as Parameters<typeof TextLsa.fromJSON>[0]);
    const row = (await project.offline.all<{ t: string }>(`SELECT concat_ws(' ', title, body) AS t FROM docs WHERE doc_id = 'd7'`))[0]!.t;
    const v = model.encodeSync([row]);
    const stored = files.vector('d7')!;
    for (let j = 0; j < 12; j++) expect(v[j]).toBeCloseTo(stored[j]!, 5);
    // Attribute filters work on text spaces too.
    const only = lookup.neighbors('docs_lsa', { id: 'd0', k: 5, filters: { topic: 't1' } }).neighbors;
    expect(only.every((n) => topicOf.get(n.id) === 1)).toBe(true);
  }, 60_000);

  it('text-onnx: a local model, its dimension, and clear errors', async () => {
    const { version } = await trainSpace(project, 'docs_onnx', { quiet: true });
    expect([version.trainer, version.dim, version.size]).toEqual(['text-onnx', 32, 300]);
    expect(String(version.metrics.model_sha256)).toMatch(/^[0-9a-f]{64}$/);
    const v = new EmbeddingLookup(project.embeddings).get('docs_onnx', ['d1']).vectors[0]!;
    expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    await expect(trainSpace(project, 'bad_dim', { quiet: true })).rejects.toThrow(/dim 7, but the ONNX encoder .* outputs 32/);
    await expect(trainSpace(project, 'no_model', { quiet: true })).rejects.toThrow(/nowhere/);
    expect(project.embeddings.has('bad_dim')).toBe(false);
  }, 60_000);
});
