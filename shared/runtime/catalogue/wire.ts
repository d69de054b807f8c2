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
    template: [
      "Expected --curve-server-key only on workers (the coordinator's own key is --curve-secret-key). ",
      'Received: --curve-server-key {file}',
    ],
  },
  SECURITY_ALLOW_KEYS_ALONE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected --curve-secret-key with --allow-keys (keys are checked during the CURVE handshake). ',
      'Received: --allow-keys {dir} alone',
    ],
  },
  SECURITY_ALLOW_KEYS_ON_WORKER: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected --allow-keys only on the coordinator. Received: --allow-keys {dir}',
  },
  SECURITY_NO_SERVER_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      "Expected --curve-server-key (the coordinator's NAME.pub) with --curve-secret-key. Received: ",
      '--curve-secret-key {file} alone',
    ],
  },
  SECURITY_NO_TOKEN_FILE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a join token file at {file}. Received: {reason}',
  },
  SECURITY_BAD_TOKEN: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected {file} to hold one line of {min} to {max} characters (`tensorfleet keys --token` writes ',
      'one). Received: {length} characters{lines}',
    ],
  },
  SECURITY_TOKEN_REFUSED: {
    code: 'FLEET_ERR_AUTH',
    template: "Expected the coordinator's join token in the hello of {from}. Received: {received}",
  },
  SECURITY_KEY_REFUSED: {
    code: 'FLEET_ERR_AUTH',
    template: [
      'Expected the coordinator to accept this worker\'s CURVE key "{publicKey}" ({file}). Received: a ',
      "refusal ({detail}); put {name}.pub into the coordinator's --allow-keys folder",
    ],
  },
  KEYS_BAD_Z85: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected {field} in {file} to be a 40-character Z85 CURVE key. Received: {length} characters',
  },
  KEYS_UNREADABLE: { code: 'FLEET_ERR_CONFIG', template: 'Expected {what} at {file}. Received: {reason}' },
  KEYS_NOT_PRIVATE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected {what} {file} to be accessible to its owner only (chmod 600; in Kubernetes, defaultMode: ',
      '0400). Received: mode {mode}',
    ],
  },
  KEYS_NO_SECRET_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template:
      'Expected a secret-key = "..." line in {file} (a NAME.key file from `tensorfleet keys`). Received: {received}',
  },
  KEYS_PAIR_MISMATCH: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected the public-key in {file} to belong to its secret-key. Received: public key "{publicKey}", ',
      'but the secret key\'s is "{derived}"',
    ],
  },
  KEYS_NO_PUBLIC_KEY: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected a public-key = "..." line in {file} (a NAME.pub file from `tensorfleet keys`). Received: ',
      'no public key',
    ],
  },
  KEYS_NO_ALLOW_DIR: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a folder of allowed NAME.pub files at {dir}. Received: {reason}',
  },
  KEYS_NO_PUB_FILES: {
    code: 'FLEET_ERR_CONFIG',
    template:
      "Expected at least one NAME.pub file in {dir} (copy each worker's .pub there). Received: {count} other files",
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
  WIRE_UNDECODABLE: {
    code: 'FLEET_ERR_PROTOCOL_DECODE',
    template: 'Expected a message the decoder can read. Received: {received:q}',
  },
  WIRE_NO_HEADER_FRAME: {
    code: 'FLEET_ERR_PROTOCOL_DECODE',
    template: 'Expected a msgpack header frame. Received: {received:q}',
  },
  WIRE_HEADER_TOO_LARGE: {
    code: 'FLEET_ERR_PROTOCOL_DECODE',
    template: 'Expected a header of at most {max} bytes. Received: {received:q}',
  },
  WIRE_HEADER_UNDECODABLE: {
    code: 'FLEET_ERR_PROTOCOL_DECODE',
    template: 'Expected a msgpack header. Received: {received:q}',
  },
  WIRE_HEADER_NOT_MAP: {
    code: 'FLEET_ERR_PROTOCOL_DECODE',
    template: 'Expected a msgpack map header. Received: {received:q}',
  },
  WIRE_VERSION: {
    code: 'FLEET_ERR_PROTOCOL_VERSION',
    template: 'Expected protocol version {version}. Received: {received:q}',
  },
  WIRE_UNKNOWN_KIND: {
    code: 'FLEET_ERR_PROTOCOL_SCHEMA',
    template: 'Expected kind to be one of {kinds}. Received: {received:q}',
  },
  WIRE_BAD_HEADER: {
    code: 'FLEET_ERR_PROTOCOL_SCHEMA',
    template: 'Expected a valid "{kind}" header: {where}: {issue}. Received: {fields:q}',
  },
  WIRE_BAD_GROUPS: { code: 'FLEET_ERR_PROTOCOL_SCHEMA', template: 'Expected groups: {layout}. Received: {received:q}' },
  WIRE_UNKNOWN_GROUP: {
    code: 'FLEET_ERR_PROTOCOL_SCHEMA',
    template: 'Expected groups of "{kind}" among [{names}]. Received: {received:q}',
  },
  WIRE_MISSING_GROUP: {
    code: 'FLEET_ERR_PROTOCOL_SCHEMA',
    template: 'Expected group "{name}" in "{kind}". Received: {received:q}',
  },
  WIRE_GROUP_SIZE: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected {want} tensor(s) in group "{name}" of "{kind}". Received: {received:q}',
  },
  WIRE_BAD_SPECS: { code: 'FLEET_ERR_PROTOCOL_SCHEMA', template: 'Expected tensors: {layout}. Received: {received:q}' },
  WIRE_SPEC_COUNT: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected {total} tensor specs, as the group counts {counts:q} add up to. Received: {received:q}',
  },
  WIRE_FRAME_COUNT: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected {count} tensor frames after the header. Received: {received:q}',
  },
  WIRE_GROUP_DTYPE: {
    code: 'FLEET_ERR_TENSOR_DTYPE',
    template: 'Expected dtype {dtype} for {where}. Received: {received:q}',
  },
  WIRE_GROUP_RANK: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected rank {rank} for {where}. Received: {received:q}',
  },
  WIRE_WEIGHT_INDICES: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: [
      'Expected {count} strictly ascending weightIndices, one per tensor of group "weights" in "{kind}". ',
      'Received: {received:q}',
    ],
  },
  WIRE_TENSOR_BYTES: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected {bytes} bytes for tensor "{name}" of shape [{shape}]. Received: {received:q}',
  },
  WIRE_TENSOR_COUNT: { code: 'FLEET_ERR_TENSOR_SHAPE', template: 'Expected {count} tensors. Received: {received:q}' },
  WIRE_TENSOR_DTYPE: {
    code: 'FLEET_ERR_TENSOR_DTYPE',
    template: 'Expected dtype {dtype} for tensor {index} ({name}). Received: {received:q}',
  },
  WIRE_TENSOR_SHAPE: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected shape [{shape}] for tensor {index} ({name}). Received: {received:q}',
  },
  WIRE_NONFINITE: {
    code: 'FLEET_ERR_NONFINITE',
    template: 'Expected finite values in tensor {index} ({name}). Received: {received:q}',
  },
  WIRE_WEIGHT_INDEX_RANGE: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected weight indices below {count}. Received: {index} in {indices}',
  },
} as const satisfies Record<string, MessageSpec>;
