/** Error message templates raised by coordinator/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const COORDINATOR_MESSAGES = {
  CKPT_SHORT_WRITE: {
    code: 'FLEET_ERR_CHECKPOINT',
    template: 'Expected to write {bytes} bytes to {file}. Received: {received}',
  },
  CKPT_TENSOR_BYTES: {
    code: 'FLEET_ERR_FILE',
    template: 'Expected {bytes} bytes for {name} in {file}. Received: {received}',
  },
  CKPT_NO_LATEST: {
    code: 'FLEET_ERR_CHECKPOINT',
    template: 'Expected {latest} beside the checkpoints in {dir}. Received: {count} checkpoint folder(s) and no LATEST',
  },
  CKPT_NONE_GOOD: {
    code: 'FLEET_ERR_CHECKPOINT',
    template: 'Expected a checkpoint whose files match its manifest in {dir}. Received: none ({reasons})',
  },
  CKPT_WEIGHT_COUNT: {
    code: 'FLEET_ERR_WEIGHTS_MISMATCH',
    template: 'Expected {count} weights in checkpoint {path}. Received: {received}',
  },
  REDUCE_NOT_PARTICIPANT: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: "Expected reduce only from round {round}'s participants. Received: one from worker {rank}",
  },
  REDUCE_VECTOR_SIZE: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected a reduce vector of 1 to {max} elements. Received: {received:q}',
  },
  REDUCE_NONFINITE: {
    code: 'FLEET_ERR_NONFINITE',
    template: 'Expected finite values in reduce {seq} of round {round}. Received: {received:q}',
  },
  REDUCE_DUPLICATE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected one reduce {seq} per worker in round {round}. Received: a duplicate from worker {rank}',
  },
  REDUCE_LENGTH_MISMATCH: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: [
      "Expected reduce {seq} of round {round} to have {count} elements, as the other workers' do. ",
      'Received: {received:q}',
    ],
  },
  PEER_BAD_TRANSITION: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected a transition allowed from {state} ({allowed}). Received: {state} -> {to}',
  },
  TB_BAD_EVENT: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected a protobuf-encoded tensorboard Event. Received: {received:q}',
  },
  TB_SHORT_HEADER: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected a {size}-byte record header at byte {at} of {source}. Received: {received:q}',
  },
  TB_LENGTH_CRC: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected a matching length CRC at byte {at} of {source}. Received: {received:q}',
  },
  TB_SHORT_RECORD: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected {length} data bytes and a CRC at byte {at} of {source}. Received: {received:q}',
  },
  TB_DATA_CRC: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected a matching data CRC at byte {at} of {source}. Received: {received:q}',
  },
  TB_MAX_QUEUE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected SummaryWriter maxQueue to be an integer >= 1. Received: {received:q}',
  },
  TB_BAD_TAG: { code: 'FLEET_ERR_DATA', template: 'Expected a non-empty scalar tag. Received: {tag:q}' },
  TB_BAD_VALUE: { code: 'FLEET_ERR_DATA', template: 'Expected a number for scalar "{tag}". Received: {value:q}' },
  TB_BAD_STEP: { code: 'FLEET_ERR_DATA', template: 'Expected an integer step for scalar "{tag}". Received: {step:q}' },
  TB_CLOSED: {
    code: 'FLEET_ERR_DATA',
    template: 'Expected an open SummaryWriter. Received: a closed writer for {path}',
  },
  ROUND_SAMPLES: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected a step over {want} samples from worker {rank}. Received: {received:q}',
  },
  PULL_NO_SOURCE: {
    code: 'FLEET_ERR_STATE_LOST',
    template: [
      'Expected a live worker holding weights version {version} to pull from. ',
      'Received: none ({live} live); resume from the last checkpoint',
    ],
  },
  PULL_VERSION: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected weights version {want} from worker {rank}. Received: {received:q}',
  },
  PULL_SLOT: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected optimizer slots named #i/... with the shape of trainable variable i. Received: {received:q}',
  },
  HUB_COMPUTED_STALE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected computed only for the round in flight ({pending}). Received: computed for round {roundId}',
  },
  HUB_JOIN_FAILED: {
    code: 'FLEET_ERR_WORKER_LOST',
    template: 'Worker {rank} (pid {pid} on {host}) failed while joining: {reason}',
  },
  HUB_HEALTHY_TIMEOUT: {
    code: 'FLEET_ERR_WORKER_LOST',
    template: 'Expected {count} healthy worker(s) {why} within {timeoutMs} ms. Received: {received}',
  },
  HUB_PARTICIPANT_LOST: {
    code: 'FLEET_ERR_WORKER_LOST',
    template: 'Worker {rank} is {state}; cannot start {kind} {id}',
  },
  HUB_NOT_HELLO: {
    code: 'FLEET_ERR_UNKNOWN_PEER',
    template: 'Expected "hello" from a new peer. Received: "{kind}" from {peer}',
  },
  HUB_PEER_NOT_LIVE: {
    code: 'FLEET_ERR_UNKNOWN_PEER',
    template: 'Expected messages only from live workers. Received: "{kind}" from worker {rank} in state {state}',
  },
  HUB_UNEXPECTED_REPLY: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected no {kind} now ({doing}). Received: {kind} for id {id}',
  },
  HUB_READY_TWICE: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected "ready" once, after welcome. Received: "ready" from worker {rank} in state {state}',
  },
  HUB_ANSWER_NONFINITE: {
    code: 'FLEET_ERR_NONFINITE',
    template: 'worker {rank} could not answer {request} {replyId}: {code}: {message}',
  },
  HUB_ANSWER_FAILED: {
    code: 'FLEET_ERR_REMOTE',
    template: 'worker {rank} could not answer {request} {replyId}: {code}: {message}',
  },
  HUB_UNEXPECTED_KIND: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: [
      'Expected computed, stepped, evalResult, pulled, reduce, heartbeat or error from worker {rank}. ',
      'Received: "{kind}"',
    ],
  },
  HUB_UNHANDLED_KIND: { code: 'FLEET_ERR_PROTOCOL_SCHEMA', template: 'Unhandled kind {kind}' },
  HUB_REDUCE_STALE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected reduce only for the round in flight ({inFlight}). Received: reduce {seq} for round {roundId}',
  },
  HUB_REDUCE_NOT_WAITING: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: [
      'Expected reduce only from participants of round {round} that have not replied. ',
      'Received: one from worker {rank}',
    ],
  },
  HUB_REDUCE_NONFINITE: {
    code: 'FLEET_ERR_NONFINITE',
    template: 'worker {rank} could not reduce in round {round}: {reason}',
  },
  HUB_FULL: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: [
      'Expected hello while fewer than --max-workers ({max}) are live ({live} now). ',
      'Received: hello from pid {pid} on {host}',
    ],
  },
  RUN_SYNC_BN_DEADLINE: {
    code: 'FLEET_ERR_CONFIG',
    template: [
      'Expected --round-deadline 0 with syncBatchNorm (job {job}): every worker takes part in each ',
      'BatchNormalization all-reduce. Received: --round-deadline {deadline}',
    ],
  },
  RUN_X_SHAPE: {
    code: 'FLEET_ERR_DATA',
    template: "{label}: expected {source} x of shape [n, {want}] for the model's input. Received: [{received}]",
  },
  RUN_Y_SHAPE: {
    code: 'FLEET_ERR_DATA',
    template: [
      "{label}: expected {source} y to fit the model's output [{output}] under loss {loss}. ",
      'Received: y of shape [{yShape}] ({reason})',
    ],
  },
  CKPT_PATH_NO_VALUE: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected "{name}" in the logs to fill the checkpoint path {template}. Received: keys {keys}',
  },
  CKPT_PATH_FORMAT_SPEC: {
    code: 'FLEET_ERR_CONFIG',
    template: 'Expected a format spec like 02d, .2f or .3e in {template}. Received: {spec}',
  },
  REDUCE_LR_FACTOR: { code: 'FLEET_ERR_CONFIG', template: 'Expected ReduceLROnPlateau factor < 1. Received: {factor}' },
  COLLECT_NOT_REPLY: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected no {received} now (collecting {kind} {id}). Received: {received} for id {replyId}',
  },
  COLLECT_WRONG_ID: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected a {kind} reply for id {id}. Received: id {replyId}',
  },
  COLLECT_DUPLICATE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected one {kind} reply per worker for id {id}. Received: a duplicate from worker {rank}',
  },
  COLLECT_NOT_PARTICIPANT: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: "Expected {kind} only from this request's participants. Received: one from worker {rank}",
  },
  COLLECT_WORKER_LOST: {
    code: 'FLEET_ERR_WORKER_LOST',
    template: 'Worker {rank} (pid {pid} on {host}) was lost during {kind} {id}: {reason}',
  },
} as const satisfies Record<string, MessageSpec>;
