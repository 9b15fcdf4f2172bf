/// The first byte of a frame body: which message the frame carries.
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// worker → supervisor, once at start: "ready", with the protocol version and the served types.
    case hello = 0x01
    /// supervisor → worker: run one job.
    case run = 0x02
    /// supervisor → worker: the job's timeout passed; stop it if possible.
    case cancel = 0x03
    /// supervisor → worker: finish the current job, then exit 0.
    case shutdown = 0x04
    /// worker → supervisor: the job succeeded.
    case resultOK = 0x05
    /// worker → supervisor: the job failed.
    case resultError = 0x06
    /// worker → supervisor: informational progress of the running job.
    case progress = 0x07
    /// supervisor → worker (version 2): feeds the worker's watchdog.
    case keepalive = 0x08
    /// worker → supervisor (version 3): "I take no more work"; the worker exits 0 next.
    case retire = 0x09
    /// worker → supervisor (version 4): the worker begins the job now (its deadline counts from here).
    case started = 0x0A

    /// Whether workers send this message (the others are sent by the supervisor).
    public var isSentByWorker: Bool {
        switch self {
        case .hello, .resultOK, .resultError, .progress, .retire, .started: return true
        case .run, .cancel, .shutdown, .keepalive: return false
        }
    }

    /// The name used in the specification and in error messages, e.g. `RESULT_OK`.
    public var description: String {
        switch self {
        case .hello: return "HELLO"
        case .run: return "RUN"
        case .cancel: return "CANCEL"
        case .shutdown: return "SHUTDOWN"
        case .resultOK: return "RESULT_OK"
        case .resultError: return "RESULT_ERROR"
        case .progress: return "PROGRESS"
        case .keepalive: return "KEEPALIVE"
        case .retire: return "RETIRE"
        case .started: return "STARTED"
        }
    }
}
