// A client of Tetragon's gRPC API (FineGuidanceSensors) for `talon getevents
// --grpc`: the same stream any Tetragon client reads, from the same .proto
// files the agent serves. Loaded only by the commands that use it (grpc-js
// and protobufjs cost start-up time).
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { clientAddress, formatServerAddress, parseServerAddress, type ServerAddress } from './address.js';
import { AUTH_HEADER } from './protocol.js';
import { fineGuidanceSensors } from './grpc.js';
import { fromProtoJson, toProtoJson } from './grpc-json.js';

type Json = Record<string, unknown>;

/**
 * Where `getevents --grpc` connects: the given address, else tetragon.sock beside the ws socket
 * (where the agent puts it by default).
 */
export function grpcClientAddress(flag?: string): ServerAddress {
  if (flag) return parseServerAddress(flag);
  const ws = parseServerAddress(clientAddress());
  if (ws.kind === 'unix') return { kind: 'unix', path: join(dirname(ws.path), 'tetragon.sock') };
  throw new Error('the ws API is on TCP: give the gRPC address with --server-address');
}

export interface EventStream {
  /** ends the stream (no error is reported for it) */
  cancel(): void;
}

/**
 * Opens GetEvents with `request` (protojson GetEventsRequest). `onEvent` gets each event as
 * protojson; `onEnd` is called once, with the reason when the stream ended other than by cancel().
 */
export function getEventsStream(
  address: ServerAddress,
  token: string | undefined,
  request: Json,
  onEvent: (ev: Json) => void,
  onEnd: (err: Error | null) => void,
  onReady?: () => void,
): EventStream {
  const Client = grpc.makeGenericClientConstructor(fineGuidanceSensors(), 'FineGuidanceSensors');
  const target = address.kind === 'unix' ? `unix://${address.path}` : formatServerAddress(address);
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    GetEvents: (req: Json, md: grpc.Metadata) => grpc.ClientReadableStream<Json>;
  };
  const md = new grpc.Metadata();
  if (address.kind === 'tcp' && token) md.set(AUTH_HEADER, `Bearer ${token}`);
  const call = client.GetEvents(fromProtoJson('GetEventsRequest', request), md);
  let cancelled = false;
  let ended = false;
  const end = (err: Error | null) => {
    if (ended) return;
    ended = true;
    client.close();
    onEnd(cancelled ? null : err);
  };
  call.on('metadata', () => onReady?.());
  call.on('data', (msg: Json) => onEvent(toProtoJson('GetEventsResponse', msg)));
  call.on('error', (e: grpc.ServiceError) => {
    const hint = e.code === grpc.status.UNAVAILABLE ? ' (is `talon agent` running?)' : '';
    end(new Error(`gRPC ${formatServerAddress(address)}: ${grpc.status[e.code] ?? e.code}: ${e.details || e.message}${hint}`));
  });
  call.on('end', () => end(new Error(`gRPC ${formatServerAddress(address)}: the agent ended the stream`)));
  return {
    cancel: () => {
      cancelled = true;
      call.cancel();
    },
  };
}
