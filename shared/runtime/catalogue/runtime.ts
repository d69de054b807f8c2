/** Error message templates raised by shared/runtime/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const RUNTIME_MESSAGES = {
  CONFIG_UNKNOWN_FLAG: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected flags of "tensorfleet {command}" among {flags}. Received: {reason}',
  },
  CONFIG_ONE_JOB: { code: 'FLEET_ERR_CONFIG', template: 'Expected one job module. Received: {positionals:q}' },
  CONFIG_NO_POSITIONALS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected no positional arguments for "tensorfleet {command}". Received: {positionals:q}',
  },
  CONFIG_INVALID_FLAG: { code: 'FLEET_ERR_CONFIG', template: 'Invalid {flag}: {issue}. Received: {received:q}' },
  CONFIG_EXPOSED_WITHOUT_CURVE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected --curve-secret-key FILE (see `tensorfleet keys`, docs/security.md) or --insecure to bind a ',
      'non-loopback address. Received: --bind {bind} without CURVE',
    ],
  },
  BACKEND_UNAVAILABLE: {
    code: 'FLEET_ERR_BACKEND',
    template: 'Expected backend "{requested}" to be available. Received: {why}',
  },
  MODULE_PATH_NOT_TS: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a relative module path ending in .ts. Received: {rel:q}',
  },
  MODULE_NO_PACKAGE_ROOT: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a package.json in a folder above {start}. Received: none up to {dir}',
  },
} as const satisfies Record<string, MessageSpec>;
