/**
 * Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 4 bytes become 5 printable characters, so a 32-byte
 * key is 40 characters. zeromq.js takes and returns keys in this form but exposes no codec, and the ZAP
 * handler receives client keys as raw bytes.
 */
import { fleetError } from '../../runtime/catalogue/index.ts';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Length of a CURVE key in Z85 characters. */
export const Z85_KEY_LENGTH = 40;

/** True for a 40-character Z85 string, the form of every CURVE key. */
export function isZ85Key(text: string): boolean {
  return text.length === Z85_KEY_LENGTH && [...text].every((c) => DECODE.has(c));
}

/** Encodes bytes (a multiple of 4 long) as Z85. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.byteLength % 4 !== 0) throw fleetError('Z85_BAD_BYTE_COUNT', { bytes: bytes.byteLength });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (let at = 0; at < bytes.byteLength; at += 4) {
    let value = view.getUint32(at, false);
    let chunk = '';
    for (let i = 0; i < 5; i++) {
      chunk = (ALPHABET[value % 85] as string) + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** Decodes Z85 text (a multiple of 5 long) to bytes; throws FLEET_ERR_CONFIG on a bad character or length. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw fleetError('Z85_BAD_LENGTH', { length: text.length });
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let at = 0; at < text.length; at += 5) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const digit = DECODE.get(text[at + i] as string);
      if (digit === undefined)
        throw fleetError('Z85_BAD_CHARACTER', { char: JSON.stringify(text[at + i]), at: at + i });
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw fleetError('Z85_GROUP_OVERFLOW', { group: JSON.stringify(text.slice(at, at + 5)) });
    out.writeUInt32BE(value, (at / 5) * 4);
  }
  return out;
}
