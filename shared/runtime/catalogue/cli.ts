/** Error message templates raised by cli/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const CLI_MESSAGES = {
  KEYS_FLAGS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected keys flags --out, --name, --token and --force. Received: {reason}\n{usage}',
  },
  KEYS_BAD_NAME_FLAG: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --name of letters, digits, ".", "-" or "_" (at most 64). Received: {name}',
  },
  KEYS_TOKEN_EXISTS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected no existing token file (pass --force to replace it). Received: {file} already exists',
  },
  NATIVE_BINARY_FIELD: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected a node-pre-gyp "binary" field with module_name, module_path and napi_versions <= ',
      '{supported} in {pkgDir}/package.json. Received: {binary:q}',
    ],
  },
  NATIVE_BUILD_FAILED: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected node-gyp to build {module}.node. Received: exit {code}\n{errors}\n(full log: {logFile})',
  },
  NATIVE_COMMAND_FAILED: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected {what} to succeed (`{command}`). Received: exit {code}\n{tail}',
  },
  NATIVE_UNKNOWN_SOURCE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a libtensorflow source. Received: {source:q}',
  },
  NATIVE_NO_SITE_PACKAGES: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected {venv}/lib/python3.*/site-packages after pip install. Received: none',
  },
  NATIVE_WHEEL_NAME: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a TensorFlow wheel named tensorflow[_cpu]-VERSION-....whl. Received: {name:q}',
  },
  NATIVE_WHEEL_MISSING_FILE: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected {file} in the TensorFlow wheel (TensorFlow 2.12 or newer ships the C API in ',
      'libtensorflow_cc.so.2). Received: it is missing',
    ],
  },
  NATIVE_TARBALL_LAYOUT: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected a libtensorflow tarball with include/tensorflow/c/eager/c_api.h and ',
      'lib/libtensorflow.so.X.Y.Z. Received: lib/ holds {files:q}',
    ],
  },
  NATIVE_TARBALL_MISSING_FILE: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected {file} in the tarball. Received: lib/ holds {files:q}',
  },
  NATIVE_PACKAGE_UNUSABLE: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected {pkg} to be usable after fetching it. Received: {reason}',
  },
  NATIVE_BUILT_BACKEND_FAILS: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected the freshly built {pkg} to load on the "tensorflow" backend (TensorFlow {version}, ',
      '{origin}). Received: {reason}',
    ],
  },
  NATIVE_FLAGS: { code: 'FLEET_ERR_CONFIG', template: 'Expected setup native flags. Received: {reason}\n{usage}' },
  NATIVE_POSITIONALS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected no arguments after "setup native" besides flags. Received: {positionals:q}\n{usage}',
  },
  NATIVE_SOURCE_FLAGS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected at most one of --from-pip, --from-wheel, --from-tarball. Received: {chosen}',
  },
  NATIVE_ROOT: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --root to be a project folder with a package.json. Received: {root:q}',
  },
  NATIVE_WHEEL_FLAG: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --from-wheel to name an existing .whl file. Received: {wheel:q}',
  },
  NATIVE_TARBALL_FLAG: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --from-tarball to name an existing .tar.gz file. Received: {tarball:q}',
  },
  NATIVE_NO_TOOLCHAIN: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected python3, make and g++ on PATH to compile the tfjs-node binding. Received: missing ',
      '{missing} (Debian: apt-get install -y build-essential python3)',
    ],
  },
  NATIVE_NO_NODE_GYP: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected node-gyp (npm bundles it). Received: none of {candidates:q} exists (npm install -g ',
      'node-gyp, or set npm_config_node_gyp)',
    ],
  },
  NATIVE_NO_NODE_HEADERS: {
    code: 'FLEET_ERR_BACKEND',
    template: [
      'Expected Node.js {version} headers (include/node/node_api.h and common.gypi) for node-gyp without a ',
      "download. Received: none in {candidates:q} (install the headers that match this node, e.g. Debian's ",
      'libnode-dev, or unpack node-v{version}-headers.tar.gz and set npm_config_nodedir)',
    ],
  },
  PLOT_FLAGS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected plot flags -o/--output and --format. Received: {reason}\n{usage}',
  },
  PLOT_INPUT: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected one history.json file or run directory. Received: {positionals:q}\n{usage}',
  },
  PLOT_FORMAT: { code: 'FLEET_ERR_CONFIG', template: 'Expected --format png or svg. Received: {format:q}' },
  PLOT_OUTPUT_EXTENSION: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected an output ending in .png or .svg, or --format. Received: {output:q}',
  },
  PLOT_FORMAT_MISMATCH: {
    code: 'FLEET_ERR_CONFIG',
    template: "Expected --format to match the output's extension (.{ext}). Received: --format {format}",
  },
  PLOT_HISTORY_NOT_OBJECT: {
    code: 'FLEET_ERR_DATA',
    template: 'History {file}: Expected a JSON object like {example}. Received: {received:q}',
  },
  PLOT_HISTORY_NO_HISTORY: {
    code: 'FLEET_ERR_DATA',
    template:
      'History {file}: Expected a "history" object mapping metric names to per-epoch arrays. Received: {received:q}',
  },
  PLOT_HISTORY_NOT_NUMBERS: {
    code: 'FLEET_ERR_DATA',
    template: [
      'History {file}: Expected history.{key} to be an array of numbers (null where not finite). Received: ',
      '{received:q}',
    ],
  },
  PLOT_HISTORY_BAD_EPOCH: {
    code: 'FLEET_ERR_DATA',
    template: 'History {file}: Expected "epoch" to be an array of numbers. Received: {received:q}',
  },
  PLOT_HISTORY_TOO_LONG: {
    code: 'FLEET_ERR_DATA',
    template:
      'History {file}: Expected history.{key} to have at most one value per epoch ({epochs}). Received: {received:q}',
  },
  PLOT_HISTORY_NOT_FOUND: {
    code: 'FLEET_ERR_DATA',
    template:
      'Expected a history.json file or a run directory holding one at {target}. Received: no such file or directory',
  },
  PLOT_HISTORY_UNREADABLE: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected a Keras history JSON file at {file}. Received: {reason}',
  },
  PLOT_HISTORY_BAD_JSON: {
    code: 'FLEET_ERR_DATA',
    template: 'History {file}: Expected valid JSON. Received: {reason}',
  },
  SETUP_TOPIC: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a setup topic among {topics}. Received: {topic:q}\n{usage}',
  },
  CLI_RESUME_WITHOUT_OUT: {
    code: 'FLEET_ERR_CONFIG',
    template: '--resume needs --out DIR, the run folder to continue',
  },
  CLI_UNKNOWN_COMMAND: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a command among local, coordinator, worker, {extra}. Received: "{command}"\n{usage}',
  },
  GPUS_NONE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected at least one GPU on this node for --gpus all. Received: {where}',
  },
  GPUS_BAD_SPEC: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --gpus to be "all" or a comma-separated list of GPU indices such as 0,1. Received: {spec:q}',
  },
  GPUS_DUPLICATE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected each GPU index at most once in --gpus. Received: {spec:q}',
  },
  GPUS_NOT_AVAILABLE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --gpus indices among the GPUs of this node ({where}). Received: {spec:q}',
  },
  GPUS_METRICS_PORT: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected --metrics-port to be 0 or a port with room for {count} consecutive ports (one per GPU), ',
      'at most {max}. Received: {received:q}',
    ],
  },
  GPUS_MISSING: { code: 'FLEET_ERR_CONFIG', template: 'Expected --gpus all or --gpus 0,1,... Received: {argv:q}' },
} as const satisfies Record<string, MessageSpec>;
