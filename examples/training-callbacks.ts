/**
 * The guide's "Training with Callbacks": EarlyStopping on val_loss (patience 3, best weights restored),
 * ReduceLROnPlateau (factor 0.5, patience 2, min 1e-6), ModelCheckpoint of the best val_accuracy, and
 * TensorBoard logs, for up to 50 epochs. On random labels val_loss soon rises, so it stops early.
 *   npx tensorfleet local --workers 2 examples/training-callbacks.ts
 *   tensorboard --logdir runs/training-callbacks/logs
 */
import { EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TensorBoard, defineJob } from '../index.ts';
import { randomData } from './guide-data.ts';
import { guideMlp } from './mlp-model.ts';

export default defineJob({
  name: 'training-callbacks',
  model: guideMlp,
  compile: { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
  data: () => ({ train: randomData(1000, 42), validation: randomData(200, 43) }),
  fit: { epochs: 50, batchSize: 32, verbose: 1 },
  callbacks: () => [
    new EarlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true }),
    new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.5, patience: 2, minLr: 1e-6 }),
    new ModelCheckpoint('runs/training-callbacks/best_model', { monitor: 'val_accuracy', saveBestOnly: true }),
    new TensorBoard({ logDir: 'runs/training-callbacks/logs' }),
  ],
});
