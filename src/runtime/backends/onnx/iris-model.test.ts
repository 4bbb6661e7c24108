import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildIrisModel, IRIS_CLASS_MEANS, IRIS_CLASSES } from './iris-model.js';
import { readOnnxModelInfo } from './onnx-model.js';

describe('buildIrisModel', () => {
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildIrisModel());
  });
  afterAll(async () => {
    await session.release();
  });

  async function classify(rows: number[][]): Promise<{ labels: string[]; probs: number[][] }> {
    const out = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]),
    });
    const labels = out.label!.data as string[];
    const flat = Array.from(out.probabilities!.data as Float32Array);
    expect(out.probabilities!.dims).toEqual([rows.length, 3]);
    expect(out.label!.dims).toEqual([rows.length]);
    return { labels, probs: rows.map((_, r) => flat.slice(r * 3, r * 3 + 3)) };
  }

  it('classifies typical flowers of each species in one batch', async () => {
    const { labels, probs } = await classify([
      [5.1, 3.5, 1.4, 0.2],
      [6.4, 3.2, 4.5, 1.5],
      [7.7, 3.0, 6.1, 2.3],
    ]);
    expect(labels).toEqual(['setosa', 'versicolor', 'virginica']);
    probs.forEach((row, r) => {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      // The label is the most probable class.
      expect(row.indexOf(Math.max(...row))).toBe(r);
    });
    // Confident, but not saturated everywhere: the versicolor sample sits
    // between the versicolor and virginica centroids.
    expect(probs[0]![0]).toBeGreaterThan(0.99);
    expect(probs[1]![1]).toBeGreaterThan(0.6);
    expect(probs[1]![1]).toBeLessThan(0.9);
  });

  it('equals softmax(-squared distance to each class mean)', async () => {
    const x = [6.0, 2.7, 5.1, 1.6];
    const d2 = IRIS_CLASSES.map((c) => IRIS_CLASS_MEANS[c].reduce((s, m, i) => s + (x[i]! - m) ** 2, 0));
    const e = d2.map((d) => Math.exp(-d));
    const expected = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    const { labels, probs } = await classify([x]);
    probs[0]!.forEach((p, k) => {
      expect(p).toBeCloseTo(expected[k]!, 4);
    });
    expect(labels[0]).toBe(IRIS_CLASSES[d2.indexOf(Math.min(...d2))]);
  });

  it('describes itself through metadata', () => {
    const info = readOnnxModelInfo(buildIrisModel());
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(info.metadata.classes).toBe('setosa,versicolor,virginica');
    expect(info.metadata.input_units).toBe('cm');
    expect(info.metadata.description).toMatch(/nearest class centroid/);
    expect(info.inputs).toEqual([
      { name: 'features', elemType: 'FLOAT', shape: ['batch', 4], type: 'tensor(float)', docString: '' },
    ]);
    expect(info.outputs.map((o) => [o.name, o.elemType, o.shape])).toEqual([
      ['probabilities', 'FLOAT', ['batch', 3]],
      ['label', 'STRING', ['batch']],
    ]);
    expect(info.initializerCount).toBe(4);
  });
});
