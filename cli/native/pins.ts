/**
 * What `tensorfleet setup native` builds, pinned in one place. The tfjs-node binding is compiled from
 * the sources in its npm package against the libtensorflow that TensorFlow's pip wheel ships, because
 * tfjs-node's own install step downloads libtensorflow 2.9.1 and a prebuilt addon from hosts that
 * offline machines cannot reach. See docs/native.md for the compatibility table behind these pins.
 */

/** The tfjs-node release this project depends on (package.json optionalDependencies). */
export const TFJS_NODE_VERSION = '4.22.0';

/**
 * The wheel `--from-pip` installs. 2.21.0 is the newest release, builds and passes the gradient checks
 * against tfjs-node 4.22 (every release from 2.12 on does; see docs/native.md), and is the one the
 * machines' local PyPI mirror holds, so the install needs no download.
 */
export const PIP_PINS = {
  // Installed with --no-deps: only the shared libraries and headers are used, never `import tensorflow`.
  cpu: { requirement: 'tensorflow-cpu==2.21.0', distribution: 'tensorflow_cpu', withDeps: false },
  // The GPU-capable wheel, with its dependencies: the CUDA libraries come from the `and-cuda` extra.
  gpu: { requirement: 'tensorflow[and-cuda]==2.21.0', distribution: 'tensorflow', withDeps: true },
} as const;

/** Private virtual environment for the wheel, relative to the project root (keep it out of git). */
export const VENV_DIR = '.venv-native';

/** The two npm packages, by flavour. */
export const PACKAGES = {
  cpu: '@tensorflow/tfjs-node',
  gpu: '@tensorflow/tfjs-node-gpu',
} as const;

/** Which package and wheel a setup targets. */
export type Flavour = keyof typeof PACKAGES;

/** File written into the package's deps/ after a successful build; its presence makes setup a no-op. */
export const STAMP_FILE = 'tensorfleet-native.json';
