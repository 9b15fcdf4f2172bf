import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests.SafetyLimits {
    /// Root without CAP_SYS_RESOURCE (Docker's default; here forced with `setpriv`), `--user nobody` with both
    /// limits: the workers start (the child sets its limits before it drops to nobody), run as nobody with the
    /// memory limit in force (/proc/PID/limits), a job under the memory limit runs and one over it fails naming
    /// it, and the CPU limit is per job: after a job that used 1.5 s of CPU, a spinning job still gets its own
    /// 2 s before SIGXCPU (the supervisor cannot move another user's RLIMIT_CPU, so it watches the CPU clock).
    @Test func limitsWithUserWorkWithoutCapSysResource() throws {
        guard geteuid() == 0 else { try Test.cancel("--user needs root; the tests run as uid \(geteuid())") }
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv) else {
            try Test.cancel("\(setpriv) (util-linux) is missing")
        }
        let db = try TestDatabase()
        // The worker binary where nobody can reach it (the build folder may be under a private directory).
        chmod(db.directory.path, 0o755)
        let worker = db.file("smrt-demo-worker")
        try FileManager.default.copyItem(atPath: WorkerHarness.demoWorkerPath, toPath: worker)
        let burn = try db.enqueue("burn", ["ms": 1500])
        let spin = try db.enqueue("spin")
        let small = try db.enqueue("allocate", ["mb": 32])
        let big = try db.enqueue("allocate", ["mb": 1024])
        let supervisor = try SupervisorProcess(
            executable: setpriv,
            arguments: [
                "--inh-caps=-sys_resource", "--bounding-set=-sys_resource", "--", SupervisorProcess.binaryPath,
                "--db", db.path, "--workers", "1", "--worker-exec", worker, "--log-format", "json",
                "--user", "nobody", "--worker-memory-limit", "400", "--worker-cpu-limit", "2",
            ],
            logPath: db.file("supervisor.log"))
        let ready = try supervisor.waitFor("worker_ready")
        let pid = try #require(ready["worker_pid"] as? Int)
        // The setup holds: the supervisor is root without CAP_SYS_RESOURCE.
        let supervisorStatus = try String(contentsOfFile: "/proc/\(supervisor.pid)/status", encoding: .utf8)
        #expect(statusField("Uid", in: supervisorStatus)?.first == "0")
        let effective = statusField("CapEff", in: supervisorStatus)?.first.flatMap { UInt64($0, radix: 16) }
        #expect(effective.map { $0 & (1 << 24) == 0 } == true, "CapEff \(String(effective ?? 0, radix: 16))")
        // The worker runs as nobody with the memory limit set.
        let nobody = try #require(getpwnam("nobody")).pointee
        let workerStatus = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(statusField("Uid", in: workerStatus)?.allSatisfy { $0 == String(nobody.pw_uid) } == true)
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let addressSpace = limits.split(separator: "\n").first { $0.hasPrefix("Max address space") }
        #expect(addressSpace?.split(separator: " ").dropFirst(3).prefix(2) == ["419430400", "419430400"], "\(limits)")

        let burned = try db.waitFor(burn, .completed, timeout: 20, log: supervisor)
        #expect((burned.result?["cpuMs"]?.intValue ?? 0) >= 1500)
        let spun = try db.waitFor(spin, .failed, timeout: 20, log: supervisor)
        let error = try #require(spun.lastError)
        #expect(error.hasSuffix("killed by signal 24 (SIGXCPU): CPU limit of 2 s exceeded"), "\(error)")
        let failed = try supervisor.waitFor("job_failed") { $0["job_id"] as? Int == Int(spin) }
        let seconds = (failed["duration_ms"] as? Double ?? 0) / 1000
        #expect(seconds >= 1.9 && seconds < 10, "SIGXCPU after \(seconds) s")
        try db.waitFor(small, .completed, timeout: 20, log: supervisor)
        let tooBig = try db.waitFor(big, .failed, timeout: 20, log: supervisor)
        #expect(tooBig.lastError?.contains("(possibly over the memory limit of 400 MB)") == true, "\(tooBig.lastError ?? "-")")
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit() == .exited(0))
    }
}

/// The values of `name:` in a /proc/PID/status text.
private func statusField(_ name: String, in status: String) -> [String]? {
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
    return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
}
