/**
 * The slice of TensorFlow's event.proto / summary.proto / tensor.proto that scalar event files need,
 * declared as a protobufjs JSON descriptor so that field numbers and wire types sit in one table that
 * can be checked against the .proto files by eye. Names are camelCase; only numbers travel on the wire.
 */
import protobuf from 'protobufjs';
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

const DESCRIPTOR = {
  nested: {
    tensorboard: {
      nested: {
        Event: {
          // In event.proto file_version and summary are members of `oneof what`; a writer that sets one
          // per event produces the same bytes, so the oneof is left out.
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                tensor: { type: 'TensorProto', id: 8 },
                metadata: { type: 'SummaryMetadata', id: 9 },
              },
            },
          },
        },
        SummaryMetadata: {
          fields: {
            pluginData: { type: 'PluginData', id: 1 },
            displayName: { type: 'string', id: 2 },
            summaryDescription: { type: 'string', id: 3 },
            dataClass: { type: 'int32', id: 4 },
          },
          nested: {
            PluginData: {
              fields: { pluginName: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } },
            },
          },
        },
        // Enough of tensor.proto for a rank-0 float tensor (TF2's tensor-style scalars); DataType is an
        // enum in TF, an int32 here (DT_FLOAT = 1), which is the same on the wire.
        TensorProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },
            tensorShape: { type: 'TensorShapeProto', id: 2 },
            floatVal: { rule: 'repeated', type: 'float', id: 5, options: { packed: true } },
            doubleVal: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 } },
          nested: { Dim: { fields: { size: { type: 'int64', id: 1 }, name: { type: 'string', id: 2 } } } },
        },
      },
    },
  },
};

const EventType = protobuf.Root.fromJSON(DESCRIPTOR).lookupType('tensorboard.Event');

/** One Summary.Value; a scalar carries `simpleValue` (the field TensorBoard's Scalars() reads). */
export interface SummaryValue {
  tag: string;
  simpleValue?: number;
  tensor?: {
    dtype?: number;
    tensorShape?: { dim?: { size?: number; name?: string }[] };
    floatVal?: number[];
    doubleVal?: number[];
  };
  metadata?: {
    pluginData?: { pluginName?: string; content?: Uint8Array };
    displayName?: string;
    summaryDescription?: string;
    dataClass?: number;
  };
}

/** One Event record: `wallTime` in seconds since the Unix epoch, then a file version or a summary. */
export interface TbEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { value: SummaryValue[] };
}

/** The protobuf bytes of one Event. */
export function encodeEvent(event: TbEvent): Uint8Array {
  return EventType.encode(EventType.fromObject(event)).finish();
}

/** Decodes one Event's bytes; int64 steps come back as numbers. Throws FLEET_ERR_DATA on bad bytes. */
export function decodeEvent(data: Uint8Array): TbEvent {
  let message: protobuf.Message;
  try {
    message = EventType.decode(data);
  } catch (err) {
    throw fleetError('TB_BAD_EVENT', { received: `${data.byteLength} bytes (${(err as Error).message})` });
  }
  const obj = EventType.toObject(message, { longs: Number, arrays: true });
  return { wallTime: 0, step: 0, ...obj } as TbEvent;
}
