import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A queue in one SQLite file (WAL mode), shared by any number of processes on this host.
///
/// Change signal: `SQLiteChangeSignal` (the WAL file's writes, confirmed with `PRAGMA data_version`).
/// Health: the path must go on naming the file the first store opened, and its `-wal` and `-shm` files must
/// stay the ones first seen: SQLite would otherwise go on writing to unlinked inodes while every other process
/// sees a new, empty database (or a new WAL without the commits of the old one). While a process has a
/// connection open SQLite never removes these files itself.
public final class SQLiteBackend: JobBackend {
    public let path: String
    public let options: SQLiteJobStore.Options
    /// Device and inode of the file when the first store opened it.
    private let identity = Locked<FileIdentity?>(nil)
    /// Device and inode of the `-wal` and `-shm` files, from the first store opened (or the first health check
    /// that saw them).
    private let sideFiles = Locked<[String: FileIdentity]>([:])

    /// The files SQLite keeps beside a database in WAL mode.
    static let sideFileSuffixes = ["-wal", "-shm"]

    public init(path: String, options: SQLiteJobStore.Options = .init()) {
        self.path = path
        self.options = options
    }

    public var displayName: String { path }

    /// A connection to the file (see `StoreAccess`): read-only opens it with `SQLITE_OPEN_READONLY` and
    /// leaves its journal mode and schema alone; other modes refuse a file with other tables but none of ours
    /// unless told to add ours, then switch it to WAL and migrate it.
    public func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore {
        try openSQLiteStore(access)
    }

    /// `openStore(_:)` with the concrete type, for SQLite-only tools (raw SQL, schema version).
    public func openSQLiteStore(_ access: StoreAccess = .createAnywhere) throws -> SQLiteJobStore {
        let store = try SQLiteJobStore(path: path, options: options, access: access)
        identity.withLock { known in
            if known == nil { known = FileIdentity(path: path) }
        }
        // The store has read the file (its schema), so SQLite has created the side files by now.
        sideFiles.withLock { known in
            for suffix in Self.sideFileSuffixes where known[suffix] == nil {
                known[suffix] = FileIdentity(path: path + suffix)
            }
        }
        return store
    }

    public func makeChangeSignal() throws -> any ChangeSignal {
        SQLiteChangeSignal(path: path)
    }

    public func checkHealth() -> String? {
        // Paths SQLite does not back with a file (":memory:", URIs) have no identity and are not checked.
        guard let expected = identity.withLock({ $0 }) else { return nil }
        var info = stat()
        if stat(path, &info) != 0 {
            let error = errno
            if error == ENOENT { return "the file was removed" }
            return "cannot stat it: \(String(cString: strerror(error)))"
        }
        if FileIdentity(info) != expected { return "the file was replaced by another file" }
        for suffix in Self.sideFileSuffixes {
            let current = FileIdentity(path: path + suffix)
            let problem = sideFiles.withLock { known -> String? in
                guard let first = known[suffix] else {
                    known[suffix] = current
                    return nil
                }
                guard let current else { return "its \(suffix) file was removed" }
                return current == first ? nil : "its \(suffix) file was replaced by another file"
            }
            if let problem { return problem }
        }
        return nil
    }
}

/// A file as the kernel knows it: the same path may name another file later.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }
}
