import Foundation
import SmrtJobs
import Testing

/// How the conformance suite gets stores of one backend.
///
/// `makeBackend` makes a backend on a fresh, empty database that belongs to the temporary directory it is
/// given (a file in it, or e.g. a schema named after it); each `openStore()` of that backend is another
/// connection to the same database. A store package adds one factory and runs every check against it:
///
/// ```swift
/// let factories = [StoreFactory(name: "PostgreSQL") { directory in try PGBackend(schema: directory.url.lastPathComponent) }]
/// @Test(arguments: StoreConformance.checks, factories)
/// func conformance(_ check: ConformanceCheck, _ factory: StoreFactory) throws { try check.run(factory) }
/// ```
public struct StoreFactory: Sendable, CustomTestStringConvertible {
    public typealias Store = any JobStore & ScheduleStore

    public let name: String
    let makeBackend: @Sendable (_ directory: TemporaryDirectory) throws -> any JobBackend
    let tearDown: @Sendable (_ backend: any JobBackend) -> Void
    /// Runs SQL on a store's connection, for checks of rows the store did not write (a corrupt value, one of a
    /// newer version); nil for a backend without SQL, whose checks skip that part.
    public let executeSQL: (@Sendable (_ store: Store, _ sql: String) throws -> Void)?

    /// - Parameters:
    ///   - name: how tests name the backend.
    ///   - makeBackend: a backend on a fresh database for one check.
    ///   - tearDown: removes what `makeBackend` created outside the directory (the directory itself is removed
    ///     afterwards); called after every store of the check was released.
    ///   - executeSQL: runs SQL (statements without results) on the store's connection; nil without SQL.
    public init(
        name: String, makeBackend: @escaping @Sendable (_ directory: TemporaryDirectory) throws -> any JobBackend,
        tearDown: @escaping @Sendable (_ backend: any JobBackend) -> Void = { _ in },
        executeSQL: (@Sendable (_ store: Store, _ sql: String) throws -> Void)? = nil
    ) {
        self.name = name
        self.makeBackend = makeBackend
        self.tearDown = tearDown
        self.executeSQL = executeSQL
    }

    public var testDescription: String { name }

    /// Runs `body` with a backend on a fresh database (stores, change signals and health of its own), then
    /// removes the database.
    public func withBackend(_ body: (_ backend: any JobBackend) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = try makeBackend(directory)
        defer { tearDown(backend) }
        try body(backend)
    }

    /// Runs `body` with a connection to a fresh database and a way to open more connections to it, then
    /// releases the connections and removes the database.
    public func withStore(_ body: (_ store: Store, _ openPeer: () throws -> Store) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = try makeBackend(directory)
        defer { tearDown(backend) }
        // The stores are released when this closure returns, before the database goes.
        try {
            let store = try backend.openStore()
            try body(store, { try backend.openStore() })
        }()
    }
}
