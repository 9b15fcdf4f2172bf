import CLibPQ
import Foundation
import SmrtJobs

/// One `PGresult` of a successful call, cleared exactly once when the value goes away. Values are text
/// (the session is UTC with ISO dates); `row(_:)` reads them typed.
public final class PostgresResult {
    let handle: OpaquePointer

    /// Takes ownership of `result` (NULL included): a failed call is cleared here and thrown as its
    /// `SmrtJobsError`; a lost connection marks `connection` broken.
    init(checking result: OpaquePointer?, connection: PostgresConnection) throws {
        guard let result else {
            // No result at all: out of memory, or the connection is gone.
            let error = PostgresError.noResult(connection)
            throw error
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            handle = result
        default:
            let error = PostgresError.failure(result, connection)
            PQclear(result)
            throw error
        }
    }

    deinit {
        PQclear(handle)
    }

    public var rowCount: Int { Int(PQntuples(handle)) }

    /// Rows an INSERT, UPDATE or DELETE changed (0 for other statements).
    public var affectedRows: Int {
        guard let text = PQcmdTuples(handle) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// Row `index` (0-based), for typed reads.
    public func row(_ index: Int) -> PostgresRow { PostgresRow(result: self, index: Int32(index)) }

    /// Every row.
    public var rows: [PostgresRow] { (0..<rowCount).map(row) }
}

/// One row of a `PostgresResult`, read by column position.
public struct PostgresRow {
    let result: PostgresResult
    let index: Int32

    public func isNull(_ column: Int32) -> Bool { PQgetisnull(result.handle, index, column) != 0 }

    public func string(_ column: Int32) -> String? {
        guard !isNull(column), let value = PQgetvalue(result.handle, index, column) else { return nil }
        return String(cString: value)
    }

    public func int64(_ column: Int32) -> Int64 {
        withBytes(column) { bytes in
            guard let bytes else { return 0 }
            var value: Int64 = 0
            var negative = false
            for byte in bytes {
                if byte == UInt8(ascii: "-") {
                    negative = true
                } else if byte >= 48 && byte <= 57 {
                    value = value &* 10 &+ Int64(byte - 48)
                } else {
                    break
                }
            }
            return negative ? -value : value
        }
    }

    public func int(_ column: Int32) -> Int { Int(int64(column)) }

    /// `t` / `f` of a boolean column.
    public func bool(_ column: Int32) -> Bool {
        guard !isNull(column), let value = PQgetvalue(result.handle, index, column) else { return false }
        return value.pointee == CChar(UInt8(ascii: "t"))
    }

    /// A timestamptz column in the session's form (`2027-01-15 08:00:00.123+00`), to the millisecond.
    public func date(_ column: Int32) -> Date? {
        guard var text = string(column) else { return nil }
        if text.hasSuffix("+00") { text.removeLast(3) }
        return Timestamp.parse(text)
    }

    /// Runs `body` with the bytes of the column (nil when NULL), without copying them.
    public func withBytes<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        guard !isNull(column), let value = PQgetvalue(result.handle, index, column) else { return try body(nil) }
        let length = Int(PQgetlength(result.handle, index, column))
        return try value.withMemoryRebound(to: UInt8.self, capacity: max(length, 1)) { bytes in
            try body(UnsafeBufferPointer(start: bytes, count: length))
        }
    }
}
