/**
 * TFRecord framing, the container of TensorBoard event files:
 *   uint64 length (LE) | uint32 masked CRC32C of those 8 bytes (LE) | data | uint32 masked CRC32C of data (LE)
 * TensorFlow masks the CRCs because a CRC of data that itself holds CRCs is weak; readers (TensorBoard's
 * included) check both, so a wrong mask makes the whole file unreadable rather than subtly wrong.
 */
import { crc32c } from '@node-rs/crc32';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

const MASK_DELTA = 0xa282ead8;
/** Bytes of framing around each record's data: length, length CRC, data CRC. */
const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/** TensorFlow's masked CRC32C of `data`: rotate right by 15 bits, add 0xa282ead8, as uint32. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** One framed record holding `data`, ready to append to an event file. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + data.byteLength + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.byteLength), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.byteLength);
  return out;
}

/**
 * Every record's data in a whole event file, checking both CRCs; throws FLEET_ERR_DATA naming `source`
 * on a truncated record or a CRC mismatch (a reader that skipped those would hide a broken writer).
 */
export function decodeRecords(file: Uint8Array, source = '<buffer>'): Uint8Array[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < buf.byteLength) {
    if (buf.byteLength - at < HEADER_BYTES)
      throw fleetError('TB_SHORT_HEADER', { size: HEADER_BYTES, at, source, received: `${buf.byteLength - at} bytes` });
    const length = buf.readBigUInt64LE(at);
    const lengthCrc = buf.readUInt32LE(at + 8);
    if (lengthCrc !== maskedCrc32c(buf.subarray(at, at + 8)))
      throw fleetError('TB_LENGTH_CRC', { at, source, received: `0x${lengthCrc.toString(16)}` });
    const end = at + HEADER_BYTES + Number(length);
    if (end + FOOTER_BYTES > buf.byteLength)
      throw fleetError('TB_SHORT_RECORD', {
        length,
        at,
        source,
        received: `${buf.byteLength - at - HEADER_BYTES} bytes left`,
      });
    const data = buf.subarray(at + HEADER_BYTES, end);
    const dataCrc = buf.readUInt32LE(end);
    if (dataCrc !== maskedCrc32c(data))
      throw fleetError('TB_DATA_CRC', { at, source, received: `0x${dataCrc.toString(16)}` });
    records.push(data);
    at = end + FOOTER_BYTES;
  }
  return records;
}
