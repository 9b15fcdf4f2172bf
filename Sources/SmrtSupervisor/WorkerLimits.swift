import CSmrtShims
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The safety limits applied to every worker process: rlimits (`--worker-memory-limit`, `--worker-cpu-limit`)
/// and the user it runs as (`--user`).
///
/// libuv's `uv_spawn` has no rlimit option, so the limits are set with `prlimit(2)` on the child's pid right
/// after the spawn returns, on the loop thread. That is before the supervisor can read the worker's HELLO (the
/// loop is busy with the spawn), so before any job is dispatched: what runs unlimited is only the worker's own
/// start-up. The CPU limit is per job: before each RUN the soft limit is moved to the CPU time the worker has
/// used so far plus the limit (whole seconds, so a job gets between N and N+1 s). The kernel sends SIGXCPU at
/// the soft limit (default action: terminate, for Swift and Python workers alike). The hard limit stays
/// unlimited, because a supervisor that is not root could not raise it again for the next job; a worker that
/// catches SIGXCPU is therefore not stopped by it (its job's timeout still is).
/// The memory limit (RLIMIT_AS) covers the worker's whole address space, start-up mappings included; a Swift
/// worker maps about 150–220 MB before its first job, so limits below ~300 MB stop it from working at all.
struct WorkerLimits {
    var memoryMB: Int?
    var cpuSeconds: Int?
    var uid: UInt32?
    var gid: UInt32?

    init(configuration: SupervisorConfiguration) throws {
        memoryMB = configuration.workerMemoryLimitMB
        cpuSeconds = configuration.workerCPULimitSeconds
        if let name = configuration.workerUser {
            let account = try Self.resolveUser(name)
            uid = account.uid
            gid = account.gid
        }
    }

    var isEmpty: Bool { memoryMB == nil && cpuSeconds == nil }

    /// Looks up `name` (or a numeric uid) in the user database; only root may switch users.
    static func resolveUser(_ name: String) throws -> (uid: UInt32, gid: UInt32) {
        func fail(_ reason: String) -> SupervisorError { .invalidConfiguration(option: "--user", reason: reason) }
        guard geteuid() == 0 else {
            throw fail("dropping the workers' privileges to '\(name)' needs the supervisor to run as root (it runs as uid \(geteuid()))")
        }
        if let entry = getpwnam(name) { return (entry.pointee.pw_uid, entry.pointee.pw_gid) }
        if let number = UInt32(name), let entry = getpwuid(number) { return (entry.pointee.pw_uid, entry.pointee.pw_gid) }
        throw fail("no such user '\(name)'")
    }

    /// Right after the spawn: the memory limit, and the CPU limit for the worker's start-up.
    func applyAtSpawn(pid: Int32) throws {
        if let memoryMB {
            let bytes = UInt64(memoryMB) << 20
            try Self.set(pid: pid, resource: Int32(RLIMIT_AS.rawValue), soft: bytes, hard: bytes, what: "memory limit")
        }
        if let cpuSeconds {
            try Self.set(pid: pid, resource: Int32(RLIMIT_CPU.rawValue), soft: UInt64(cpuSeconds), hard: Self.unlimited,
                what: "CPU limit")
        }
    }

    /// Before each RUN: the job gets `cpuSeconds` of CPU from now on (RLIMIT_CPU counts the process's whole life).
    func applyBeforeJob(pid: Int32) {
        guard let cpuSeconds else { return }
        let used = ProcessStats.cpuSeconds(pid: pid) ?? 0
        let soft = UInt64(used.rounded(.up)) + UInt64(cpuSeconds)
        try? Self.set(pid: pid, resource: Int32(RLIMIT_CPU.rawValue), soft: soft, hard: Self.unlimited, what: "CPU limit")
    }

    /// How a worker that died holding a job is described in the job's error, naming a limit it probably hit.
    func describeDeath(pid: Int32, status: ExitStatus) -> String {
        let base = "worker \(pid) \(status)"
        // An exit code is the program's own verdict (a Python MemoryError fails the job, it does not exit).
        guard case .signaled(let signal) = status else { return base }
        if signal == SIGXCPU, let cpuSeconds {
            return base + ": CPU limit of \(cpuSeconds) s exceeded"
        }
        if let memoryMB, [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGKILL].contains(signal) {
            return base + " (possibly over the memory limit of \(memoryMB) MB)"
        }
        return base
    }

    /// RLIM_INFINITY (a cast macro Swift cannot import).
    static let unlimited = UInt64.max

    private static func set(pid: Int32, resource: Int32, soft: UInt64, hard: UInt64, what: String) throws {
        guard csmrt_set_rlimit(pid, resource, soft, hard) == 0 else {
            throw SupervisorError.cannotStartWorker(
                command: "pid \(pid)", reason: "cannot set the \(what) (prlimit: \(String(cString: strerror(errno))))")
        }
    }
}

extension SupervisorConfiguration {
    /// The options of `WorkerLimits`, checked: `--user` resolves and the supervisor is root.
    func validateSafetyLimits() throws {
        if let workerMemoryLimitMB, workerMemoryLimitMB < 1 {
            throw SupervisorError.invalidConfiguration(option: "--worker-memory-limit", reason: "must be at least 1 MB")
        }
        if let workerCPULimitSeconds, workerCPULimitSeconds < 1 {
            throw SupervisorError.invalidConfiguration(option: "--worker-cpu-limit", reason: "must be at least 1 second")
        }
        if backendOptions.fileMode & ~0o777 != 0 {
            throw SupervisorError.invalidConfiguration(
                option: "--db-mode",
                reason: "must be permission bits such as 0600 or 0640, not \(String(backendOptions.fileMode, radix: 8))")
        }
        if healthCheckInterval <= 0 {
            throw SupervisorError.invalidConfiguration(option: "database check interval", reason: "must be positive")
        }
        if let workerUser { _ = try WorkerLimits.resolveUser(workerUser) }
    }
}
