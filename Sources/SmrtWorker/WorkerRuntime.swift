import CSmrtShims
import Foundation
import SmrtJobs
import SmrtProtocol

/// The state machine behind `SmrtWorker.run`: the calling thread reads frames, an executor task runs the jobs.
///
/// One executor task runs jobs one after another: in protocol 4 it takes the next queued RUN as soon as a job's result
/// is out, sending the result and the next job's STARTED in one write, without waiting for the reading thread or
/// starting a task per job. A new executor starts when a RUN finds the worker idle, and after a job whose task was
/// cancelled (CANCEL): a task's cancellation cannot be undone, so the next job gets a fresh task.
final class WorkerRuntime: @unchecked Sendable {  // state shared by the reader thread and the executor is under `lock`
    /// Error messages are cut to this many bytes so a RESULT_ERROR always fits a frame.
    static let maxErrorMessageBytes = 64 * 1024

    /// The runtime `SmrtWorker.run` started in this process, for `SmrtWorker.retire()`.
    static let active = Locked<WorkerRuntime?>(nil)

    private let registry: ObjectRegistry
    private let channel: WorkerChannel
    /// The protocol version announced in HELLO.
    private let protocolVersion: UInt16
    /// Guards the state below and every write, so a result and a progress message never interleave.
    private let lock = NSLock()
    /// The job being run (from its STARTED until its result is written).
    private var runningJob: Int64?
    /// The task that runs jobs now; nil when idle. CANCEL of the running job cancels it.
    private var executor: Task<Void, Never>?
    /// RUNs received while a job runs (protocol 4), in order; each starts when the one before has answered.
    private var queued: [RunRequest] = []
    private var shuttingDown = false
    /// `SmrtWorker.retire()` was called: leave after the running job's result.
    private var retiring = false
    private lazy var watchdog = Watchdog { window in
        let ms = Int((window * 1000).rounded())
        FileHandle.standardError.write(Data(
            "smrt-worker[\(getpid())]: no KEEPALIVE from the supervisor for \(ms) ms (frozen, or its lease is lost); exiting so the job cannot run twice\n".utf8))
        _exit(WireFormat.watchdogExitCode)
    }
    init(registry: ObjectRegistry, channel: WorkerChannel, protocolVersion: UInt16) {
        self.registry = registry
        self.channel = channel
        self.protocolVersion = protocolVersion
    }

    func run() -> Never {
        // A write to a dead supervisor must fail with EPIPE, not kill us before we can exit cleanly.
        signal(SIGPIPE, SIG_IGN)
        guard WireFormat.supportedVersions.contains(protocolVersion) else {
            die("protocol version \(protocolVersion) is not one this runtime speaks (\(WireFormat.supportedVersions.lowerBound) to \(WireFormat.supportedVersions.upperBound))")
        }
        guard channel.isOpen else {
            die("fd \(channel.fd) is not open: this program is a worker and is started by smrt-supervisor")
        }
        stayAttachedToParent()
        channel.setCloseOnExec()
        Self.active.withLock { $0 = self }
        send(.hello(version: protocolVersion, pid: getpid(), types: registry.typeNames))
        readLoop()
    }

    /// Takes no more jobs: leaves at once when idle, else after the running job's result (`finish`).
    func retire() {
        lock.lock()
        retiring = true
        if runningJob == nil { leave(after: nil) }
        lock.unlock()
    }

    /// Ends the worker when it runs no job, under `lock` (held until the process is gone, so the reader thread
    /// starts nothing more): sends `reply` (the last job's result) and, in version 3 or later, RETIRE, then exits 0.
    /// Queued RUNs (protocol 4) are never started: the supervisor puts their jobs back to pending, uncounted.
    ///
    /// The reading side of fd 3 is shut down first, so a RUN the supervisor sends from now on fails in its write:
    /// it knows that RUN was never read, and puts its job back to pending without counting an attempt. That is how
    /// a supervisor tells a version 1 or 2 worker's end of work from a crash; in version 3, RETIRE says it.
    private func leave(after reply: WorkerMessage?) -> Never {
        channel.shutDownReading()
        var frames: [UInt8] = []
        reply?.encodeFrame(into: &frames)
        if protocolVersion >= WireFormat.retireVersion { WorkerMessage.retire.encodeFrame(into: &frames) }
        if !frames.isEmpty { writeFrames(frames) }
        exit(0)
    }

    /// Dies with the parent. PR_SET_PDEATHSIG only covers deaths after the call, so a parent that died just
    /// before is caught by comparing getppid() around it. A parent pid of 1 alone is not taken as death:
    /// in a container the supervisor may itself be pid 1; an early death shows as EOF on fd 3 anyway.
    private func stayAttachedToParent() {
        let parent = csmrt_getppid()
        if csmrt_set_parent_death_signal(SIGKILL) != 0 {
            warn("PR_SET_PDEATHSIG failed (errno \(errno)); relying on EOF on fd \(channel.fd)")
        }
        if csmrt_getppid() != parent { exit(0) }
    }

    private func readLoop() -> Never {
        var decoder = FrameDecoder()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        while true {
            let n = channel.read(into: chunk)
            // EOF, or a reset connection: the supervisor is gone and nobody wants our results. Under the lock, so
            // a retiring worker (which shut down its reading side: EOF here too) first sends its last result.
            if n == 0 || n == -Int(ECONNRESET) {
                lock.lock()
                exit(0)
            }
            if n < 0 { die("read from fd \(channel.fd) failed: \(String(cString: strerror(Int32(-n))))") }
            decoder.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            do {
                while let message = try decoder.next() { handle(message) }
            } catch {
                die("protocol error: \(error)")
            }
        }
    }

    private func handle(_ message: WorkerMessage) {
        switch message {
        case .run(let request):
            received(request)
        case .cancel(let jobId):
            lock.withLock {
                if runningJob == jobId {
                    executor?.cancel()
                } else if let index = queued.firstIndex(where: { $0.jobId == jobId }) {
                    // Not started: dropped, and answered without STARTED, so the supervisor knows it never ran.
                    queued.remove(at: index)
                    write(.resultError(jobId: jobId, retryable: true, message: "cancelled"))
                }
                // Otherwise the CANCEL crossed the job's result on the wire: nothing to do.
            }
        case .shutdown:
            lock.lock()
            shuttingDown = true
            // Queued jobs are never left without a running one: idle means nothing is queued.
            if runningJob == nil { exit(0) }
            lock.unlock()
        case .keepalive(let milliseconds):
            watchdog.feed(milliseconds: milliseconds)
        case .hello, .resultOK, .resultError, .progress, .retire, .started:
            die("protocol error: unexpected \(message.type) message from the supervisor")
        }
    }

    /// A RUN: starts it when idle; queues it behind the running job in protocol 4 (a protocol error before).
    private func received(_ request: RunRequest) {
        lock.lock()
        defer { lock.unlock() }
        if shuttingDown { die("protocol error: RUN for job \(request.jobId) after SHUTDOWN") }
        if let runningJob {
            guard protocolVersion >= WireFormat.pipelineVersion else {
                die("protocol error: RUN for job \(request.jobId) while job \(runningJob) is running")
            }
            queued.append(request)
            return
        }
        if protocolVersion >= WireFormat.pipelineVersion { write(.started(jobId: request.jobId)) }
        startExecutor(with: request)
    }

    /// Starts a task that runs `request` and then the queued jobs (under `lock`; STARTED has been sent).
    private func startExecutor(with request: RunRequest) {
        runningJob = request.jobId
        executor = Task.detached { [self] in await runJobs(from: request) }
    }

    /// The executor: runs `first`, then each next job `finish` hands it, until the queue is empty.
    private func runJobs(from first: RunRequest) async {
        var next: RunRequest? = first
        while let request = next {
            let context = JobContext(job: WorkerJob(request), runtime: self)
            let reply = await JobContext.$taskContext.withValue(context) { await execute(request) }
            next = finish(reply)
        }
    }

    private func execute(_ request: RunRequest) async -> WorkerMessage {
        let jobId = request.jobId
        let args: [String: JSONValue]
        do {
            args = request.argsJSON.isEmpty ? [:] : try JSONValue.parseObject(request.argsJSON)
        } catch {
            return failure(jobId, retryable: false, "\(error)")
        }
        let invocation = Invocation(
            objectType: request.objectType, objectId: request.objectId, method: request.method, args: args)
        do {
            let reply = WorkerMessage.resultOK(jobId: jobId, result: try await registry.invoke(invocation)?.jsonText)
            guard reply.bodyByteCount <= WireFormat.defaultMaxFrameBytes else {
                return failure(jobId, retryable: false,
                    "Result too large: \(reply.bodyByteCount) bytes exceeds the frame limit of \(WireFormat.defaultMaxFrameBytes) bytes")
            }
            return reply
        } catch let error as JobExecutionError {
            return failure(jobId, retryable: false, error.description)
        } catch is CancellationError {
            return failure(jobId, retryable: true, "cancelled")
        } catch {
            return failure(jobId, retryable: true, "\(error)")
        }
    }

    private func failure(_ jobId: Int64, retryable: Bool, _ message: String) -> WorkerMessage {
        var message = message
        if message.utf8.count > Self.maxErrorMessageBytes {
            message = String(decoding: message.utf8.prefix(Self.maxErrorMessageBytes), as: UTF8.self) + "…"
        }
        return .resultError(jobId: jobId, retryable: retryable, message: message)
    }

    /// Clears the job and sends its result under one lock hold: the reader never sees the next RUN while
    /// the job still counts as running, and a SHUTDOWN cannot exit before the result is out. What the job printed
    /// through C stdio (`print`) is flushed first, and in protocol 4 read by the supervisor before the result goes
    /// out (`OutputDrain`), so the supervisor logs it as this job's output.
    ///
    /// Returns the next queued job (protocol 4), whose STARTED goes out in the same write as this result, for the
    /// calling executor to run; nil when there is none (the executor ends), or when this executor's task was
    /// cancelled (a new one takes the next job). After SHUTDOWN or `retire()` no queued job starts.
    private func finish(_ reply: WorkerMessage) -> RunRequest? {
        fflush(nil)
        // Protocol 4: the next job's output will follow in the same pipes; this job's must be read first.
        if protocolVersion >= WireFormat.pipelineVersion { OutputDrain.waitUntilRead() }
        lock.lock()
        defer { lock.unlock() }
        runningJob = nil
        if retiring { leave(after: reply) }
        var frames: [UInt8] = []
        reply.encodeFrame(into: &frames)
        guard !shuttingDown, !queued.isEmpty else {
            writeFrames(frames)
            if shuttingDown { exit(0) }
            executor = nil
            return nil
        }
        let next = queued.removeFirst()
        WorkerMessage.started(jobId: next.jobId).encodeFrame(into: &frames)
        writeFrames(frames)
        if Task.isCancelled {
            // The cancellation was for the job that just answered; it must not reach the next one.
            startExecutor(with: next)
            return nil
        }
        runningJob = next.jobId
        return next
    }

    /// Sends one message from any thread.
    func send(_ message: WorkerMessage) {
        lock.withLock { write(message) }
    }

    private func write(_ message: WorkerMessage) {
        writeFrames(message.encodeFrame())
    }

    private func writeFrames(_ frames: [UInt8]) {
        let error = channel.writeAll(frames)
        // The supervisor closed its end: it is gone, so there is nobody to report to.
        if error == EPIPE || error == ECONNRESET { exit(0) }
        if error != 0 { die("write to fd \(channel.fd) failed: \(String(cString: strerror(error)))") }
    }

    private func warn(_ text: String) {
        FileHandle.standardError.write(Data("smrt-worker[\(getpid())]: \(text)\n".utf8))
    }

    private func die(_ text: String) -> Never {
        warn(text)
        exit(2)
    }
}
