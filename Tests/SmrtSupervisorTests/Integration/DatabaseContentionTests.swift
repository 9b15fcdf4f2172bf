import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Another process holding the write lock longer than the busy timeout delays writes but loses nothing.
    @Suite struct DatabaseContention {
        @Test func resultsSurviveABusyDatabase() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("sleep", ["ms": 200])
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--busy-timeout", "100"])
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            let released = DispatchSemaphore(value: 0)
            let locked = DispatchSemaphore(value: 0)
            let path = db.path
            Thread.detachNewThread {
                let connection = try? SQLiteConnection(path: path, busyTimeoutMs: 5000)
                try? connection?.exec("BEGIN EXCLUSIVE")
                locked.signal()
                usleep(1_500_000)
                try? connection?.exec("COMMIT")
                released.signal()
            }
            locked.wait()
            // The result cannot be written while the lock is held: the database thread retries.
            try supervisor.waitFor("database_busy", timeout: 5)
            #expect(try db.job(id).status == .running)
            released.wait()
            try db.waitFor(id, .completed, log: supervisor)
            #expect(supervisor.isRunning)
        }
    }
}
