/// Constants of the supervisor <-> worker wire format. The full specification is docs/worker-protocol.md.
///
/// Every message travels as one frame: a `u32` big-endian body length `N` (1 ≤ N ≤ limit), then `N` body
/// bytes: a `u8` message type followed by the message's fields.
public enum WireFormat {
    /// The protocol version the Swift worker runtime announces in HELLO (unless told to speak an older one).
    public static let protocolVersion: UInt16 = 4

    /// The versions a supervisor accepts in HELLO. Version 2 adds KEEPALIVE (the worker's watchdog); a version 1
    /// worker is never sent one. Version 3 adds RETIRE. Version 4 adds STARTED: the worker queues RUNs that arrive while
    /// it runs a job, and says STARTED as it begins each.
    public static let supportedVersions: ClosedRange<UInt16> = 1...4

    /// The first version whose workers are sent KEEPALIVE.
    public static let keepaliveVersion: UInt16 = 2

    /// The first version whose workers may send RETIRE.
    public static let retireVersion: UInt16 = 3

    /// The first version whose workers queue RUNs (pipelining) and say STARTED as they begin each job.
    public static let pipelineVersion: UInt16 = 4

    /// The exit status of a worker whose watchdog expired (EX_TEMPFAIL: its job may run again elsewhere).
    public static let watchdogExitCode: Int32 = 75

    /// The default limit on a frame's body length: 4 MiB.
    public static let defaultMaxFrameBytes = 4 << 20

    /// Bytes of the length prefix in front of every frame body.
    public static let headerBytes = 4

    /// The file descriptor on which a worker process finds its end of the socketpair.
    public static let workerFD: Int32 = 3
}
