import CSQLite
import Foundation
import SmrtJobs

/// Runs the WAL checkpoints of a busy writer's connection on a thread of its own, with a connection of its own.
///
/// By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit copies the
/// pages into the database file and `fsync`s it, and on a busy writer (the supervisor's database thread) it takes
/// 20–40 ms instead of 1–3, every ~100 ms at 10,000 jobs/s: the held jobs run dry while it lasts. With a
/// checkpointer the writer's connection only notes the WAL's size after each commit (`sqlite3_wal_hook`, which
/// replaces the automatic checkpoint) and wakes this thread, whose PASSIVE checkpoint runs beside the writer's
/// next commits (WAL readers and writers do not wait for it). The next commit after a complete checkpoint starts
/// the WAL from its beginning again, as before.
///
/// Should the thread fall behind (a reader holding an old snapshot stops every checkpoint), the writer checkpoints
/// inline once the WAL reaches `inlineFallbackPages`, as SQLite would have, so the WAL stays bounded.
final class SQLiteCheckpointer: @unchecked Sendable {  // state under `condition`; `connection` on the thread only
    /// WAL pages after which a checkpoint is asked for (SQLite's own automatic checkpoint threshold).
    static let thresholdPages: Int32 = 1000
    /// WAL pages after which the writer checkpoints itself (the thread is not keeping up).
    static let inlineFallbackPages: Int32 = 8 * thresholdPages

    private let condition = NSCondition()
    private var wanted = false
    private var stopping = false
    private var running = false
    /// Checkpoints run (for tests).
    private var completed = 0
    private let connection: SQLiteConnection

    /// Opens a second connection to `path` for the checkpoints and starts the thread.
    init(path: String, busyTimeoutMs: Int32) throws {
        connection = try SQLiteConnection(path: path, mode: .readWrite, busyTimeoutMs: busyTimeoutMs)
        // A connection that has not read the file does not know it is in WAL mode: its checkpoints would do nothing.
        try connection.enableWAL()
        running = true
        let thread = Thread { [self] in main() }
        thread.name = "smrt-sqlite-checkpoint"
        thread.start()
    }

    /// Checkpoints run so far.
    var checkpoints: Int { condition.withLock { completed } }

    /// Takes over `writer`'s checkpoints (its automatic checkpoint stops). Call `detach` before the checkpointer
    /// goes away.
    func attach(to writer: SQLiteConnection) {
        sqlite3_wal_hook(writer.handle, walHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Gives `writer` back its automatic checkpoint.
    func detach(from writer: SQLiteConnection) {
        sqlite3_wal_hook(writer.handle, nil, nil)
        sqlite3_wal_autocheckpoint(writer.handle, Self.thresholdPages)
    }

    /// Ends the thread after the checkpoint it may be running, and waits for it; the connection closes with the
    /// checkpointer.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while running { condition.wait() }
        condition.unlock()
    }

    /// After a commit of the writer (on its thread) left `pages` in the WAL.
    fileprivate func walGrew(to pages: Int32, writer: OpaquePointer?, database: UnsafePointer<CChar>?) {
        if pages >= Self.inlineFallbackPages {
            sqlite3_wal_checkpoint_v2(writer, database, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard pages >= Self.thresholdPages else { return }
        condition.lock()
        if !wanted {
            wanted = true
            condition.signal()
        }
        condition.unlock()
    }

    private func main() {
        while true {
            condition.lock()
            while !wanted && !stopping { condition.wait() }
            if stopping {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            wanted = false
            condition.unlock()
            // Busy (another connection checkpoints right now) or any other failure: the next commit past the
            // threshold asks again, and the writer's fallback bounds the WAL meanwhile.
            _ = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            condition.withLock { completed += 1 }
        }
    }
}

/// `sqlite3_wal_hook`'s callback: `context` is the unretained checkpointer (detached before it is released).
private func walHook(
    _ context: UnsafeMutableRawPointer?, _ db: OpaquePointer?, _ database: UnsafePointer<CChar>?, _ pages: Int32
) -> Int32 {
    guard let context else { return SQLITE_OK }
    Unmanaged<SQLiteCheckpointer>.fromOpaque(context).takeUnretainedValue().walGrew(to: pages, writer: db, database: database)
    return SQLITE_OK
}
