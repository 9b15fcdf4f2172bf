import Foundation
import SmrtJobs
import Testing

extension IntegrationTests {
    /// `scripts/chaos.sh`, short: 300 `Demo.exclusive` jobs on two supervisors, 8 s of SIGKILLs to random workers
    /// and supervisors (restarted at once), a supervisor frozen past its lease (SIGSTOP/SIGCONT) and a stopped
    /// log-pipe reader. The script's own checks decide: every job completed, none failed, every job's end in the
    /// ledger, no two executions of a job at once, extra executions no more than faults that hit a job in flight,
    /// nothing stuck running, integrity ok.
    /// Longer runs: `scripts/chaos.sh --jobs 10000 --seconds 60` (docs/guarantees.md).
    @Suite struct Chaos {
        @Test func shortChaosRunLosesNothing() throws {
            let db = try TestDatabase()
            let script = WorkerHarness.packageRoot.appendingPathComponent("scripts/chaos.sh").path
            let summaryPath = db.file("summary.txt")
            let run = try SupervisorProcess(
                executable: "/bin/bash",
                arguments: [
                    script, "--jobs", "300", "--seconds", "8", "--bin-dir", WorkerHarness.productsFolder.path,
                    "--summary-file", summaryPath, "--seed", "20261129",
                ],
                logPath: db.file("chaos.log"))
            let exit = try run.waitForExit(timeout: 150)
            let summary = (try? String(contentsOfFile: summaryPath, encoding: .utf8)) ?? "(no summary)"
            print(summary, terminator: "")
            #expect(exit == .exited(0), "\(summary)\n\(run.logTail())")
            #expect(summary.hasPrefix("chaos: jobs=300 completed=300 failed=0 ledger_unique=300 "))
            #expect(summary.contains("stuck_running=0 integrity=ok"))
            #expect(!summary.contains("supervisor_kills=0"), "the run must kill the supervisor at least once")
        }
    }
}
