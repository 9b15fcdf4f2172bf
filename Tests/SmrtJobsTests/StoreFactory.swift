import Foundation
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// How the conformance suite gets a store. `open(directory)` opens a connection to the database that belongs
/// to `directory` (a fresh temporary directory per test); calling it again with the same directory gives a
/// second connection to the same database. A PostgreSQL store adds one factory (deriving e.g. a schema name
/// from the directory) to `StoreFactory.all` and runs the whole suite.
struct StoreFactory: Sendable, CustomTestStringConvertible {
    typealias Store = any JobStore & ScheduleStore

    let name: String
    let open: @Sendable (_ directory: TemporaryDirectory) throws -> Store

    var testDescription: String { name }

    /// Every store the conformance suite runs against.
    static let all: [StoreFactory] = [.sqlite]

    static let sqlite = StoreFactory(name: "SQLite") { directory in
        try SQLiteJobStore(path: directory.path("jobs.sqlite"))
    }

    /// Runs `body` with a store on a fresh database, then removes the database.
    func withStore(_ body: (_ store: Store, _ openPeer: () throws -> Store) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The stores are released when this closure returns, before the directory goes.
        try {
            let store = try open(directory)
            try body(store, { try open(directory) })
        }()
    }
}
