/**
 * Augmentation in the worker's batch pipeline: a job's `augment: { layers, seed }` applied to each
 * training batch inside the piscina threads, right after the rows are gathered. Plain data only, so
 * the resolved pipeline travels to the threads in workerData.
 */
import { fleetError } from '../../runtime/catalogue/index.ts';
import { seededRandom } from '../../runtime/rng.ts';
import { augmentSpecSchema, parseAugmentation, type AugmentSpec, type Augmentation } from './config.ts';
import { applyParams, drawParams, mixSeed } from './random.ts';
import type { ImageShape } from './transforms.ts';

/** A validated pipeline for images of shape [h, w, c]; structured-cloneable. */
export interface AugmentPipeline {
  readonly layers: readonly Augmentation[];
  /** Base seed of the stream (the job's augment.seed, default 0). */
  readonly seed: number;
  /** [height, width, channels] of one image. */
  readonly image: readonly [number, number, number];
}

/**
 * Validates a job's augment option against the training data's xShape ([n, h, w, c]); throws
 * FLEET_ERR_CONFIG for a bad layer config and FLEET_ERR_DATA for data that are not NHWC images.
 */
export function resolveAugmentSpec(spec: AugmentSpec, xShape: readonly number[]): AugmentPipeline {
  const parsed = augmentSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const form = '{ layers: [{ class_name, config }, ...], seed? }';
    throw fleetError('AUGMENT_BAD_SPEC', {
      form,
      path: issue?.path.join('.') || 'augment',
      issue: issue?.message,
      spec,
    });
  }
  const [, h, w, c] = xShape;
  if (xShape.length !== 4 || !h || !w || !c) {
    throw fleetError('AUGMENT_NOT_IMAGES', { xShape: xShape.join(', ') });
  }
  const layers = parsed.data.layers.map((l, i) => parseAugmentation(l, `augment.layers[${i}]`));
  return { layers, seed: parsed.data.seed ?? 0, image: [h, w, c] };
}

/**
 * Augments the images at the front of x in place, image i being dataset row rows[i]: each layer in
 * order, with parameters drawn from a stream seeded by (pipeline seed, epoch, row, layer). So a row's
 * augmentation depends on neither the batch nor the worker that computes it: a run on any number of
 * workers (or one process) sees the same augmented epoch, and a redone shard is augmented the same.
 */
export function augmentRows(x: Float32Array, rows: ArrayLike<number>, pipeline: AugmentPipeline, epoch: number): void {
  const [h, w, c] = pipeline.image;
  const size = h * w * c;
  const one: ImageShape = { n: 1, h, w, c };
  for (let i = 0; i < rows.length; i++) {
    const view = x.subarray(i * size, (i + 1) * size);
    let cur: Float32Array = view;
    pipeline.layers.forEach((layer, j) => {
      const rand = seededRandom(mixSeed(pipeline.seed, epoch, rows[i] as number, j, layer.seed ?? 0));
      cur = applyParams(layer, drawParams(layer, rand, one), cur, one);
    });
    if (cur !== view) view.set(cur);
  }
}
