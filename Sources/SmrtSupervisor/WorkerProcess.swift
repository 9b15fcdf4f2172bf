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
///
/// Jobs: `job` is the first RUN not yet answered (the one it runs, or runs next); a worker of protocol 4 may also
/// have RUNs queued behind it (`queued`), which it starts in order, saying STARTED as it begins each.
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
        /// RESULT_OK / RESULT_ERROR for a job it held; it is no longer in `job` or `queued` when this is delivered
        /// (the next queued job, if any, is `job` then).
        case finished(RunningJob, Result)
        /// STARTED (protocol 4): the worker begins `job`, its first job, now.
        case started(RunningJob)
        /// A valid PROGRESS for the job it holds (`updatedAt` is when it arrived, by this host's clock).
        case progress(RunningJob, JobProgress)
        /// RETIRE arrived: it takes no more jobs and exits 0 next. `crossed` are jobs whose RUN crossed RETIRE on the
        /// wire, or that were queued behind its last job (they are in `crossedJobs`, no longer in `job` or `queued`).
        case retired(crossed: [RunningJob])
        /// The process has ended; jobs it still held are in `heldJobs`.
        case exited(ExitStatus)
    }

    /// 1, 2, 3... in spawn order (log lines use the pid; this orders workers for picking).
    let serial: Int
    /// The pool's restart generation at spawn; HUP makes older generations stale.
    let generation: Int
    private(set) var pid: Int32 = 0
    private(set) var state: State = .starting
    /// The first RUN it has not answered: the job it runs (or, protocol 4, runs next), if any.
    private(set) var job: RunningJob?
    /// RUNs queued behind `job` (protocol 4), in the order they were sent.
    private(set) var queued: [RunningJob] = []
    /// Jobs finished by this worker (for --max-jobs-per-worker).
    private(set) var jobsDone = 0
    /// Asked to go: SHUTDOWN sent or killed on purpose; takes no jobs, is not replaced on exit.
    var stopping = false
    /// Finish the current job, then go (TTOU, HUP, recycling of a busy worker).
    var retireAfterJob = false
    /// It said RETIRE (protocol 3): it takes no more jobs and exits 0 next.
    private(set) var saidRetire = false
    /// Jobs whose RUN crossed the worker's RETIRE, or were queued behind its last job: the worker never starts them.
    /// What becomes of them is judged when the process has exited (`WorkerExitJudgement`).
    private(set) var crossedJobs: [RunningJob] = []
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
    /// While the messages of one read of a worker of protocol 4 are handled, what is sent to it is gathered here
    /// and written once at the end (`corked`): the RUNs that refill its queue after several results go out in one
    /// write, which the worker reads at once (one syscall and one wake-up each side instead of one per job).
    private var corked = false
    private var corkedFrames: [UInt8] = []
    private var corkedRuns: [RunningJob] = []
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
            stdoutPipe.readLimit = { [unowned self] in outputReadLimit(stdoutPipe) }
            stderrPipe.readLimit = { [unowned self] in outputReadLimit(stderrPipe) }
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

    /// RUNs sent and not answered.
    var inFlight: Int { (job == nil ? 0 : 1) + queued.count }

    /// Every job it holds: the first, the queued ones, those that crossed RETIRE.
    var heldJobs: [RunningJob] { (job.map { [$0] } ?? []) + queued + crossedJobs }

    /// Whether RUNs may be queued behind its first job now (subject to `PipelinePolicy`): ready, not leaving, and its
    /// channel took the last RUN.
    var mayQueue: Bool {
        state == .running && !hasEnded && !isLeaving && job != nil && !(job?.runUndelivered ?? true)
            && !(queued.last?.runUndelivered ?? false)
    }

    /// The worker takes `running`: as its first job when it holds none, else queued behind (protocol 4).
    func assign(_ running: RunningJob) {
        if job == nil {
            job = running
        } else {
            queued.append(running)
        }
    }

    /// The next frame already received is a STARTED (protocol 4 writes it right behind a result): it is handled next.
    var startedIsNext: Bool { decoder.nextMessageType == .started }

    /// Forgets the jobs it held once their fate is decided (its exit has been handled).
    func dropHeldJobs() {
        job = nil
        queued = []
        crossedJobs = []
    }
    /// Whether the kernel says the worker never read the RUN of `running`: writing it failed, or the worker closed
    /// fd 3 with it unread (it was the last thing sent, and bytes of ours were left unread).
    func neverRead(_ running: RunningJob) -> Bool {
        running.runUndelivered || (running === job && lastSent == .run && leftBytesUnread)
    }

    /// Sends one message. Returns false if the worker cannot get it (it closed fd 3 or its reading side: it is
    /// going away, and its exit is handled when it comes). A RUN (for `runJob`) that fails, now or later, marks its
    /// job `runUndelivered`.
    @discardableResult
    func send(_ message: WorkerMessage, runJob: RunningJob? = nil) -> Bool {
        guard state != .exited, !hasEnded, !channel.isClosing else {
            runJob?.runUndelivered = true
            return false
        }
        lastSent = message.type
        if corked {
            // In order with everything else sent to it in this read; written by `uncork`, which marks the RUNs
            // undelivered should the write fail.
            message.encodeFrame(into: &corkedFrames)
            if let runJob { corkedRuns.append(runJob) }
            return true
        }
        return write(message.encodeFrame(), runs: runJob.map { [$0] } ?? [], what: "\(message.type)")
    }

    /// Writes what was gathered while the messages of one read were handled (see `corked`).
    private func uncork() {
        corked = false
        guard !corkedFrames.isEmpty else { return }
        let frames = corkedFrames, runs = corkedRuns
        corkedFrames.removeAll(keepingCapacity: true)
        corkedRuns.removeAll()
        guard state != .exited, !hasEnded, !channel.isClosing else {
            for running in runs { running.runUndelivered = true }
            return
        }
        write(frames, runs: runs, what: runs.isEmpty ? "messages" : "\(runs.count) RUN(s)")
    }

    /// Writes `frames`; a failure, now or later, marks the jobs of `runs` `runUndelivered`.
    @discardableResult
    private func write(_ frames: [UInt8], runs: [RunningJob], what: String) -> Bool {
        do {
            // Most frames go out at once, without a queued request; a refusal (the worker closed fd 3) is known
            // here, not in a callback that may come after the worker's exit has been judged.
            let written = try frames.withUnsafeBytes { try channel.tryWrite($0) }
            guard written < frames.count else { return true }
            try channel.write(frames[written...]) { [weak self] error in
                guard let self, let error, state != .exited else { return }
                for running in runs { running.runUndelivered = true }
                logger.debug("write to worker failed: \(error)")
            }
            return true
        } catch {
            for running in runs { running.runUndelivered = true }
            let closed = (error as? UVError).map { [UVError.Code.EPIPE, UVError.Code.ECONNRESET].contains($0.code) } ?? false
            if closed {
                logger.debug("worker \(pid) closed its protocol channel; \(what) not sent")
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
            corked = protocolVersion >= WireFormat.pipelineVersion
            decodeFrames()
            uncork()
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
            // A result for a job it does not hold is that violation, whatever the text.
            guard job?.id == jobId || queued.contains(where: { $0.id == jobId }) else {
                _ = takeAnswered(jobId, isError: false)
                return
            }
            let result: JSONValue?
            do {
                result = try text.map { try JSONValue.parse($0, what: "result") }
            } catch {
                // Stored as anything else (a string, say) it would pass for a real result. A job that completed
                // but reports garbage would do so again: the attempt is final.
                let reason = if case SmrtJobsError.invalidJSON(_, let reason) = error { reason } else { "\(error)" }
                return violation(
                    "RESULT_OK for job \(jobId): result is not valid JSON: \(reason)", naming: jobId, failsJobForGood: true)
            }
            finishJob(jobId, .ok(result: result))
        case .resultError(let jobId, let retryable, let text):
            finishJob(jobId, .error(retryable: retryable, message: text))
        case .progress(let jobId, let json):
            guard let job, job.id == jobId, job.started else {
                return violation("PROGRESS for job \(jobId), which it is not running", naming: jobId)
            }
            // The error names the field at fault (`progress.fraction`, `progress.message`, or the whole text).
            do {
                onEvent?(self, .progress(job, try JobProgress.parse(json: json, receivedAt: Date())))
            } catch {
                violation("PROGRESS for job \(jobId): \(error)")
            }
        case .retire:
            retire()
        case .started(let jobId):
            jobStarted(jobId)
        case .run, .cancel, .shutdown, .keepalive:
            violation("unexpected \(message.type) message from a worker")
        }
    }

    /// STARTED (protocol 4): the worker begins its first job. Anything else is a violation: a STARTED from an earlier
    /// version, for a job it was not given, for one queued behind another that has not answered, or a second one.
    private func jobStarted(_ jobId: Int64) {
        guard protocolVersion >= WireFormat.pipelineVersion else {
            return violation(
                "STARTED from a worker of protocol version \(protocolVersion) (STARTED is version \(WireFormat.pipelineVersion))")
        }
        guard let job, job.id == jobId, !job.started else {
            if let job, job.id == jobId { return violation("STARTED for job \(jobId) twice", naming: jobId) }
            if queued.contains(where: { $0.id == jobId }) {
                return violation(
                    "STARTED for job \(jobId) before job \(job?.id ?? 0), sent before it, has answered", naming: jobId)
            }
            return violation("STARTED for job \(jobId), which it was not given")
        }
        onEvent?(self, .started(job))
    }

    /// The job a result for `jobId` answers, taken out of `job` (the next queued job takes its place) or `queued`;
    /// nil after a violation: a result for a job it does not hold, or (protocol 4) for one it has not said STARTED
    /// for, unless it answers a CANCEL of that job (a queued job dropped, never started).
    private func takeAnswered(_ jobId: Int64, isError: Bool) -> RunningJob? {
        if let job, job.id == jobId {
            guard job.started || (isError && job.cancelSent) else {
                violation("result for job \(jobId), which it had not started (no STARTED)", naming: jobId)
                return nil
            }
            // A result that crossed our SIGKILL on the wire does not undo the kill's verdict.
            guard killReason == nil else { return nil }
            // What it wrote before answering is this job's (read while `job` is still this one).
            takeOutput()
            self.job = queued.isEmpty ? nil : queued.removeFirst()
            self.job?.becameNext(now: Monotonic.nanos)
            return job
        }
        if let index = queued.firstIndex(where: { $0.id == jobId }) {
            let running = queued[index]
            guard isError && running.cancelSent else {
                violation("result for job \(jobId), which it had not started (no STARTED)", naming: jobId)
                return nil
            }
            guard killReason == nil else { return nil }
            queued.remove(at: index)
            running.answeredWhileQueued = true
            return running
        }
        if saidRetire {
            violation("result for job \(jobId) after RETIRE")
        } else {
            let holding = job.map { "job \($0.id)" } ?? "no job"
            violation("result for job \(jobId), which it was not given (it holds \(holding))")
        }
        return nil
    }

    private func finishJob(_ jobId: Int64, _ result: Result) {
        let isError = if case .error = result { true } else { false }
        guard let finished = takeAnswered(jobId, isError: isError) else { return }
        jobsDone += 1
        // A RETIRE right behind the result (the Swift runtime writes both at once) is taken first, so no RUN is sent
        // to a worker that is leaving.
        if decoder.nextMessageType == .retire, (try? decoder.next()) != nil { retire() }
        onEvent?(self, .finished(finished, result))
    }

    /// RETIRE: the worker takes no more jobs and exits 0 next. A job it holds now was sent after its last result
    /// and crossed RETIRE on the wire, or (protocol 4) was queued behind its last job: the worker never starts it. The
    /// deadline and CPU watch stop here, and what becomes of such jobs waits for the exit. A protocol 4 worker that
    /// says RETIRE while a job it said STARTED for has not answered breaks the protocol.
    private func retire() {
        guard protocolVersion >= WireFormat.retireVersion else {
            return violation(
                "RETIRE from a worker of protocol version \(protocolVersion) (RETIRE is version \(WireFormat.retireVersion))")
        }
        guard !saidRetire else { return violation("RETIRE sent twice") }
        if let job, protocolVersion >= WireFormat.pipelineVersion, job.started {
            return violation("RETIRE while job \(job.id) runs (it said STARTED and has not answered)", naming: job.id)
        }
        saidRetire = true
        let crossed = heldJobs
        if !crossed.isEmpty {
            job = nil
            queued = []
            crossedJobs = crossed
            jobTimer.stop()
            cpuTimer.stop()
        }
        onEvent?(self, .retired(crossed: crossedJobs))
    }

    /// A broken worker: log, kill, and make the error the failure of the job it holds (under the job's retry
    /// strategy, or for good with `failsJobForGood`). A held job the violation names (`naming`) counts its attempt
    /// even if it never said STARTED: the worker did something with it.
    private func violation(_ reason: String, naming jobId: Int64? = nil, failsJobForGood: Bool = false) {
        guard killReason == nil else { return }
        jobFailsForGood = failsJobForGood && job != nil && (jobId == nil || job?.id == jobId)
        if let jobId, let named = heldJobs.first(where: { $0.id == jobId }) { named.treatAsStarted() }
        var metadata: Logger.Metadata = ["event": "protocol_error", "reason": .string(reason)]
        if let jobId { metadata["job_id"] = .int(jobId) } else if let job { metadata["job_id"] = .int(job.id) }
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

    /// Protocol 4: before each read of the worker's stdout or stderr, the frames it has already written on fd 3 are
    /// handled, and only what was in the pipe before that is read. A worker of protocol 4 writes a job's result only
    /// once its pipes hold nothing of the job's output (the supervisor has read it all), and begins the next job only
    /// after that result. So if handling the frames finds that result, the bytes that were in the pipe were written
    /// after it (the next job's, and the next job is `job` now); if not, they were written before it (the running
    /// job's). Either way each line goes with the job that wrote it, however the reads and the results interleave.
    /// When the pipe held nothing, nothing is read (limit 0): bytes that arrive after the frames were handled may
    /// follow a result not read yet, and are read at the next readiness, after its frames; a pipe whose writers are
    /// gone (hang-up) is read as usual, for its end of file.
    private func outputReadLimit(_ pipe: UVPipe) -> Int? {
        guard protocolVersion >= WireFormat.pipelineVersion, state == .running, !hasEnded, let fd = pipe.fileDescriptor
        else { return nil }
        var available: Int32 = 0
        guard withUnsafeMutablePointer(to: &available, { ioctl(fd, UInt(FIONREAD), $0) }) == 0 else { return nil }
        if !channel.isClosing, killReason == nil, let channelFD = channel.fileDescriptor {
            if Self.readAvailable(channelFD, { bytes in decoder.append(bytes) }) == ECONNRESET { leftBytesUnread = true }
            decodeFrames()
        }
        if available > 0 { return Int(available) }
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&poll, 1, 0) == 1 && poll.revents & Int16(POLLHUP | POLLERR) != 0 ? nil : 0
    }

    /// What the worker wrote to stdout and stderr before it answered belongs to the job that answered: read now
    /// (one poll without waiting, then reads until the pipes are empty), before the next job can be tagged, and a
    /// last line without a newline is logged as a line of its own. Called while `job` is still the finished job.
    ///
    /// Protocol 4: the pipes hold nothing of the answered job's output by the time its result was written (the worker
    /// waits for that), and anything in them now is the next job's: only the last partial lines are logged.
    private func takeOutput() {
        if protocolVersion >= WireFormat.pipelineVersion {
            for stream in ["stdout", "stderr"] { flushOutput(stream) }
            return
        }
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

    /// The job output lines are tagged with: the one the worker runs, unless the kernel says it never read its RUN
    /// (protocol 1 to 3) or it has not said STARTED for it (protocol 4).
    private var outputJob: RunningJob? {
        guard let job, job.started, !neverRead(job) else { return nil }
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
        if !channel.isClosing, let fd = channel.fileDescriptor {
            if Self.readAvailable(fd, { bytes in decoder.append(bytes) }) == ECONNRESET { leftBytesUnread = true }
            if killReason == nil { decodeFrames() } else { noteStartsAfterKill() }
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

    /// What a killed worker said is not acted on, but a job it said STARTED for (or answered) had begun: its attempt
    /// counts, so it is not put back as never started (protocol 4). Stops at the first malformed frame.
    private func noteStartsAfterKill() {
        let held = heldJobs
        while let message = try? decoder.next() {
            switch message {
            case .started(let jobId), .resultOK(let jobId, _), .resultError(let jobId, _, _):
                held.first { $0.id == jobId }?.treatAsStarted()
            default:
                break
            }
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
