/**
 * Per-value translation between Keras (1, 2 and 3) layer configs and what tfjs-layers accepts:
 * dtypes, initializers, regularizers, constraints, activations and `__tensor__` values. Unknown values
 * that only affect fresh weights (initializers) are dropped with a warning; values that would change
 * predictions are errors, never a silent fallback.
 */
import { fleetError } from '../../runtime/catalogue/index.ts';

/** A JSON object as found in Keras configs. */
export type Json = { [key: string]: unknown };

/** Where a config came from and where warnings go. */
export interface ConvertContext {
  /** Named in every error and warning. */
  source: string;
  warn(message: string): void;
}

/** True for a plain JSON object. */
export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Keras 3 spelling -> tfjs spelling, for the initializers tfjs has.
const INITIALIZERS: Record<string, string> = {
  Zeros: 'Zeros',
  Ones: 'Ones',
  Constant: 'Constant',
  RandomUniform: 'RandomUniform',
  RandomNormal: 'RandomNormal',
  TruncatedNormal: 'TruncatedNormal',
  VarianceScaling: 'VarianceScaling',
  Orthogonal: 'Orthogonal',
  Identity: 'Identity',
  IdentityInitializer: 'Identity',
  GlorotUniform: 'GlorotUniform',
  GlorotNormal: 'GlorotNormal',
  HeNormal: 'HeNormal',
  HeUniform: 'HeUniform',
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
  LeCunNormal: 'LeCunNormal',
  LeCunUniform: 'LeCunUniform',
};
const INITIALIZER_STRINGS: Record<string, string> = {
  zeros: 'Zeros',
  zero: 'Zeros',
  ones: 'Ones',
  one: 'Ones',
  constant: 'Constant',
  uniform: 'RandomUniform',
  random_uniform: 'RandomUniform',
  normal: 'RandomNormal',
  random_normal: 'RandomNormal',
  truncated_normal: 'TruncatedNormal',
  orthogonal: 'Orthogonal',
  identity: 'Identity',
  glorot_uniform: 'GlorotUniform',
  glorot_normal: 'GlorotNormal',
  he_normal: 'HeNormal',
  he_uniform: 'HeUniform',
  lecun_normal: 'LeCunNormal',
  lecun_uniform: 'LeCunUniform',
  variance_scaling: 'VarianceScaling',
};
const CONSTRAINTS = new Set(['MaxNorm', 'UnitNorm', 'NonNeg', 'MinMaxNorm']);
const CONSTRAINT_STRINGS: Record<string, string> = {
  max_norm: 'MaxNorm',
  unit_norm: 'UnitNorm',
  non_neg: 'NonNeg',
  min_max_norm: 'MinMaxNorm',
};
/** Activations whose Keras and tfjs definitions agree (Keras name -> the name tfjs reads from a pythonic config). */
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  silu: 'swish',
  mish: 'mish',
  gelu: 'gelu',
  log_softmax: 'log_softmax',
};

/** Unwraps Keras 3 `__tensor__` / `__numpy__` values to plain numbers or arrays. */
export function unwrapTensor(v: unknown): unknown {
  if (isObject(v) && (v.class_name === '__tensor__' || v.class_name === '__numpy__') && isObject(v.config)) {
    const value = v.config.value;
    return Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  return v;
}

/** A Keras dtype (string or Keras 3 DTypePolicy object) as the tfjs dtype string. */
export function convertDtype(v: unknown, ctx: ConvertContext, where: string): string | undefined {
  const name = isObject(v) ? (isObject(v.config) ? v.config.name : undefined) : v;
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string') return undefined;
  if (name === 'float32' || name === 'int32' || name === 'bool') return name;
  if (name.startsWith('mixed_') || name === 'float16' || name === 'bfloat16' || name === 'float64') {
    ctx.warn(`${ctx.source}: ${where} uses dtype policy "${name}"; TensorFlow.js computes it in float32.`);
    return 'float32';
  }
  return name;
}

/** An initializer as tfjs accepts it, or undefined (drop the key) with a warning when tfjs has no match. */
export function convertInitializer(v: unknown, ctx: ConvertContext, where: string): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'string') {
    const known = INITIALIZER_STRINGS[v] ?? INITIALIZERS[v];
    if (known) return { class_name: known, config: {} };
  } else if (isObject(v) && typeof v.class_name === 'string') {
    const known = INITIALIZERS[v.class_name];
    const config = isObject(v.config) ? { ...v.config } : {};
    if (known) {
      if (known === 'VarianceScaling' && config.distribution === 'untruncated_normal') config.distribution = 'normal';
      return { class_name: known, config };
    }
  }
  ctx.warn(
    `${ctx.source}: ${where} ${JSON.stringify(v)} is not an initializer TensorFlow.js has; ` +
      "the layer's default is used (saved weights are unaffected).",
  );
  return undefined;
}

/** A regularizer as tfjs's L1L2, or undefined with a warning. */
export function convertRegularizer(v: unknown, ctx: ConvertContext, where: string): unknown {
  if (v === null || v === undefined) return v;
  const cls = isObject(v) ? v.class_name : v;
  const cfg = isObject(v) && isObject(v.config) ? v.config : {};
  const num = (x: unknown, d: number) => (typeof x === 'number' ? x : d);
  switch (cls) {
    case 'L1L2':
    case 'l1_l2':
      return { class_name: 'L1L2', config: { l1: num(cfg.l1, 0), l2: num(cfg.l2, 0) } };
    case 'L1':
    case 'l1':
      return { class_name: 'L1L2', config: { l1: num(cfg.l1, 0.01), l2: 0 } };
    case 'L2':
    case 'l2':
      return { class_name: 'L1L2', config: { l1: 0, l2: num(cfg.l2, 0.01) } };
    default:
      ctx.warn(
        `${ctx.source}: ${where} ${JSON.stringify(v)} is not a regularizer TensorFlow.js has; ` +
          'it is dropped (training loss differs, predictions do not).',
      );
      return undefined;
  }
}

/** A constraint as tfjs accepts it, or undefined with a warning. */
export function convertConstraint(v: unknown, ctx: ConvertContext, where: string): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'string' && CONSTRAINT_STRINGS[v]) return { class_name: CONSTRAINT_STRINGS[v], config: {} };
  if (isObject(v) && typeof v.class_name === 'string' && CONSTRAINTS.has(v.class_name))
    return { class_name: v.class_name, config: isObject(v.config) ? v.config : {} };
  ctx.warn(`${ctx.source}: ${where} ${JSON.stringify(v)} is not a constraint TensorFlow.js has; it is dropped.`);
  return undefined;
}

/**
 * An activation name as tfjs accepts it. Anything that would compute something else is an error:
 * Keras 3 redefined hard_sigmoid (x/6 + 0.5) while tfjs keeps Keras 2's (0.2x + 0.5).
 */
export function convertActivation(v: unknown, ctx: ConvertContext, where: string, keras3: boolean): string | undefined {
  if (v === null || v === undefined) return undefined;
  const name = isObject(v) ? (typeof v.config === 'string' ? v.config : v.class_name) : v;
  if (typeof name === 'string') {
    if (name === 'hard_sigmoid' && !keras3) return 'hard_sigmoid';
    const tfjsName = ACTIVATIONS[name];
    if (tfjsName) return tfjsName;
  }
  const hint = name === 'hard_sigmoid' ? ' (Keras 3 computes hard_sigmoid as relu6(x+3)/6, which tfjs lacks)' : '';
  const names = Object.keys(ACTIVATIONS).join(', ');
  throw fleetError(
    'KERAS_ACTIVATION',
    { names, where, source: ctx.source, hint, received: JSON.stringify(v) },
    { file: ctx.source },
  );
}

// Config keys Python Keras checks with isinstance(x, float): an integral value must be written as 1.0, not 1.
const FLOAT_KEYS = new Set([
  'momentum',
  'learning_rate',
  'rho',
  'epsilon',
  'beta_1',
  'beta_2',
  'initial_accumulator_value',
]);
const FLOAT_MARK = '__tensorfleet_float__';

/** JSON text for Python readers: integral values of float-typed keys (e.g. momentum 0) are written as 0.0. */
export function pythonJSON(value: unknown): string {
  const text = JSON.stringify(value, (key, v: unknown) =>
    FLOAT_KEYS.has(key) && typeof v === 'number' && Number.isInteger(v) ? `${FLOAT_MARK}${v}` : v,
  );
  return text.replace(new RegExp(`"${FLOAT_MARK}(-?\\d+)"`, 'g'), '$1.0');
}
