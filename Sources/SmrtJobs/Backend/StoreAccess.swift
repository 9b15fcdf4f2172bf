/// What `JobBackend.openStore(_:)` may do to the database: only read an existing queue, read and write an
/// existing one, or create it when it is missing; and whether the queue's tables may be added to a database
/// that holds other tables but none of the queue's.
///
/// | access | missing database | empty database | other tables, none of ours | ours |
/// |--------|------------------|----------------|----------------------------|------|
/// | `.readOnly` | `noSuchDatabase` | `notAQueueDatabase` | `notAQueueDatabase` | read, never written or migrated |
/// | `.readWrite` | `noSuchDatabase` | tables created | `notAQueueDatabase` (tables added with `addingToForeignDatabase`) | migrated |
/// | `.create` | created | tables created | as `.readWrite` | migrated |
///
/// A mistyped path thus never becomes a new, empty queue for a command that only reads, and a command that
/// writes never turns another application's database into a queue without being told to (`--init`).
/// Apps that keep the queue inside their own database open it with `.createAnywhere`, the default of
/// `openStore()`.
public struct StoreAccess: Sendable, Equatable, CustomStringConvertible {
    /// How far the open may go.
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Read an existing queue: nothing is created, migrated or changed (SQLite: `SQLITE_OPEN_READONLY`,
        /// journal mode left alone). Every write through the store fails.
        case readOnly
        /// Read and write an existing database; the queue's tables are created or migrated first.
        case readWrite
        /// As `readWrite`, creating the database when it does not exist.
        case create
    }

    public var mode: Mode
    /// Whether the queue's tables may be added to a database that holds other tables but none of the queue's
    /// (`--init`). Ignored by `.readOnly`, which never adds anything.
    public var addsToForeignDatabase: Bool

    public init(mode: Mode, addsToForeignDatabase: Bool = false) {
        self.mode = mode
        self.addsToForeignDatabase = addsToForeignDatabase
    }

    /// Reads an existing queue; changes nothing.
    public static let readOnly = StoreAccess(mode: .readOnly)
    /// Reads and writes an existing queue (or an empty database); refuses another application's database.
    public static let readWrite = StoreAccess(mode: .readWrite)
    /// Creates the database when missing; refuses another application's database.
    public static let create = StoreAccess(mode: .create)
    /// Creates the database when missing, and adds the queue's tables to any database: what apps that keep
    /// the queue in their own database need, and what `openStore()` does.
    public static let createAnywhere = StoreAccess(mode: .create, addsToForeignDatabase: true)

    /// This access, also allowed to add the queue's tables to another application's database (`--init`).
    public func addingToForeignDatabase(_ allowed: Bool = true) -> StoreAccess {
        StoreAccess(mode: mode, addsToForeignDatabase: allowed)
    }

    /// Whether the store may write.
    public var writes: Bool { mode != .readOnly }

    public var description: String {
        mode.rawValue + (addsToForeignDatabase && writes ? " (adding tables to a foreign database)" : "")
    }
}
