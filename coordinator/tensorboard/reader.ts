/** Reads event files back in TypeScript, for tests and tools that check what a SummaryWriter wrote. */
import { readFileSync } from 'node:fs';
import { decodeEvent, type TbEvent } from './proto.ts';
import { decodeRecords } from './record.ts';

/** Every Event in one event file, in order; throws FLEET_ERR_DATA on a bad CRC, framing or protobuf. */
export function readEventFile(file: string): TbEvent[] {
  return decodeRecords(readFileSync(file), file).map(decodeEvent);
}
