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
/// The limits are set by the child itself, between fork and exec and before it switches user (`UVProcess`'s
/// `resourceLimits`): they are in force from the worker's first instruction, and lowering one's own limits
/// needs no capability, so they work for a root supervisor without `CAP_SYS_RESOURCE` (Docker's default) too.
///
/// The memory limit (RLIMIT_AS, soft = hard) covers the worker's whole address space, start-up mappings
/// included; a Swift worker maps about 150–220 MB before its first job, so limits below ~300 MB stop it from
/// working at all.
///
/// The CPU limit is per job. RLIMIT_CPU counts a process's whole life, so before each RUN the soft limit is
/// moved to the CPU time the worker has used so far plus the limit (whole seconds, so a job gets between N and
/// N+1 s), with `prlimit(2)` from the supervisor. The kernel sends SIGXCPU at the soft limit (default action:
/// terminate). The hard limit stays unlimited, because a supervisor that is not root could not raise it again
/// for the next job; a worker that catches SIGXCPU is therefore not stopped by it (its job's timeout still is).
/// `prlimit` on another process needs the same user ids, or `CAP_SYS_RESOURCE`: a root supervisor without that
/// capability cannot move the limit of a worker running as `--user`. Then the supervisor enforces the budget
/// itself (`.watch`): it reads the worker's CPU clock while the job runs and sends SIGXCPU when the job has used
/// its N seconds (`WorkerPool+CPULimit.swift`); the worker then has no RLIMIT_CPU, and its start-up is bounded
/// by `--worker-start-timeout` instead.
struct WorkerLimits {
    /// How the per-job CPU limit is enforced.
    enum CPUEnforcement: Equatable {
        case none
        /// RLIMIT_CPU, re-armed with `prlimit` before each job.
        case rlimit
        /// The supervisor watches the worker's CPU clock and sends SIGXCPU.
        case watch
    }

    var memoryMB: Int?
    var cpuSeconds: Int?
    var uid: UInt32?
    var gid: UInt32?
    let cpuEnforcement: CPUEnforcement

    init(configuration: SupervisorConfiguration) throws {
        memoryMB = configuration.workerMemoryLimitMB
        cpuSeconds = configuration.workerCPULimitSeconds
        if let name = configuration.workerUser {
            let account = try Self.resolveUser(name)
            uid = account.uid
            gid = account.gid
        }
        if cpuSeconds == nil {
            cpuEnforcement = .none
        } else {
            cpuEnforcement = Self.canAdjustLimits(ofUser: uid, group: gid) ? .rlimit : .watch
        }
    }

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

    /// `CAP_SYS_RESOURCE` (linux/capability.h).
    static let capSysResource: Int32 = 24

    /// Whether this process may `prlimit` a worker running as `uid`/`gid` (nil: its own): the kernel allows it
    /// when the worker's user and group ids all equal our real ones, or with `CAP_SYS_RESOURCE`.
    static func canAdjustLimits(ofUser uid: UInt32?, group gid: UInt32?) -> Bool {
        if (uid ?? getuid()) == getuid() && (gid ?? getgid()) == getgid() { return true }
        return csmrt_has_effective_capability(capSysResource) == 1
    }

    /// What the child sets on itself before exec: the memory limit, and the CPU limit for its start-up when it
    /// is re-armed per job.
    var spawnLimits: [UVProcess.ResourceLimit] {
        var limits: [UVProcess.ResourceLimit] = []
        if let memoryMB {
            let bytes = UInt64(memoryMB) << 20
            limits.append(.init(resource: Int32(RLIMIT_AS.rawValue), soft: bytes, hard: bytes))
        }
        if let cpuSeconds, cpuEnforcement == .rlimit {
            limits.append(.init(resource: Int32(RLIMIT_CPU.rawValue), soft: UInt64(cpuSeconds), hard: UVProcess.ResourceLimit.unlimited))
        }
        return limits
    }

    /// Before each RUN, with `.rlimit`: the job gets `cpuSeconds` of CPU from now on (RLIMIT_CPU counts the
    /// process's whole life). Returns why the limit could not be moved, or nil.
    func rearmCPULimit(pid: Int32) -> String? {
        guard let cpuSeconds, cpuEnforcement == .rlimit else { return nil }
        let used = ProcessStats.cpuSeconds(pid: pid) ?? 0
        let soft = UInt64(used.rounded(.up)) + UInt64(cpuSeconds)
        guard csmrt_set_rlimit(pid, Int32(RLIMIT_CPU.rawValue), soft, UVProcess.ResourceLimit.unlimited) == 0 else {
            return "prlimit: \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// How a worker that died holding a job is described in the job's error, naming a limit it probably hit.
    func describeDeath(pid: Int32, status: ExitStatus) -> String {
        let base = "worker \(pid) \(status)"
        // An exit code is the program's own verdict (a Python MemoryError fails the job, it does not exit).
        guard case .signaled(let signal) = status else { return base }
        if signal == SIGXCPU, let cpuSeconds {
            return base + ": CPU limit of \(cpuSeconds) s exceeded"
        }
        if let memoryMB, Self.memoryLimitSignals.contains(signal) {
            return base + " (possibly over the memory limit of \(memoryMB) MB)"
        }
        return base
    }

    /// How an attempt ended whose worker died by itself, for people (`SmrtJob.workerExit`): "exit code 3",
    /// "killed by signal 11 (SIGSEGV)", naming a limit it probably hit.
    func describeAttemptEnd(status: ExitStatus) -> String {
        switch status {
        case .exited(let code):
            return "exit code \(code)"
        case .signaled(let signal):
            if signal == SIGXCPU, let cpuSeconds { return "\(status): over its \(cpuSeconds) s CPU limit" }
            if let memoryMB, Self.memoryLimitSignals.contains(signal) {
                return "\(status), possibly over its \(memoryMB) MB memory limit"
            }
            return status.description
        }
    }

    /// The signals a worker that ran out of address space may die of (a failed allocation traps or aborts).
    static let memoryLimitSignals: [Int32] = [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGKILL]
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
