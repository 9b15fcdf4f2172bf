import Foundation
import SmrtJobs
import SmrtProtocol

/// The worker side of the supervisor protocol for Swift programs.
///
/// A worker executable registers its types and hands control to the runtime:
///
/// ```swift
/// let registry = ObjectRegistry()
/// registry.register(Mailer.self, construct: { _ in Mailer() })
///     .method("send") { (mailer, args: SendArgs) in try await mailer.send(args) }
/// SmrtWorker.run(registry: registry)
/// ```
///
/// The supervisor starts the program with its end of a socketpair on fd 3 (stdin, stdout and stderr stay
/// free for job code and are logged by the supervisor). See docs/worker-protocol.md.
public enum SmrtWorker {
    /// Serves jobs until the supervisor says SHUTDOWN (exit 0 after the current job), the worker retires
    /// (`retire()`: exit 0 after the current job) or the supervisor goes away (EOF on `fd`: exit 0 at once). Never
    /// returns.
    ///
    /// - Asks the kernel for SIGKILL when the parent dies (PR_SET_PDEATHSIG), and exits if it already has.
    /// - Sends HELLO with `registry.typeNames`, then runs one job at a time on a Swift task while the
    ///   calling thread reads `fd`. In protocol 4 RUNs that arrive while a job runs are queued, and each starts as
    ///   soon as the one before has answered (STARTED, then the job). CANCEL cancels the job's task (cooperative: the
    ///   supervisor kills the process later if the job ignores it); CANCEL of a queued job drops it, answered
    ///   RESULT_ERROR `cancelled` without STARTED.
    /// - A job's result becomes RESULT_OK; an error becomes RESULT_ERROR, final (not retried) for
    ///   `JobExecutionError` and for args that are not a JSON object, retryable for anything else.
    /// - A malformed frame from the supervisor: a message on stderr, exit 2.
    /// - Writes nothing to stdout, which belongs to job code; flushes C stdio (`print`) before each result, so the
    ///   supervisor logs a job's output as that job's.
    ///
    /// `protocolVersion` is the version announced in HELLO: the newest (4) unless the supervisor is older (3 has no
    /// STARTED and takes one RUN at a time, 2 no RETIRE either, 1 no KEEPALIVE either); a version this runtime does
    /// not speak is a message on stderr and exit 2.
    public static func run(
        registry: ObjectRegistry, fd: Int32 = WireFormat.workerFD, protocolVersion: UInt16 = WireFormat.protocolVersion
    ) -> Never {
        WorkerRuntime(registry: registry, channel: WorkerChannel(fd: fd), protocolVersion: protocolVersion).run()
    }

    /// Retires this worker: it takes no more jobs. The job it runs now (if any) finishes first and its result goes
    /// out; then the worker says RETIRE and exits 0, and the supervisor starts a replacement. This is not a crash,
    /// and no job loses an attempt by it: a job the supervisor sent meanwhile goes back to pending, uncounted.
    ///
    /// Call it from job code (say, after a job that loaded a large model or fragmented the heap) or from any thread
    /// of the worker program, e.g. after a number of jobs or an hour of work. Jobs queued behind the running one
    /// (protocol 4) never start: they go back to pending, uncounted. Speaking protocol version 1 or 2, the
    /// worker exits 0 after the result without RETIRE, which a supervisor of version 3 takes as the same. Returns
    /// false (and does nothing) outside a worker started by `run`.
    @discardableResult
    public static func retire() -> Bool {
        guard let runtime = WorkerRuntime.active.withLock({ $0 }) else { return false }
        runtime.retire()
        return true
    }

    /// The job the calling task runs, or nil outside a job.
    public static var currentJob: WorkerJob? { JobContext.current?.job }

    /// Sends `value` as the JSON of a PROGRESS message for the job the calling task runs, as it is: the
    /// supervisor takes only `{"fraction": 0…1, "message": "…"}` and ends the worker for anything else (a protocol
    /// error naming the field). Prefer `JobContext.current?.progress(_:_:)`, which checks the values first.
    /// Does nothing outside a job.
    public static func reportProgress(_ value: JSONValue) {
        guard let context = JobContext.current else { return }
        context.runtime.send(.progress(jobId: context.job.id, json: value.jsonText))
    }
}
