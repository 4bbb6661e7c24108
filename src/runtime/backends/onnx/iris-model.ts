/**
 * Built-in example model: a nearest-centroid classifier for Fisher's Iris data
 * set, small enough to generate on the fly yet meaningful to query.
 *
 * @module
 */
import { buildOnnxModel } from './onnx-model.js';

/**
 * Class names, in the order of the probability columns.
 *
 * @example
 * ```ts
 * IRIS_CLASSES[argmax(probabilities[0])]; // e.g. 'setosa'
 * ```
 */
export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'] as const;

/**
 * Input feature order; all measured in centimetres.
 *
 * @example
 * ```ts
 * IRIS_FEATURES.indexOf('petal_length'); // 2
 * ```
 */
export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

/**
 * Per-class means of the 150-sample Iris data set (50 per class), in cm, in
 * {@link IRIS_FEATURES} order. These are the model's only "trained" weights.
 *
 * @example
 * ```ts
 * IRIS_CLASS_MEANS.setosa; // [5.006, 3.428, 1.462, 0.246]
 * ```
 */
export const IRIS_CLASS_MEANS: Readonly<Record<(typeof IRIS_CLASSES)[number], readonly number[]>> = {
  setosa: [5.006, 3.428, 1.462, 0.246],
  versicolor: [5.936, 2.77, 4.26, 1.326],
  virginica: [6.588, 2.974, 5.552, 2.026],
};

/**
 * Softmax temperature factor. With T = 2, `softmax(T·logits)` equals
 * `softmax(−‖x − μ_k‖²)`: samples near a centroid get ~0.99+, borderline
 * versicolor/virginica samples get visibly split probabilities.
 */
const TEMPERATURE = 2;

/**
 * Builds the Iris example classifier as ONNX bytes (opset 13).
 *
 * Nearest-centroid scoring is linear: `‖x − μ_k‖² = ‖x‖² − 2·x·μ_k + ‖μ_k‖²`,
 * and `‖x‖²` is the same for every class, so ranking by
 * `logit_k = x·μ_k − ‖μ_k‖²/2` ranks by distance. That makes the model a
 * single MatMul + Add, followed by Softmax for probabilities and
 * ArgMax + Gather over a string table for the label.
 *
 * - input `features`: FLOAT `[batch, 4]` (sepal length, sepal width, petal length, petal width; cm)
 * - output `probabilities`: FLOAT `[batch, 3]` (setosa, versicolor, virginica)
 * - output `label`: STRING `[batch]`
 *
 * @example
 * ```ts
 * const session = await ort.InferenceSession.create(buildIrisModel());
 * const out = await session.run({ features: new ort.Tensor('float32', [5.1, 3.5, 1.4, 0.2], [1, 4]) });
 * out.label.data; // ['setosa']
 * ```
 */
export function buildIrisModel(): Uint8Array {
  const means = IRIS_CLASSES.map((c) => IRIS_CLASS_MEANS[c]);
  // W is [4 features x 3 classes], row-major: W[f][k] = μ_k[f].
  const weights = new Float32Array(IRIS_FEATURES.length * IRIS_CLASSES.length);
  IRIS_FEATURES.forEach((_, f) => {
    means.forEach((mu, k) => {
      weights[f * IRIS_CLASSES.length + k] = mu[f] ?? 0;
    });
  });
  const bias = Float32Array.from(means, (mu) => -mu.reduce((s, v) => s + v * v, 0) / 2);

  return buildOnnxModel({
    graphName: 'iris_nearest_centroid',
    producerName: 'berth',
    producerVersion: '1',
    modelVersion: 1,
    docString:
      'Nearest-centroid classifier for the Iris flower data set (Fisher, 1936). ' +
      'Input: features [batch, 4] = sepal length, sepal width, petal length, petal width in cm. ' +
      'Outputs: probabilities [batch, 3] over (setosa, versicolor, virginica) and the predicted label.',
    opset: 13,
    inputs: [{ name: 'features', elemType: 'FLOAT', shape: ['batch', IRIS_FEATURES.length] }],
    outputs: [
      { name: 'probabilities', elemType: 'FLOAT', shape: ['batch', IRIS_CLASSES.length] },
      { name: 'label', elemType: 'STRING', shape: ['batch'] },
    ],
    initializers: [
      {
        name: 'centroids',
        elemType: 'FLOAT',
        dims: [IRIS_FEATURES.length, IRIS_CLASSES.length],
        data: weights,
      },
      { name: 'half_sq_norms', elemType: 'FLOAT', dims: [IRIS_CLASSES.length], data: bias },
      { name: 'temperature', elemType: 'FLOAT', dims: [], data: [TEMPERATURE] },
      { name: 'class_names', elemType: 'STRING', dims: [IRIS_CLASSES.length], data: IRIS_CLASSES },
    ],
    nodes: [
      { name: 'project', opType: 'MatMul', inputs: ['features', 'centroids'], outputs: ['projected'] },
      { name: 'score', opType: 'Add', inputs: ['projected', 'half_sq_norms'], outputs: ['logits'] },
      { name: 'sharpen', opType: 'Mul', inputs: ['logits', 'temperature'], outputs: ['scaled_logits'] },
      {
        name: 'normalise',
        opType: 'Softmax',
        inputs: ['scaled_logits'],
        outputs: ['probabilities'],
        attributes: { axis: { int: 1 } },
      },
      {
        name: 'pick',
        opType: 'ArgMax',
        inputs: ['logits'],
        outputs: ['class_index'],
        attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
      },
      {
        name: 'name_class',
        opType: 'Gather',
        inputs: ['class_names', 'class_index'],
        outputs: ['label'],
        attributes: { axis: { int: 0 } },
      },
    ],
    metadata: {
      description:
        'Iris flower classifier (nearest class centroid). Scores are x·μ_k − ‖μ_k‖²/2, ' +
        'probabilities are softmax(2·scores) = softmax(−squared distance to each class mean).',
      classes: IRIS_CLASSES.join(','),
      input_features: IRIS_FEATURES.join(','),
      input_units: 'cm',
      training_data: 'Fisher Iris data set, 150 samples; weights are the per-class feature means',
      example_input: '[[5.1, 3.5, 1.4, 0.2]] -> setosa',
    },
  });
}
