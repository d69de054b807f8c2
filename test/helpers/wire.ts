/** Hand-made wire messages for tests that must send what encodeMessage would never write. */
import { pack } from 'msgpackr';
import { PROTOCOL_VERSION, type WireTensor } from '../../shared/wire/protocol.ts';

/** A message with any header fields (group counts included, right or wrong), then one frame per tensor. */
export function handMade(fields: Record<string, unknown>, tensors: readonly WireTensor[]): Buffer[] {
  const specs = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  const frames = tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return [pack({ v: PROTOCOL_VERSION, ...fields, tensors: specs }), ...frames];
}
