import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing
@testable import SmrtJobsSQLite

/// `Options.checkpointsInBackground`: the WAL is copied into the database file by the store's own thread, not by
/// the commit that takes it past SQLite's threshold.
@Suite struct SQLiteCheckpointerTests {
    static let pageBytes = 4096

    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// Enqueues `pages` jobs of ~3 kB (a page of WAL each, or more), 20 per transaction; returns how many.
    func fillWAL(_ store: SQLiteJobStore, pages: Int) throws -> Int {
        let args: [String: JSONValue] = ["blob": .string(String(repeating: "x", count: 3000))]
        for _ in 0..<(pages / 20) {
            _ = try store.enqueue(batch: (0..<20).map { _ in JobSpec(objectType: "Doc", method: "run", args: args) }, now: Date())
        }
        return pages / 20 * 20
    }

    @Test func aThreadOfTheStoresOwnCopiesTheWALIntoTheDatabaseFile() async throws {
        try await BlockingWork.run { try copiesTheWALInTheBackground() }
    }

    func copiesTheWALInTheBackground() throws {
        let directory = try TemporaryDirectory(prefix: "smrt-sqlite-checkpoint")
        defer { directory.remove() }
        let path = directory.path("jobs.sqlite")
        var written = 0
        do {
            let store = try SQLiteJobStore(path: path, options: .init(checkpointsInBackground: true))
            let before = size(path)
            // Past the threshold (1,000 pages of WAL: ~740 distinct pages, the rest rewrites of index pages), far
            // below the writer's own fallback (8,000).
            written = try fillWAL(store, pages: 1500)
            // Only a checkpoint writes the database file; the commits do not wait for it, so it comes a little later.
            let deadline = Date().addingTimeInterval(10)
            while size(path) < before + 600 * Self.pageBytes && Date() < deadline { usleep(10_000) }
            #expect(size(path) >= before + 600 * Self.pageBytes, "no checkpoint wrote the database file")
            #expect((store.backgroundCheckpoints ?? 0) >= 1)
            #expect(size(path + "-wal") < Int(SQLiteCheckpointer.inlineFallbackPages) * Self.pageBytes)
        }
        // The store (and its thread) is gone; the rows are all there for another connection.
        let reader = try SQLiteJobStore(path: path, access: .readOnly)
        #expect(try reader.stats(queue: nil).pending == written)
    }

    /// Without the option (every process but the supervisor): SQLite's own checkpoint, in the commit, and no thread.
    @Test func withoutTheOptionTheCommitCheckpointsAsSQLiteDoes() async throws {
        try await BlockingWork.run { try checkpointsInTheCommit() }
    }

    func checkpointsInTheCommit() throws {
        let directory = try TemporaryDirectory(prefix: "smrt-sqlite-checkpoint")
        defer { directory.remove() }
        let path = directory.path("jobs.sqlite")
        let store = try SQLiteJobStore(path: path)
        #expect(store.backgroundCheckpoints == nil)
        let before = size(path)
        _ = try fillWAL(store, pages: 1200)
        #expect(size(path) >= before + 600 * Self.pageBytes, "the commit past 1,000 pages checkpointed at once")
        let reader = try SQLiteJobStore(path: path, options: .init(checkpointsInBackground: true), access: .readOnly)
        #expect(reader.backgroundCheckpoints == nil, "a read-only store writes no checkpoint")
    }
}
