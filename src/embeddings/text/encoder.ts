/**
 * The one interface of kiln's text encoders (item titles, descriptions, documents -> unit vectors),
 * and `loadTextEncoder`, which opens either kind from a spec: an ONNX sentence encoder in a local
 * folder, or a TextLsa model trained here (its JSON).
 */
import { KilnError } from '../../core/errors.js';
import { TextLsa, type TextLsaJson } from './lsa.js';
import { OnnxTextEncoder, type OnnxTextEncoderOptions } from './onnx-encoder.js';

export interface TextEncoder {
  /** Width of every vector. */
  readonly dim: number;
  /** Unit vectors of the texts, row-major [texts.length, dim]. */
  encode(texts: string[]): Promise<Float32Array>;
  /** Frees native resources (an ONNX session); absent where there are none. */
  release?(): Promise<void>;
}

export type TextEncoderSpec =
  | { kind: 'onnx'; path: string; options?: OnnxTextEncoderOptions }
  | { kind: 'lsa'; json: TextLsaJson };

export const TEXT_ENCODER_KINDS = ['onnx', 'lsa'] as const;

/**
 * Opens a text encoder from its spec.
 * @example const enc = await loadTextEncoder({ kind: 'lsa', json: model.toJSON() });
 */
export async function loadTextEncoder(spec: TextEncoderSpec): Promise<TextEncoder> {
  switch (spec.kind) {
    case 'onnx':
      if (typeof spec.path !== 'string' || !spec.path) throw new KilnError('INVALID_ARGUMENT', `an onnx text encoder needs 'path', the folder with model.onnx and vocab.txt`, { path: ['path'] });
      return OnnxTextEncoder.load(spec.path, spec.options);
    case 'lsa':
      return TextLsa.fromJSON(spec.json);
    default: {
      const kind = (spec as { kind?: unknown }).kind;
      throw new KilnError('INVALID_ARGUMENT', `text encoder kind '${String(kind)}' is unknown; use one of: ${TEXT_ENCODER_KINDS.join(', ')}`, { path: ['kind'] });
    }
  }
}
