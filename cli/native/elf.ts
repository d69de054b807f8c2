/**
 * Reads a shared library's SONAME (the name the dynamic loader will search for) straight from its
 * ELF header, so staging does not depend on binutils and never trusts a file name.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const SHT_DYNAMIC = 6;
const DT_NULL = 0n;
const DT_SONAME = 14n;

/** The DT_SONAME of a 64-bit little-endian ELF shared object, or null when it has none. */
export function readSoname(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    const read = (offset: number | bigint, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, Number(offset));
      return buf;
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return null; // not ELF64 LE
    const shoff = header.readBigUInt64LE(0x28);
    const shentsize = header.readUInt16LE(0x3a);
    const shnum = header.readUInt16LE(0x3c);
    const sections = read(shoff, shentsize * shnum);
    const section = (i: number) => {
      const at = i * shentsize;
      return {
        type: sections.readUInt32LE(at + 4),
        offset: sections.readBigUInt64LE(at + 0x18),
        size: sections.readBigUInt64LE(at + 0x20),
        link: sections.readUInt32LE(at + 0x28),
      };
    };
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (s.type !== SHT_DYNAMIC) continue;
      const strtab = section(s.link);
      const dyn = read(s.offset, Number(s.size));
      for (let at = 0; at + 16 <= dyn.length; at += 16) {
        const tag = dyn.readBigInt64LE(at);
        if (tag === DT_NULL) break;
        if (tag !== DT_SONAME) continue;
        const name = read(strtab.offset + dyn.readBigUInt64LE(at + 8), 256);
        return name.subarray(0, name.indexOf(0)).toString('latin1');
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}
