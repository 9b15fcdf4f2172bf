import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Several supervisors on one database file: the claim is one `UPDATE ... RETURNING` inside `BEGIN IMMEDIATE`,
    /// so without kills every job runs exactly once, whichever supervisor gets it.
    @Suite struct MultipleSupervisors {
        /// The ledger's lines counted per number.
        static func ledgerCounts(_ path: String) throws -> [Int: Int] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var counts: [Int: Int] = [:]
            for line in text.split(separator: "\n") {
                let number = try #require(Int(line), "malformed ledger line '\(line)'")
                counts[number, default: 0] += 1
            }
            return counts
        }

        static func appendJobs(_ count: Int, ledger: String, store: SQLiteJobStore) throws {
            let specs = (0..<count).map { i in
                JobSpec(objectType: "Demo", method: "append", args: ["path": .string(ledger), "line": .string(String(i))])
            }
            _ = try store.enqueue(batch: specs, now: Date())
        }

        @Test func threeSupervisorsRunEveryJobExactlyOnce() throws {
            let db = try TestDatabase()
            let ledger = db.file("ledger.txt")
            let count = 3000
            try Self.appendJobs(count, ledger: ledger, store: db.store)
            let supervisors = try (1...3).map { n in
                try SupervisorProcess(database: db, workers: 1, logName: "supervisor\(n).log")
            }
            _ = try eventually("all \(count) jobs completed", timeout: 90, context: {
                "stats: \((try? db.store.stats(queue: nil)).map { "\($0)" } ?? "?")"
            }) { () -> Bool? in
                try db.store.stats(queue: nil).completed == count ? true : nil
            }
            let counts = try Self.ledgerCounts(ledger)
            #expect(counts.count == count)
            #expect(counts.values.allSatisfy { $0 == 1 }, "run more than once: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(20))")
            #expect(counts.keys.min() == 0 && counts.keys.max() == count - 1)
            // Each job ran in one attempt, and all three supervisors took part.
            let jobs = try db.store.list(JobQuery(status: .completed, limit: count))
            #expect(jobs.allSatisfy { $0.attempts == 1 })
            #expect(Set(jobs.compactMap(\.workerId)).count == 3)
            for supervisor in supervisors {
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// Two supervisors started at the same moment on a file that does not exist yet: both create/migrate it
        /// without an error (the WAL switch and the schema migration retry through SQLITE_BUSY), both run jobs,
        /// and each job still runs once.
        @Test func twoSupervisorsStartedAtOnceOnANewFile() throws {
            let db = try TestDatabase()
            let path = db.file("fresh.sqlite")
            let ledger = db.file("ledger.txt")
            #expect(!FileManager.default.fileExists(atPath: path))
            let supervisors = try (1...2).map { n in
                try SupervisorProcess(
                    executable: SupervisorProcess.binaryPath,
                    arguments: ["--db", path, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json"],
                    logPath: db.file("fresh\(n).log"))
            }
            for supervisor in supervisors { try supervisor.waitFor("supervisor_started") }
            let store = try SQLiteJobStore(path: path)
            try Self.appendJobs(200, ledger: ledger, store: store)
            _ = try eventually("200 jobs completed", timeout: 30) { () -> Bool? in
                try store.stats(queue: nil).completed == 200 ? true : nil
            }
            let counts = try Self.ledgerCounts(ledger)
            #expect(counts.count == 200 && counts.values.allSatisfy { $0 == 1 })
            #expect(try store.listWorkers().count == 2)
            for supervisor in supervisors {
                #expect(supervisor.events("database_failed").isEmpty)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        }
    }
}
