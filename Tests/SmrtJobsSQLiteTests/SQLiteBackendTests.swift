import Foundation
import SmrtJobsConformance
import Testing
import SmrtJobs
@testable import SmrtJobsSQLite

/// What only the SQLite backend promises: its health check and how its result codes are classed. (Its change
/// signal is checked with every backend's by the conformance suite.)
@Suite struct SQLiteBackendTests {
    @Test func healthCheckNoticesARemovedOrReplacedFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("jobs.sqlite")
        let backend = SQLiteBackend(path: path)
        #expect(backend.checkHealth() == nil, "no store opened yet: nothing to compare")
        // Kept open: when the last connection closes, SQLite removes the -wal file itself.
        let store = try backend.openStore()
        #expect(backend.checkHealth() == nil)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        #expect(backend.checkHealth() == "the file was removed")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        #expect(backend.checkHealth() == "the file was replaced by another file")
        withExtendedLifetime(store) {}
    }

    @Test func healthCheckNoticesRemovedOrReplacedSideFiles() throws {
        for suffix in SQLiteBackend.sideFileSuffixes {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.path("jobs.sqlite")
            let backend = SQLiteBackend(path: path)
            let store = try backend.openStore()
            _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Date())
            #expect(backend.checkHealth() == nil)
            #expect(unlink(path + suffix) == 0)
            #expect(backend.checkHealth() == "its \(suffix) file was removed")
            #expect(FileManager.default.createFile(atPath: path + suffix, contents: Data()))
            #expect(backend.checkHealth() == "its \(suffix) file was replaced by another file")
            withExtendedLifetime(store) {}
        }
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
