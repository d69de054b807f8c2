/** Error message templates raised by shared/wire/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const WIRE_MESSAGES = {
  SECURITY_MAX_MESSAGE_SIZE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --max-message-size to be a positive number of bytes, or -1 for no limit. Received: {received}',
  },
  SECURITY_SERVER_KEY_ON_COORDINATOR: {
    code: 'FLEET_ERR_CONFIG',
    template: "Expected --curve-server-key only on workers (the coordinator's own key is --curve-secret-key). Received: --curve-server-key {file}",
  },
  SECURITY_ALLOW_KEYS_ALONE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --curve-secret-key with --allow-keys (keys are checked during the CURVE handshake). Received: --allow-keys {dir} alone',
  },
  SECURITY_ALLOW_KEYS_ON_WORKER: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --allow-keys only on the coordinator. Received: --allow-keys {dir}',
  },
  SECURITY_NO_SERVER_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template: "Expected --curve-server-key (the coordinator's NAME.pub) with --curve-secret-key. Received: --curve-secret-key {file} alone",
  },
  SECURITY_NO_TOKEN_FILE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a join token file at {file}. Received: {reason}',
  },
  SECURITY_BAD_TOKEN: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected {file} to hold one line of {min} to {max} characters (`tensorfleet keys --token` writes one). Received: {length} characters{lines}',
  },
  SECURITY_TOKEN_REFUSED: {
    code: 'FLEET_ERR_AUTH',
    template: "Expected the coordinator's join token in the hello of {from}. Received: {received}",
  },
  SECURITY_KEY_REFUSED: {
    code: 'FLEET_ERR_AUTH',
    template: 'Expected the coordinator to accept this worker\'s CURVE key "{publicKey}" ({file}). Received: a refusal ({detail}); put {name}.pub into the coordinator\'s --allow-keys folder',
  },
  KEYS_BAD_Z85: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected {field} in {file} to be a 40-character Z85 CURVE key. Received: {length} characters',
  },
  KEYS_UNREADABLE: { code: 'FLEET_ERR_CONFIG', template: 'Expected {what} at {file}. Received: {reason}' },
  KEYS_NOT_PRIVATE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected {what} {file} to be accessible to its owner only (chmod 600; in Kubernetes, defaultMode: 0400). Received: mode {mode}',
  },
  KEYS_NO_SECRET_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a secret-key = "..." line in {file} (a NAME.key file from `tensorfleet keys`). Received: {received}',
  },
  KEYS_PAIR_MISMATCH: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected the public-key in {file} to belong to its secret-key. Received: public key "{publicKey}", but the secret key\'s is "{derived}"',
  },
  KEYS_NO_PUBLIC_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a public-key = "..." line in {file} (a NAME.pub file from `tensorfleet keys`). Received: no public key',
  },
  KEYS_NO_ALLOW_DIR: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a folder of allowed NAME.pub files at {dir}. Received: {reason}',
  },
  KEYS_NO_PUB_FILES: {
    code: 'FLEET_ERR_CONFIG',
    template: "Expected at least one NAME.pub file in {dir} (copy each worker's .pub there). Received: {count} other files",
  },
  KEYS_BAD_NAME: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a key name of letters, digits, ".", "-" or "_" (at most 64). Received: {name}',
  },
  KEYS_FILES_EXIST: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected no existing key files (pass --force to replace them). Received: {files} already exist',
  },
  Z85_BAD_BYTE_COUNT: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a multiple of 4 bytes to encode as Z85. Received: {bytes} bytes',
  },
  Z85_BAD_LENGTH: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected Z85 text whose length is a multiple of 5. Received: {length} characters',
  },
  Z85_BAD_CHARACTER: { code: 'FLEET_ERR_CONFIG', template: 'Expected Z85 characters only. Received: {char} at {at}' },
  Z85_GROUP_OVERFLOW: { code: 'FLEET_ERR_CONFIG', template: 'Expected Z85 groups below 2^32. Received: {group}' },
} as const satisfies Record<string, MessageSpec>;
