/** Error message templates raised by worker/ code (see ./index.ts for the placeholder rules). */
import type { MessageSpec } from './index.ts';

/** Templates by message id. */
export const WORKER_MESSAGES = {
  EXCHANGE_NO_MEMBERSHIP: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected a membership from the coordinator before an exchange. Received: none',
  },
  EXCHANGE_MEMBERS: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: [
      'Expected a plan, a membership and sample counts for the same members. Received: {plan}, {members} ',
      'and {samples}',
    ],
  },
  EXCHANGE_SIZE: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected a flat gradient of {want} values. Received: {received}',
  },
  EXCHANGE_BUCKET: {
    code: 'FLEET_ERR_PROTOCOL_SCHEMA',
    template: 'Expected a bucket id below {count}. Received: {received:q}',
  },
  EXCHANGE_BUCKET_LENGTH: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected one float32 tensor of {length} values for bucket {bucket}. Received: {received} values',
  },
  EXCHANGE_NOT_OWNER: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template:
      'Expected scatters of bucket {bucket} to go to its owner, worker {owner}. Received: one from worker {from}',
  },
  EXCHANGE_NOT_FROM_OWNER: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected the gather of bucket {bucket} from its owner, worker {owner}. Received: one from worker {from}',
  },
  EXCHANGE_SAMPLES: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected worker {from} to weigh its contribution by {want} samples. Received: {received:q}',
  },
  EXCHANGE_DUPLICATE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected one {kind} of bucket {bucket} from worker {from}. Received: a second',
  },
  EXCHANGE_SEND: { code: 'FLEET_ERR_WORKER_LOST', template: 'Expected to send to worker {to}. Received: {received}' },
  EXCHANGE_ROUND_ORDER: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected a round newer than {last}. Received: round {received}',
  },
  EXCHANGE_SUPERSEDED: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected round {roundId} to finish its exchange. Received: round {next} first',
  },
  EXCHANGE_STALE: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected a {kind} of a round after {last}. Received: one of round {roundId} from worker {from}',
  },
  EXCHANGE_TOO_EARLY: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template:
      'Expected at most {max} values held for later rounds. Received: more, for round {roundId} from worker {from}',
  },
  MESH_NO_ENDPOINT: { code: 'FLEET_ERR_CONFIG', template: 'Expected a bound peer endpoint on {host}. Received: none' },
  MESH_NOT_PEER_KIND: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: 'Expected a scatter or gather from a peer worker. Received: {received:q}',
  },
  MESH_SESSION: {
    code: 'FLEET_ERR_UNKNOWN_PEER',
    template: 'Expected a message of session {want}. Received: session {received:q}',
  },
  MESH_NOT_MEMBER: {
    code: 'FLEET_ERR_UNKNOWN_PEER',
    template: 'Expected a message from another member of session {session}. Received: from {from} on link {link:q}',
  },
  MESH_UNKNOWN_RANK: {
    code: 'FLEET_ERR_UNKNOWN_PEER',
    template: 'Expected a member rank to send to. Received: {received:q}',
  },
  COMMIT_NOT_PENDING: {
    code: 'FLEET_ERR_STALE_ROUND',
    template:
      'Expected a commit of the round this worker exchanged last ({pending}). Received: a commit of round {roundId}',
  },
  WORKER_COMPUTE_FAILED: { code: 'FLEET_ERR_COMPUTE', template: 'Failed to compute {request}: {reason}' },
  WORKER_SETUP_FAILED: { code: 'FLEET_ERR_JOB_LOAD', template: 'Worker setup failed: {reason}' },
  WORKER_UNEXPECTED_KIND: {
    code: 'FLEET_ERR_UNEXPECTED_MESSAGE',
    template: [
      'Expected round, evaluate, commit, pull, reduced, heartbeat, error, welcome or done ',
      'from the coordinator. Received: "{kind}"',
    ],
  },
  WORKER_UNHANDLED_KIND: { code: 'FLEET_ERR_PROTOCOL_SCHEMA', template: 'Unhandled kind {kind}' },
  REDUCE_REFUSED: {
    code: 'FLEET_ERR_REMOTE',
    template: 'the coordinator refused a reduce of round {roundId}: {code}: {message}',
  },
  REDUCE_SUPERSEDED: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Round {roundId} was superseded by round {newest}; not reducing for it',
  },
  REDUCE_UNEXPECTED_SUM: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Expected a sum for a reduce of round {round} in flight. Received: reduced {seq} for round {roundId}',
  },
  REDUCE_SUM_LENGTH: {
    code: 'FLEET_ERR_TENSOR_SHAPE',
    template: 'Expected {length} elements as reduced {seq}. Received: [{shape}]',
  },
  REDUCE_ABANDONED: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Round {roundId} was abandoned by the coordinator while reducing',
  },
  REDUCE_SESSION_ENDED: {
    code: 'FLEET_ERR_STALE_ROUND',
    template: 'Round {roundId} ended with the coordinator session',
  },
} as const satisfies Record<string, MessageSpec>;
