// The unit of guest network output shared by the workload, the comparator and the Remus buffer.

export interface GuestPacket {
  /** The guest's own packet counter; it travels in the device state, so PVM and SVM number alike. */
  seq: number;
  /** The bytes on the wire; the comparator compares exactly these. */
  data: Buffer;
  /** performance.now() when the guest emitted it, so release − produced is the latency the client sees. */
  producedAt: number;
}

/** Where released output goes (the "client"); `releasedAt` is performance.now() or the injected clock. */
export type ReleaseSink = (packet: GuestPacket, releasedAt: number) => void;
