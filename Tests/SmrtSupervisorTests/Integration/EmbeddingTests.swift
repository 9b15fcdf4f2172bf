import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// An app that embeds `Supervisor` and re-execs its own binary as the worker.
    @Suite struct Embedding {
        @Test func embeddedSupervisorRunsJobsInItsOwnBinary() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("greet", ["name": "world"], type: "Greeter")
            let binary = WorkerHarness.productsFolder.appendingPathComponent("smrt-embedded-example").path
            let app = try SupervisorProcess(
                executable: binary, arguments: ["--db", db.path, "--workers", "1", "--log-format", "json"],
                logPath: db.file("embedded.log"))
            let job = try db.waitFor(id, .completed, log: app)
            #expect(job.result?["greeting"] == "hello world")
            // The job ran in a child process of the app, not in the app itself.
            let workerPid = try #require(job.result?["pid"]?.intValue)
            #expect(Int32(workerPid) != app.pid)
            app.signal(SIGTERM)
            #expect(try app.waitForExit() == .exited(0))
        }
    }
}
