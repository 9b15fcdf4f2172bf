import CSmrtShims
import Foundation
import SmrtJobs
import SmrtProtocol

/// The state machine behind `SmrtWorker.run`: the calling thread reads frames, a Swift task runs the job.
final class WorkerRuntime: @unchecked Sendable {  // state shared by the reader thread and the job task is under `lock`
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
    private var running: (jobId: Int64, task: Task<Void, Never>?)?
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
        if running == nil { leave(after: nil) }
        lock.unlock()
    }

    /// Ends the worker when it runs no job, under `lock` (held until the process is gone, so the reader thread
    /// starts nothing more): sends `reply` (the last job's result) and, in version 3, RETIRE, then exits 0.
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
            start(request)
        case .cancel(let jobId):
            lock.withLock {
                // A CANCEL for a job that already finished crossed our result on the wire: nothing to do.
                if let running, running.jobId == jobId { running.task?.cancel() }
            }
        case .shutdown:
            lock.lock()
            shuttingDown = true
            if running == nil { exit(0) }
            lock.unlock()
        case .keepalive(let milliseconds):
            watchdog.feed(milliseconds: milliseconds)
        case .hello, .resultOK, .resultError, .progress, .retire:
            die("protocol error: unexpected \(message.type) message from the supervisor")
        }
    }

    private func start(_ request: RunRequest) {
        lock.lock()
        defer { lock.unlock() }
        if let running {
            die("protocol error: RUN for job \(request.jobId) while job \(running.jobId) is running")
        }
        if shuttingDown { die("protocol error: RUN for job \(request.jobId) after SHUTDOWN") }
        running = (request.jobId, nil)
        let context = JobContext(job: WorkerJob(request), runtime: self)
        let task = Task.detached { [self] in
            let reply = await JobContext.$taskContext.withValue(context) { await execute(request) }
            finish(reply)
        }
        running?.task = task
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
    /// through C stdio (`print`) is flushed first, so the supervisor logs it as this job's output.
    private func finish(_ reply: WorkerMessage) {
        lock.lock()
        running = nil
        fflush(nil)
        if retiring { leave(after: reply) }
        write(reply)
        if shuttingDown { exit(0) }
        lock.unlock()
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
