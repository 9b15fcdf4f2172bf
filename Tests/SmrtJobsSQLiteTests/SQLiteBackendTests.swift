import Foundation
import SmrtJobsConformance
import Testing
import SmrtJobs
@testable import SmrtJobsSQLite

/// The SQLite backend's seam: change signal, health check, error classes.
@Suite struct SQLiteBackendTests {
    /// Counts `onChange` calls; waits for the count to pass a value, with a deadline.
    final class Changes: Sendable {
        private let count = Locked(0)
        func record() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
        func wait(above previous: Int, seconds: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if value > previous { return true }
                usleep(1000)
            }
            return false
        }
    }

    @Test func changeSignalFiresWhenAnotherConnectionCommits() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = SQLiteBackend(path: directory.path("jobs.sqlite"))
        let store = try backend.openStore()
        let signal = try backend.makeChangeSignal()
        let changes = Changes()
        try signal.start { changes.record() }
        defer { signal.stop() }
        for round in 0..<3 {
            let before = changes.value
            _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Date())
            #expect(changes.wait(above: before), "round \(round): no change reported within 10 s")
        }
    }

    @Test func pausedSignalReportsAMissedChangeWhenResumed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = SQLiteBackend(path: directory.path("jobs.sqlite"))
        let store = try backend.openStore()
        let signal = try backend.makeChangeSignal()
        let changes = Changes()
        try signal.start { changes.record() }
        defer { signal.stop() }
        signal.setActive(false)
        let before = changes.value
        _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Date())
        signal.setActive(true)
        #expect(changes.wait(above: before))
    }

    @Test func stopIsIdempotentAndWorksWithoutStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = SQLiteBackend(path: directory.path("jobs.sqlite"))
        _ = try backend.openStore()
        let unused = try backend.makeChangeSignal()
        unused.stop()
        unused.stop()
        let signal = try backend.makeChangeSignal()
        try signal.start {}
        signal.stop()
        signal.stop()
    }

    @Test func healthCheckNoticesARemovedOrReplacedFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("jobs.sqlite")
        let backend = SQLiteBackend(path: path)
        #expect(backend.checkHealth() == nil, "no store opened yet: nothing to compare")
        _ = try backend.openStore()
        #expect(backend.checkHealth() == nil)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        #expect(backend.checkHealth() == "the file was removed")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        #expect(backend.checkHealth() == "the file was replaced by another file")
    }

    @Test func resultCodesAreSortedIntoKinds() {
        #expect(SQLiteConnection.kind(of: 5) == .busy)  // SQLITE_BUSY
        #expect(SQLiteConnection.kind(of: 6) == .busy)  // SQLITE_LOCKED
        #expect(SQLiteConnection.kind(of: 13) == .fatal)  // SQLITE_FULL
        #expect(SQLiteConnection.kind(of: 10 | (4 << 8)) == .fatal)  // SQLITE_IOERR_SHORT_READ
        #expect(SQLiteConnection.kind(of: 19) == .badInput)  // SQLITE_CONSTRAINT
        #expect(SQLiteConnection.kind(of: 1) == .other)  // SQLITE_ERROR
    }
}
