import Foundation
import SmrtJobs
import SmrtWorker

/// The static job type `Demo`: each method does one thing a real job might do, good or bad.
struct Demo: Sendable {
    struct SleepArgs: Decodable { var ms: UInt64 }
    struct SpinArgs: Decodable { var pidFile: String? }
    struct ExitArgs: Decodable { var code: Int32 }
    struct FailArgs: Decodable { var message: String }
    struct AllocateArgs: Decodable { var mb: Int }
    struct AllocateResult: Encodable { var mb: Int }
    /// `newline` false: no newline after the text; `stdio`: stdout through Swift's `print` (C stdio, buffered in a
    /// pipe) instead of write(2).
    struct PrintArgs: Decodable { var text: String; var newline: Bool?; var stdio: Bool? }
    /// `afterMs`: retire that long after the job has answered (the worker idle by then, or running the next job).
    struct RetireArgs: Decodable { var afterMs: UInt64? }
    /// `afterMs`: sleep after the append, before answering (a window in which a kill leaves the side effect done
    /// but the job unrecorded: the chaos test's duplicates).
    struct AppendArgs: Decodable { var path: String; var line: String; var afterMs: UInt64? }
    /// `Demo.exclusive`: `ledger` gets `start <line> <pid> <host> <ns>` and `end …`; `ms` of work in between.
    struct ExclusiveArgs: Decodable { var ledger: String; var line: String; var ms: UInt64 }
    struct Identity: Encodable { var uid: UInt32; var gid: UInt32; var pid: Int32 }
    /// `steps` reports spread evenly over `ms` (default: all at once).
    struct ProgressArgs: Decodable { var steps: Int; var ms: UInt64? }
    /// `Demo.rawProgress`: `value` sent as a PROGRESS frame's JSON as it is (valid or not).
    struct RawProgressArgs: Decodable { var value: JSONValue }
    /// `Demo.checkProgress`: `fraction` a number or a text Double reads ("nan", "inf"); `messageBytes` a message of
    /// that many bytes.
    struct CheckProgressArgs: Decodable { var fraction: JSONValue; var messageBytes: Int? }
    /// What `JobContext.progress` did: sent, or the error it threw.
    struct CheckProgressResult: Encodable { var sent: Bool; var error: String? }
    struct TimestampResult: Encodable { var ns: Int64 }
    /// `names`: the variables whose values to return.
    struct EnvArgs: Decodable { var names: [String] }
    /// Every variable name the worker has, and the values of those asked for (absent: not set).
    struct EnvResult: Encodable { var names: [String]; var values: [String: String] }
    struct BurnArgs: Decodable { var ms: UInt64 }
    struct BurnResult: Encodable { var cpuMs: UInt64 }
    /// `lines` lines of `bytes` characters each on stdout.
    struct FloodArgs: Decodable { var lines: Int; var bytes: Int }

    static func register(in registry: ObjectRegistry) {
        registry.register(Demo.self, construct: { _ in Demo() })
            .method("noop") { (_: Demo, _: NoArgs) in }
            // CLOCK_REALTIME in ns when the method starts: the bench's pickup latency (enqueue commit -> start).
            .method("timestamp") { (_: Demo, _: NoArgs) -> TimestampResult in
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                return TimestampResult(ns: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec))
            }
            .method("echo", raw: { _, args in .object(args) })
            .method("sleep") { (_: Demo, args: SleepArgs) in
                try await Task.sleep(nanoseconds: args.ms * 1_000_000)
            }
            .method("spin") { (demo: Demo, args: SpinArgs) in try demo.spin(args) }
            .method("crash", raw: { demo, args in try demo.crash(args["signal"], afterMs: args["afterMs"]) })
            .method("exit") { (_: Demo, args: ExitArgs) in exit(args.code) }
            .method("fail") { (_: Demo, args: FailArgs) in throw DemoFailure(message: args.message) }
            .method("allocate") { (demo: Demo, args: AllocateArgs) -> AllocateResult in
                demo.allocate(megabytes: args.mb)
                return AllocateResult(mb: args.mb)
            }
            .method("print") { (demo: Demo, args: PrintArgs) in
                let line = args.text + (args.newline == false ? "" : "\n")
                if args.stdio == true {
                    print(line, terminator: "")
                } else {
                    demo.writeAll(Array(line.utf8), to: STDOUT_FILENO)
                }
                demo.writeAll(Array(line.utf8), to: STDERR_FILENO)
            }
            // The worker retires after this job (RETIRE, then exit 0), or `afterMs` after it answered.
            .method("retire") { (_: Demo, args: RetireArgs) in
                guard let ms = args.afterMs else {
                    SmrtWorker.retire()
                    return
                }
                Task.detached {
                    try? await Task.sleep(nanoseconds: ms * 1_000_000)
                    SmrtWorker.retire()
                }
            }
            .method("append") { (demo: Demo, args: AppendArgs) in
                try demo.append(args)
                if let ms = args.afterMs, ms > 0 { try await Task.sleep(nanoseconds: ms * 1_000_000) }
            }
            .method("exclusive") { (demo: Demo, args: ExclusiveArgs) in try await demo.exclusive(args) }
            .method("identity") { (_: Demo, _: NoArgs) in Identity(uid: getuid(), gid: getgid(), pid: getpid()) }
            .method("env") { (_: Demo, args: EnvArgs) -> EnvResult in
                let environment = ProcessInfo.processInfo.environment
                return EnvResult(
                    names: environment.keys.sorted(), values: environment.filter { args.names.contains($0.key) })
            }
            .method("burn") { (demo: Demo, args: BurnArgs) in BurnResult(cpuMs: demo.burn(cpuMs: args.ms)) }
            .method("flood") { (demo: Demo, args: FloodArgs) in demo.flood(args) }
            .method("progress") { (demo: Demo, args: ProgressArgs) in try await demo.progress(args) }
            .method("rawProgress") { (_: Demo, args: RawProgressArgs) in SmrtWorker.reportProgress(args.value) }
            .method("checkProgress") { (_: Demo, args: CheckProgressArgs) -> CheckProgressResult in
                let fraction = args.fraction.doubleValue ?? args.fraction.stringValue.flatMap(Double.init) ?? -1
                let message = args.messageBytes.map { String(repeating: "m", count: max(0, $0)) }
                do {
                    try JobContext.current?.progress(fraction, message)
                    return CheckProgressResult(sent: true, error: nil)
                } catch {
                    return CheckProgressResult(sent: false, error: "\(error)")
                }
            }
    }

    /// Reports step i of n as fraction i/n ("step i of n"), the reports spread evenly over `ms` from the start
    /// (each at its own time from the start, so a slow report does not push the later ones back).
    func progress(_ args: ProgressArgs) async throws {
        let steps = max(1, args.steps)
        let start = Self.monotonicNanos()
        for step in 1...steps {
            if let ms = args.ms, ms > 0 {
                let due = start + ms * 1_000_000 * UInt64(step - 1) / UInt64(max(1, steps - 1))
                let now = Self.monotonicNanos()
                if due > now { try await Task.sleep(nanoseconds: due - now) }
            }
            try JobContext.current?.progress(Double(step) / Double(steps), "step \(step) of \(steps)")
        }
    }

    static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Publishes the pid (so a test can watch or kill this process), then burns CPU forever, deaf to CANCEL.
    func spin(_ args: SpinArgs) throws -> Never {
        if let pidFile = args.pidFile {
            // Written to a temporary name and renamed, so a reader never sees a half-written file.
            let temporary = pidFile + ".tmp"
            try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, pidFile) == 0 else { throw DemoFailure(message: "rename to \(pidFile): errno \(errno)") }
        }
        var counter: UInt64 = 0
        while true {
            counter &+= 1
            spinSink = counter
        }
    }

    /// Burns CPU until this process has used `cpuMs` more of it; returns the CPU ms it used.
    func burn(cpuMs: UInt64) -> UInt64 {
        func cpuNow() -> UInt64 {
            var now = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
            return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        }
        let start = cpuNow()
        var counter: UInt64 = 0
        while cpuNow() - start < cpuMs {
            for _ in 0..<10_000 { counter &+= 1 }
            spinSink = counter
        }
        return cpuNow() - start
    }

    /// Prints `lines` lines of `bytes` characters on stdout, as fast as the pipe takes them.
    func flood(_ args: FloodArgs) {
        let line = Array(repeating: UInt8(ascii: "x"), count: max(0, args.bytes)) + [UInt8(ascii: "\n")]
        var block: [UInt8] = []
        for _ in 0..<max(0, args.lines) {
            block += line
            if block.count >= 64 * 1024 {
                writeAll(block, to: STDOUT_FILENO)
                block.removeAll(keepingCapacity: true)
            }
        }
        writeAll(block, to: STDOUT_FILENO)
    }

    /// Raises the signal with its default action restored: the Swift runtime's crash handlers would
    /// otherwise catch SEGV and friends, print a backtrace, and make the death slow or different. `afterMs`: sleep
    /// that long first (e.g. so that a RUN queued behind the job has arrived).
    func crash(_ value: JSONValue?, afterMs: JSONValue? = nil) throws -> JSONValue? {
        guard let value, let signal = CrashSignal(value) else {
            throw JobExecutionError.invalidArguments(
                type: "Demo", method: "crash",
                reason: "'signal' must be one of \(CrashSignal.names.joined(separator: ", ")) or a signal number")
        }
        if let afterMs {
            guard let ms = afterMs.intValue, ms >= 0, ms <= 3_600_000 else {
                throw JobExecutionError.invalidArguments(
                    type: "Demo", method: "crash", reason: "'afterMs' must be 0 to 3600000 milliseconds")
            }
            Thread.sleep(forTimeInterval: Double(ms) / 1000)
        }
        Glibc.signal(signal.number, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal.number)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal.number)
        // Signals whose default action is not fatal (or a blocked one) end up here.
        throw DemoFailure(message: "raised signal \(signal.number) and survived")
    }

    /// Allocates and touches every page, so the memory is really resident, then frees it.
    func allocate(megabytes: Int) {
        let bytes = max(0, megabytes) << 20
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 4096)
        defer { memory.deallocate() }
        for offset in stride(from: 0, to: bytes, by: 4096) {
            memory.storeBytes(of: UInt8(truncatingIfNeeded: offset >> 12), toByteOffset: offset, as: UInt8.self)
        }
    }

    /// One execution of a job that must never overlap with another execution of the same job: it holds an
    /// exclusive `flock` on `<ledger>.<line>.lock` while it works (the kernel drops it when the process dies,
    /// killed or not). Finding the lock taken means another execution of this job is running right now: that is
    /// written as `overlap <line> <pid> <host> <ns>` and the job fails.
    func exclusive(_ args: ExclusiveArgs) async throws {
        let lockPath = "\(args.ledger).\(args.line).lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DemoFailure(message: "open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let pid = getpid(), host = Self.hostName()
        // Each line: what, the job's line, pid, host, wall time in ns (the hosts of scripts/cluster.sh share a clock).
        func entry(_ what: String) -> String { "\(what) \(args.line) \(pid) \(host) \(Self.wallNanos())" }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            try append(AppendArgs(path: args.ledger, line: entry("overlap")))
            throw DemoFailure(message: "job \(args.line) is running elsewhere at this moment")
        }
        try append(AppendArgs(path: args.ledger, line: entry("start")))
        try await Task.sleep(nanoseconds: args.ms * 1_000_000)
        try append(AppendArgs(path: args.ledger, line: entry("end")))
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func wallNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// One write(2) with O_APPEND, so concurrent appenders never interleave within a line.
    func append(_ args: AppendArgs) throws {
        let fd = open(args.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DemoFailure(message: "open \(args.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((args.line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw DemoFailure(message: "write \(args.path): wrote \(written) of \(bytes.count) bytes")
        }
    }

    func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

/// Where the spin loop stores its counter, so the optimizer cannot drop the loop body.
nonisolated(unsafe) var spinSink: UInt64 = 0
