import CSmrtShims
import Foundation
import SmrtJobs
import SmrtProtocol

/// The state machine behind `SmrtWorker.run`: the calling thread reads frames, a Swift task runs the job.
final class WorkerRuntime: @unchecked Sendable {  // state shared by the reader thread and the job task is under `lock`
    /// Error messages are cut to this many bytes so a RESULT_ERROR always fits a frame.
    static let maxErrorMessageBytes = 64 * 1024

    private let registry: ObjectRegistry
    private let channel: WorkerChannel
    /// Guards the state below and every write, so a result and a progress message never interleave.
    private let lock = NSLock()
    private var running: (jobId: Int64, task: Task<Void, Never>?)?
    private var shuttingDown = false
    private lazy var watchdog = Watchdog { window in
        let ms = Int((window * 1000).rounded())
        FileHandle.standardError.write(Data(
            "smrt-worker[\(getpid())]: no KEEPALIVE from the supervisor for \(ms) ms (frozen, or its lease is lost); exiting so the job cannot run twice\n".utf8))
        _exit(WireFormat.watchdogExitCode)
    }

    init(registry: ObjectRegistry, channel: WorkerChannel) {
        self.registry = registry
        self.channel = channel
    }

    func run() -> Never {
        // A write to a dead supervisor must fail with EPIPE, not kill us before we can exit cleanly.
        signal(SIGPIPE, SIG_IGN)
        guard channel.isOpen else {
            die("fd \(channel.fd) is not open: this program is a worker and is started by smrt-supervisor")
        }
        stayAttachedToParent()
        channel.setCloseOnExec()
        send(.hello(version: WireFormat.protocolVersion, pid: getpid(), types: registry.typeNames))
        readLoop()
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
            // EOF, or a reset connection: the supervisor is gone and nobody wants our results.
            if n == 0 || n == -Int(ECONNRESET) { exit(0) }
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
        case .hello, .resultOK, .resultError, .progress:
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
    /// the job still counts as running, and a SHUTDOWN cannot exit before the result is out.
    private func finish(_ reply: WorkerMessage) {
        lock.lock()
        running = nil
        write(reply)
        if shuttingDown { exit(0) }
        lock.unlock()
    }

    /// Sends one message from any thread.
    func send(_ message: WorkerMessage) {
        lock.withLock { write(message) }
    }

    private func write(_ message: WorkerMessage) {
        let error = channel.writeAll(message.encodeFrame())
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
