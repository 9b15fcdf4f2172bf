/// One message between the supervisor and a worker process.
///
/// Encode with `encodeFrame()` / `encodeFrame(into:)`; decode a byte stream with `FrameDecoder`.
public enum WorkerMessage: Equatable, Sendable {
    /// 0x01, worker → supervisor, sent once at start: the worker is ready.
    /// `pid` travels as `u32` (its bit pattern); `types` are the registered type names the worker serves.
    case hello(version: UInt16, pid: Int32, types: [String])
    /// 0x02, supervisor → worker: run one job. Only one job runs at a time (a version 4 worker queues the others).
    case run(RunRequest)
    /// 0x03, supervisor → worker: the job's timeout passed; stop it if possible.
    case cancel(jobId: Int64)
    /// 0x04, supervisor → worker: finish the current job, then exit 0.
    case shutdown
    /// 0x05, worker → supervisor: the job succeeded; `result` is JSON text, nil for no result.
    case resultOK(jobId: Int64, result: String?)
    /// 0x06, worker → supervisor: the job failed; `retryable` false makes the failure final.
    case resultError(jobId: Int64, retryable: Bool, message: String)
    /// 0x07, worker → supervisor: informational progress of the running job, as JSON text.
    case progress(jobId: Int64, json: String)
    /// 0x08, supervisor → worker (version 2): the supervisor holds its lease; a worker that hears no KEEPALIVE
    /// for `watchdogMillis` must stop its job and exit, because its job may be taken over elsewhere.
    case keepalive(watchdogMillis: UInt32)
    /// 0x09, worker → supervisor (version 3): the worker takes no more work. Sent when it runs no job (after its last
    /// result, or while idle); it then exits 0 and answers no RUN it receives from then on.
    case retire
    /// 0x0A, worker → supervisor (version 4): the worker begins job `jobId` now, before any of its code runs. A version
    /// 4 worker may be sent RUNs while it runs a job; it queues them and says STARTED as it begins each.
    case started(jobId: Int64)

    /// The message's type byte.
    public var type: MessageType {
        switch self {
        case .hello: return .hello
        case .run: return .run
        case .cancel: return .cancel
        case .shutdown: return .shutdown
        case .resultOK: return .resultOK
        case .resultError: return .resultError
        case .progress: return .progress
        case .keepalive: return .keepalive
        case .retire: return .retire
        case .started: return .started
        }
    }
}
