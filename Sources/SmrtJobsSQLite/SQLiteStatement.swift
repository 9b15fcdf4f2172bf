import CSQLite
import Foundation
import SmrtJobs

/// A prepared statement owned by its `SQLiteConnection` (which caches it by SQL text and finalizes it).
///
/// Parameter and column indexes: binds are 1-based as in SQLite, columns 0-based.
/// Dates are bound and read as `Timestamp` text, JSON as compact text.
public final class SQLiteStatement {
    private var handle: OpaquePointer?
    private let db: OpaquePointer

    init(_ handle: OpaquePointer, db: OpaquePointer) {
        self.handle = handle
        self.db = db
    }

    /// Finalizes the statement; only the connection calls this, once, before closing the database.
    func finalize() {
        if let handle { sqlite3_finalize(handle) }
        handle = nil
    }

    /// Advances to the next row: true when a row is available, false when done.
    @inline(__always)
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw SQLiteConnection.error(rc, db)
    }

    /// Resets the statement for its next use and clears the bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding (1-based)

    /// Binds NULL to parameter `index`.
    @inline(__always)
    public func bindNull(_ index: Int32) throws {
        try SQLiteConnection.check(sqlite3_bind_null(handle, index), db)
    }

    /// Binds an integer, or NULL for nil.
    @inline(__always)
    public func bind(_ value: Int64?, _ index: Int32) throws {
        guard let value else { return try bindNull(index) }
        try SQLiteConnection.check(sqlite3_bind_int64(handle, index, value), db)
    }

    /// Binds an integer, or NULL for nil.
    @inline(__always)
    public func bind(_ value: Int?, _ index: Int32) throws {
        try bind(value.map(Int64.init), index)
    }

    /// Binds 1 or 0, or NULL for nil.
    @inline(__always)
    public func bind(_ value: Bool?, _ index: Int32) throws {
        try bind(value.map { $0 ? Int64(1) : 0 }, index)
    }

    /// Binds a real, or NULL for nil.
    @inline(__always)
    public func bind(_ value: Double?, _ index: Int32) throws {
        guard let value else { return try bindNull(index) }
        try SQLiteConnection.check(sqlite3_bind_double(handle, index, value), db)
    }

    /// Binds text (copied by SQLite), or NULL for nil. The empty string binds as '' and not as NULL.
    @inline(__always)
    public func bind(_ value: String?, _ index: Int32) throws {
        guard var value else { return try bindNull(index) }
        let rc = value.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                // A nil pointer would bind NULL, not the empty string.
                return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                sqlite3_bind_text(handle, index, chars, Int32(bytes.count), csqlite_transient())
            }
        }
        try SQLiteConnection.check(rc, db)
    }

    /// Binds a date as `Timestamp` text.
    @inline(__always)
    public func bind(_ value: Date?, _ index: Int32) throws {
        try bind(value.map(Timestamp.format), index)
    }

    /// Binds a JSON value as compact text.
    @inline(__always)
    public func bind(_ value: JSONValue?, _ index: Int32) throws {
        try bind(value.map(\.jsonText), index)
    }

    // MARK: Columns (0-based)

    /// The number of result columns.
    public var columnCount: Int32 { sqlite3_column_count(handle) }

    /// True when the column of the current row is NULL.
    @inline(__always)
    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The column as an integer (0 for NULL).
    @inline(__always)
    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// The column as an integer (0 for NULL).
    @inline(__always)
    public func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    /// The column as a real (0 for NULL).
    @inline(__always)
    public func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// The column as a boolean: any non-zero integer is true.
    @inline(__always)
    public func bool(_ column: Int32) -> Bool {
        sqlite3_column_int64(handle, column) != 0
    }

    /// The column as text, or nil when NULL.
    @inline(__always)
    public func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Calls `body` with the column's text bytes (nil when NULL), valid only during the call: no copy is made.
    @inline(__always)
    public func withBytes<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        guard let text = sqlite3_column_text(handle, column) else { return try body(nil) }
        return try body(UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// The column as a `Timestamp`, or nil when NULL or unparsable.
    @inline(__always)
    public func date(_ column: Int32) -> Date? {
        string(column).flatMap(Timestamp.parse)
    }

    /// The column's name (for diagnostics and tests).
    public func columnName(_ column: Int32) -> String {
        sqlite3_column_name(handle, column).map { String(cString: $0) } ?? ""
    }
}
