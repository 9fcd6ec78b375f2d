// The one error type of the Avro RPC layer: bytes that do not follow Flume's protocol (framing, handshake, Avro
// binary). Whoever catches it closes the connection and names the peer.

import { SluiceError } from "../core/errors.ts";

export class AvroProtocolError extends SluiceError {
  constructor(message: string) {
    super("PROTOCOL", message, true);
  }
}
