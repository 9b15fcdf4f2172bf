/// Constants of the supervisor <-> worker wire format. The full specification is docs/worker-protocol.md.
///
/// Every message travels as one frame: a `u32` big-endian body length `N` (1 ≤ N ≤ limit), then `N` body
/// bytes: a `u8` message type followed by the message's fields.
public enum WireFormat {
    /// The protocol version a worker announces in HELLO. A supervisor rejects any other version.
    public static let protocolVersion: UInt16 = 1

    /// The default limit on a frame's body length: 4 MiB.
    public static let defaultMaxFrameBytes = 4 << 20

    /// Bytes of the length prefix in front of every frame body.
    public static let headerBytes = 4

    /// The file descriptor on which a worker process finds its end of the socketpair.
    public static let workerFD: Int32 = 3
}
