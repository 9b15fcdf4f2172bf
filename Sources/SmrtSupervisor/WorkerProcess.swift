import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One worker child process: the process handle, its protocol channel on fd 3, its captured stdout and stderr,
/// and the job it runs. Loop thread only.
///
/// Lifecycle: `starting` (spawned, no HELLO yet) → `running` (idle or holding a job) → `exited`. `stopping`
/// marks a worker that was asked to go (SHUTDOWN sent, or killed on purpose): it takes no new jobs and is not
/// replaced when it exits. `saidRetire` marks one that said it takes no more work (RETIRE): it takes no new jobs
/// either, and was replaced when it said so. Every handle is closed exactly once, when the process has exited (or
/// the spawn failed).
final class WorkerProcess {
    enum State: Equatable {
        case starting
        case running
        case exited
    }

    /// What a worker answered to RUN.
    enum Result: Equatable {
        /// RESULT_OK with its result, parsed (nil: the method returned nothing).
        case ok(result: JSONValue?)
        case error(retryable: Bool, message: String)
    }

    /// What the worker tells its owner (the pool).
    enum Event {
        /// HELLO arrived: the worker is ready.
        case ready(types: [String])
        /// RESULT_OK / RESULT_ERROR for the job it held; `job` is cleared before this is delivered.
        case finished(RunningJob, Result)
        /// A valid PROGRESS for the job it holds (`updatedAt` is when it arrived, by this host's clock).
        case progress(RunningJob, JobProgress)
        /// RETIRE arrived: it takes no more jobs and exits 0 next. `crossed` is a job whose RUN crossed RETIRE on the
        /// wire (it is in `crossedJob`, no longer in `job`).
        case retired(crossed: RunningJob?)
        /// The process has ended; a job it still held is in `job` (or `crossedJob`).
        case exited(ExitStatus)
    }

    /// 1, 2, 3... in spawn order (log lines use the pid; this orders workers for picking).
    let serial: Int
    /// The pool's restart generation at spawn; HUP makes older generations stale.
    let generation: Int
    private(set) var pid: Int32 = 0
    private(set) var state: State = .starting
    /// The job this worker runs, if any.
    var job: RunningJob?
    /// Jobs finished by this worker (for --max-jobs-per-worker).
    private(set) var jobsDone = 0
    /// Asked to go: SHUTDOWN sent or killed on purpose; takes no jobs, is not replaced on exit.
    var stopping = false
    /// Finish the current job, then go (TTOU, HUP, recycling of a busy worker).
    var retireAfterJob = false
    /// It said RETIRE (protocol 3): it takes no more jobs and exits 0 next.
    private(set) var saidRetire = false
    /// A job whose RUN crossed the worker's RETIRE: the worker never starts it. What becomes of it is judged when
    /// the process has exited (`WorkerExitJudgement`).
    private(set) var crossedJob: RunningJob?
    /// The process has ended (set before what it left in its channel and pipes is read): it takes no job.
    private(set) var hasEnded = false
    /// At exit, put the job back to pending instead of failing the attempt (shutdown, QUIT).
    var releaseJobOnExit = false
    /// Killed because it sent no HELLO in time.
    var failedToStart = false
    /// The pool has logged that this worker's CPU limit could not be re-armed.
    var cpuLimitFailureLogged = false
    /// Why the worker was killed on purpose; it becomes the failed attempt's error.
    private(set) var killReason: String?
    /// What made the supervisor kill it, when that was about its job (first one wins, as `killReason`).
    private(set) var killCause: KillCause?
    /// The job it held fails for good, whatever its retry strategy (a violation another attempt would repeat).
    private(set) var jobFailsForGood = false
    let spawnedAt: UInt64
    private(set) var readyAt: UInt64?
    private(set) var exitedAt: UInt64?
    /// The dead worker this one replaces, for the respawn time in the `worker_ready` line.
    var replacing: (pid: Int32, diedAt: UInt64)?
    /// When it was killed on purpose (for a job, with a reason): from then on it no longer counts, and its
    /// replacement starts at once, before it has exited.
    private(set) var killedAt: UInt64?
    /// The pool has queued it as a worker lost, to pair with the replacement's `worker_ready`.
    var lossRecorded = false
    /// The job deadline and cancel grace (driven by the supervisor).
    let jobTimer: UVTimer
    /// Start timeout and stop timeout (driven by the pool).
    let lifeTimer: UVTimer
    /// The job's CPU budget when the supervisor enforces it itself (`WorkerPool+CPULimit.swift`).
    let cpuTimer: UVTimer
    /// Resumes reading stdout/stderr paused by `outputRead` in the next loop iteration.
    private let outputTimer: UVTimer
    /// Output streams paused until the next loop iteration.
    private var pausedOutput: [String] = []

    private var process: UVProcess?
    private let channel: UVPipe
    private let stdoutPipe: UVPipe
    private let stderrPipe: UVPipe
    private var decoder = FrameDecoder()
    /// The type of the last message sent: after a RUN, a read that fails with ECONNRESET means that RUN was never read.
    private var lastSent: MessageType?
    /// The worker closed fd 3 with bytes of ours unread (a read failed with ECONNRESET).
    private var leftBytesUnread = false
    private var stdoutLines = OutputLineBuffer()
    private var stderrLines = OutputLineBuffer()
    private var logger: Logger
    private var onEvent: ((WorkerProcess, Event) -> Void)?

    /// Spawns `command` with stdin on /dev/null, stdout and stderr captured, and the protocol socket on fd 3,
    /// in its own session (so a terminal's Ctrl-C reaches only the supervisor). It inherits no other descriptor,
    /// and sets `resourceLimits` on itself before it switches to `uid`/`gid`. On failure every handle made so far
    /// is closed and the spawn error is thrown.
    init(
        loop: UVLoop, command: [String], environment: [String]?, serial: Int, generation: Int, logger: Logger,
        uid: UInt32? = nil, gid: UInt32? = nil, resourceLimits: [UVProcess.ResourceLimit] = [], niceIncrement: Int32 = 0,
        onEvent: @escaping (WorkerProcess, Event) -> Void
    ) throws {
        self.serial = serial
        self.generation = generation
        self.logger = logger
        self.onEvent = onEvent
        spawnedAt = Monotonic.nanos
        channel = try UVPipe(loop: loop)
        var made: [UVHandle] = [channel]
        do {
            stdoutPipe = try UVPipe(loop: loop, readBufferSize: Self.outputChunkBytes)
            made.append(stdoutPipe)
            stderrPipe = try UVPipe(loop: loop, readBufferSize: Self.outputChunkBytes)
            made.append(stderrPipe)
            jobTimer = try UVTimer(loop: loop)
            made.append(jobTimer)
            lifeTimer = try UVTimer(loop: loop)
            made.append(lifeTimer)
            cpuTimer = try UVTimer(loop: loop)
            made.append(cpuTimer)
            outputTimer = try UVTimer(loop: loop)
            made.append(outputTimer)
        } catch {
            for handle in made { handle.close() }
            throw error
        }
        do {
            let process = try UVProcess.spawn(
                loop: loop, executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
                stdio: [
                    .ignore,
                    .createPipe(stdoutPipe, readable: false, writable: true),
                    .createPipe(stderrPipe, readable: false, writable: true),
                    .createPipe(channel, readable: true, writable: true),
                ],
                uid: uid, gid: gid, detached: true, resourceLimits: resourceLimits, niceIncrement: niceIncrement
            ) { _, status in
                // A strong capture: the worker lives at least until its exit is handled (UVProcess drops the
                // callback after calling it, which ends the cycle).
                self.processExited(status)
            }
            self.process = process
            pid = process.pid
            self.logger[metadataKey: "worker_pid"] = .int(pid)
            try channel.startReading { [unowned self] _, event in channelRead(event) }
            try startReadingOutput("stdout")
            try startReadingOutput("stderr")
        } catch {
            if let process {
                _ = try? process.kill(SIGKILL)
                // The exit callback still comes and closes everything.
            } else {
                closeHandles()
            }
            throw error
        }
    }

    /// The protocol version the worker announced in HELLO.
    private(set) var protocolVersion: UInt16 = 1

    /// Sends KEEPALIVE if the worker speaks a version that has it (its watchdog then stops it when no other
    /// keepalive comes within `milliseconds`).
    func feedWatchdog(milliseconds: UInt32) {
        guard protocolVersion >= WireFormat.keepaliveVersion, !saidRetire else { return }
        send(.keepalive(watchdogMillis: milliseconds))
    }

    /// Asked to go, going after its job, or retiring.
    var isLeaving: Bool { stopping || retireAfterJob || saidRetire }

    /// Ready and holding no job, and not on its way out.
    var isIdle: Bool { state == .running && job == nil && !hasEnded && !isLeaving }

    /// Whether the kernel says the worker never read the RUN of `running`: writing it failed, or the worker closed
    /// fd 3 with it unread (it was the last thing sent, and bytes of ours were left unread).
    func neverRead(_ running: RunningJob) -> Bool {
        running.runUndelivered || (running === job && lastSent == .run && leftBytesUnread)
    }

    /// Sends one message. Returns false if the worker cannot get it (it closed fd 3 or its reading side: it is
    /// going away, and its exit is handled when it comes). A RUN that fails, now or later, marks its job
    /// `runUndelivered`.
    @discardableResult
    func send(_ message: WorkerMessage) -> Bool {
        let runJob: RunningJob? = if case .run = message { job } else { nil }
        guard state != .exited, !hasEnded, !channel.isClosing else {
            runJob?.runUndelivered = true
            return false
        }
        lastSent = message.type
        let frame = message.encodeFrame()
        do {
            // Most frames go out at once, without a queued request; a refusal (the worker closed fd 3) is known
            // here, not in a callback that may come after the worker's exit has been judged.
            let written = try frame.withUnsafeBytes { try channel.tryWrite($0) }
            guard written < frame.count else { return true }
            try channel.write(frame[written...]) { [weak self] error in
                guard let self, let error, state != .exited else { return }
                runJob?.runUndelivered = true
                logger.debug("write to worker failed: \(error)")
            }
            return true
        } catch {
            runJob?.runUndelivered = true
            let closed = (error as? UVError).map { [UVError.Code.EPIPE, UVError.Code.ECONNRESET].contains($0.code) } ?? false
            if closed {
                logger.debug("worker \(pid) closed its protocol channel; \(message.type) not sent")
            } else {
                logger.warning("cannot write to worker \(pid): \(error)", metadata: ["event": "worker_write_failed"])
            }
            return false
        }
    }

    /// SIGKILLs the worker; `reason` (first one wins) becomes the error of the attempt it was running, `cause`
    /// says how the attempt ended (`SmrtJob.workerExit`) and whether the death counts as a timeout kill.
    func kill(reason: String?, cause: KillCause? = nil) {
        if killReason == nil && killCause == nil {
            killReason = reason
            killCause = cause
        }
        if killedAt == nil && (reason != nil || cause != nil) { killedAt = Monotonic.nanos }
        stopping = true
        _ = try? process?.kill(SIGKILL)
    }

    /// Sends a signal other than SIGKILL (no effect on the attempt's error).
    func signal(_ signal: Int32) {
        _ = try? process?.kill(signal)
    }

    /// Asks an idle worker to exit (SHUTDOWN); a busy one finishes its job first.
    func requestStop() {
        stopping = true
        if state == .starting {
            // Nothing may be sent before HELLO.
            kill(reason: nil)
        } else {
            send(.shutdown)
        }
    }

    // MARK: Channel

    private func channelRead(_ event: UVStream.ReadEvent) {
        switch event {
        case .data(let bytes):
            decoder.append(bytes)
            decodeFrames()
        case .eof, .failed:
            // The worker closed fd 3: usually it is exiting, and its exit callback (with the real cause)
            // follows. One that keeps running without its channel can never finish a job, so it is killed.
            if case .failed(let error) = event, error.code == UVError.Code.ECONNRESET { leftBytesUnread = true }
            channel.stopReading()
            guard state != .exited else { return }
            try? lifeTimer.start(timeoutMs: 1000) { [unowned self] _ in
                kill(reason: "worker \(pid) closed its protocol channel but did not exit", cause: .channelClosed)
            }
        }
    }

    private func decodeFrames() {
        // Once the worker is being killed, nothing more it says counts.
        while killReason == nil {
            let message: WorkerMessage?
            do {
                message = try decoder.next()
            } catch {
                violation("\(error)")
                return
            }
            guard let message else { return }
            handle(message)
        }
    }

    private func handle(_ message: WorkerMessage) {
        switch message {
        case .hello(let version, _, let types):
            guard state == .starting else { return violation("HELLO sent twice") }
            protocolVersion = version
            state = .running
            readyAt = Monotonic.nanos
            lifeTimer.stop()
            onEvent?(self, .ready(types: types))
        case _ where state == .starting:
            violation("\(message.type) before HELLO")
        case .resultOK(let jobId, let text):
            guard answers(jobId) else { return }
            let result: JSONValue?
            do {
                result = try text.map { try JSONValue.parse($0, what: "result") }
            } catch {
                // Stored as anything else (a string, say) it would pass for a real result. A job that completed
                // but reports garbage would do so again: the attempt is final.
                let reason = if case SmrtJobsError.invalidJSON(_, let reason) = error { reason } else { "\(error)" }
                return violation("RESULT_OK for job \(jobId): result is not valid JSON: \(reason)", failsJobForGood: true)
            }
            finishJob(jobId, .ok(result: result))
        case .resultError(let jobId, let retryable, let text):
            finishJob(jobId, .error(retryable: retryable, message: text))
        case .progress(let jobId, let json):
            guard let job, job.id == jobId else { return violation("PROGRESS for job \(jobId), which it is not running") }
            // The error names the field at fault (`progress.fraction`, `progress.message`, or the whole text).
            do {
                onEvent?(self, .progress(job, try JobProgress.parse(json: json, receivedAt: Date())))
            } catch {
                violation("PROGRESS for job \(jobId): \(error)")
            }
        case .retire:
            retire()
        case .run, .cancel, .shutdown, .keepalive:
            violation("unexpected \(message.type) message from a worker")
        }
    }

    /// Whether a result for `jobId` is for the job this worker holds; a violation when it is not.
    private func answers(_ jobId: Int64) -> Bool {
        guard let job, job.id == jobId else {
            if saidRetire {
                violation("result for job \(jobId) after RETIRE")
                return false
            }
            let holding = job.map { "job \($0.id)" } ?? "no job"
            violation("result for job \(jobId), which it was not given (it holds \(holding))")
            return false
        }
        return true
    }

    private func finishJob(_ jobId: Int64, _ result: Result) {
        guard answers(jobId), let finished = job else { return }
        // A result that crossed our SIGKILL on the wire does not undo the kill's verdict.
        guard killReason == nil else { return }
        takeOutput()
        job = nil
        jobsDone += 1
        // A RETIRE right behind the result (the Swift runtime writes both at once) is taken first, so no RUN is sent
        // to a worker that is leaving.
        if decoder.nextMessageType == .retire, (try? decoder.next()) != nil { retire() }
        onEvent?(self, .finished(finished, result))
    }

    /// RETIRE: the worker takes no more jobs and exits 0 next. A job it holds now was sent after its last result
    /// and crossed RETIRE on the wire, so the worker never starts it: its deadline and CPU watch stop here, and what
    /// becomes of it waits for the exit.
    private func retire() {
        guard protocolVersion >= WireFormat.retireVersion else {
            return violation(
                "RETIRE from a worker of protocol version \(protocolVersion) (RETIRE is version \(WireFormat.retireVersion))")
        }
        guard !saidRetire else { return violation("RETIRE sent twice") }
        saidRetire = true
        if let crossed = job {
            job = nil
            crossedJob = crossed
            jobTimer.stop()
            cpuTimer.stop()
        }
        onEvent?(self, .retired(crossed: crossedJob))
    }

    /// A broken worker: log, kill, and make the error the failure of the job it holds (under the job's retry
    /// strategy, or for good with `failsJobForGood`).
    private func violation(_ reason: String, failsJobForGood: Bool = false) {
        guard killReason == nil else { return }
        jobFailsForGood = failsJobForGood && job != nil
        var metadata: Logger.Metadata = ["event": "protocol_error", "reason": .string(reason)]
        if let job { metadata["job_id"] = .int(job.id) }
        logger.error("protocol error: \(reason) (worker \(pid))", metadata: metadata)
        channel.stopReading()
        kill(reason: "protocol error: \(reason) (worker \(pid))", cause: .protocolError)
    }

    // MARK: Output

    /// How much of a worker's stdout or stderr is read at once, and at most once per loop iteration: logging a
    /// line costs the loop microseconds, so a worker that floods its output is taken a chunk at a time and the
    /// deadline timers of other jobs run between chunks. (libuv would otherwise read up to 32 buffers in a row.)
    static let outputChunkBytes = 4 * 1024

    private func startReadingOutput(_ stream: String) throws {
        try (stream == "stdout" ? stdoutPipe : stderrPipe).startReading { [unowned self] _, event in
            outputRead(event, stream: stream)
        }
    }

    private func outputRead(_ event: UVStream.ReadEvent, stream: String) {
        switch event {
        case .data(let bytes):
            logLines(stream == "stdout" ? stdoutLines.append(bytes) : stderrLines.append(bytes), stream: stream)
            if bytes.count >= Self.outputChunkBytes {
                // A full chunk: more is probably waiting. The rest waits for the next loop iteration.
                (stream == "stdout" ? stdoutPipe : stderrPipe).stopReading()
                pausedOutput.append(stream)
                if !outputTimer.isActive {
                    try? outputTimer.start(timeoutMs: 0) { [unowned self] _ in resumeOutput() }
                }
            }
        case .eof, .failed:
            flushOutput(stream)
            (stream == "stdout" ? stdoutPipe : stderrPipe).stopReading()
        }
    }

    private func resumeOutput() {
        let paused = pausedOutput
        pausedOutput = []
        guard state != .exited else { return }
        for stream in paused where !(stream == "stdout" ? stdoutPipe : stderrPipe).isClosing {
            try? startReadingOutput(stream)
        }
    }

    private func flushOutput(_ stream: String) {
        let rest = stream == "stdout" ? stdoutLines.flush() : stderrLines.flush()
        if let rest { logLines([rest], stream: stream) }
    }

    /// How much of each stream `takeOutput` reads at a result: more than a pipe holds by default (64 KiB), so all a
    /// job wrote before answering; a bound, so a grandchild writing without pause cannot hold the loop.
    static let outputAtResultBytes = 256 * 1024

    /// What the worker wrote to stdout and stderr before it answered belongs to the job that answered: read now
    /// (one poll without waiting, then reads until the pipes are empty), before the next job can be tagged, and a
    /// last line without a newline is logged as a line of its own. Called while `job` is still the finished job.
    private func takeOutput() {
        let streams = [(stdoutPipe, "stdout"), (stderrPipe, "stderr")].filter { !$0.0.isClosing }
        var fds = streams.map { pollfd(fd: $0.0.fileDescriptor ?? -1, events: Int16(POLLIN), revents: 0) }
        if !fds.isEmpty, poll(&fds, nfds_t(fds.count), 0) > 0 {
            for (index, (_, stream)) in streams.enumerated() where fds[index].fd >= 0 && fds[index].revents != 0 {
                Self.readAvailable(fds[index].fd, limit: Self.outputAtResultBytes) { bytes in
                    logLines(stream == "stdout" ? stdoutLines.append(bytes) : stderrLines.append(bytes), stream: stream)
                }
            }
        }
        for (_, stream) in streams { flushOutput(stream) }
    }

    /// The job output lines are tagged with: the one the worker holds, unless the kernel says it never read its RUN.
    private var outputJob: RunningJob? {
        guard let job, !neverRead(job) else { return nil }
        return job
    }

    private func logLines(_ lines: [String], stream: String) {
        for line in lines.map(ArgumentRedaction.redact(text:)) {
            var metadata: Logger.Metadata = ["event": "worker_output", "stream": .string(stream), "line": .string(line)]
            if let job = outputJob { metadata["job_id"] = .int(job.id) }
            logger.info("\(stream): \(line)", metadata: metadata)
        }
    }

    /// After the exit the process can write nothing more: what is still buffered in the sockets is read now,
    /// so a result sent just before exiting (SHUTDOWN) is not mistaken for a crash, and the last output lines
    /// are logged.
    private func drainAfterExit() {
        if !channel.isClosing, killReason == nil, let fd = channel.fileDescriptor {
            if Self.readAvailable(fd, { bytes in decoder.append(bytes) }) == ECONNRESET { leftBytesUnread = true }
            decodeFrames()
        }
        for (pipe, stream) in [(stdoutPipe, "stdout"), (stderrPipe, "stderr")] where !pipe.isClosing {
            if let fd = pipe.fileDescriptor {
                Self.readAvailable(fd) { bytes in
                    logLines(stream == "stdout" ? stdoutLines.append(bytes) : stderrLines.append(bytes), stream: stream)
                }
            }
            flushOutput(stream)
        }
    }

    /// Reads a non-blocking descriptor until it would block or ends, or `limit` bytes were read (a grandchild may
    /// still hold the write end: then whatever it writes later is not logged). Returns the errno of the read that
    /// ended it (EAGAIN, ECONNRESET, ...), 0 at end of stream or at the limit.
    @discardableResult
    private static func readAvailable(_ fd: Int32, limit: Int = .max, _ body: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0
        while total < limit {
            let wanted = min(buffer.count, limit - total)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, wanted) }
            if n > 0 {
                buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                total += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return n < 0 ? errno : 0
            }
        }
        return 0
    }

    // MARK: Exit

    private func processExited(_ status: ExitStatus) {
        hasEnded = true
        exitedAt = Monotonic.nanos
        jobTimer.stop()
        lifeTimer.stop()
        cpuTimer.stop()
        outputTimer.stop()
        drainAfterExit()
        state = .exited
        let callback = onEvent
        callback?(self, .exited(status))
        onEvent = nil
        closeHandles()
    }

    private func closeHandles() {
        process?.close()
        channel.close()
        stdoutPipe.close()
        stderrPipe.close()
        jobTimer.close()
        lifeTimer.close()
        cpuTimer.close()
        outputTimer.close()
    }
}
