/** TensorBoard event files: a scalar SummaryWriter, and the framing and protobuf pieces beneath it. */
export { FILE_VERSION, SummaryWriter, type SummaryWriterOptions } from './writer.ts';
export { readEventFile } from './reader.ts';
export { decodeEvent, encodeEvent, type SummaryValue, type TbEvent } from './proto.ts';
export { decodeRecords, encodeRecord, maskedCrc32c } from './record.ts';
