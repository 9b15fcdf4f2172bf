import CLibUV

/// An error reported by libuv: a negative errno-style code plus the operation that produced it.
///
/// This is the one path from libuv return codes to Swift errors; every wrapper goes through
/// ``UVError/check(_:_:)``. The description reads like `uv_spawn: ENOENT (no such file or directory)`.
public struct UVError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The libuv error code (a negative errno value on Unix, e.g. `UV_ENOENT`).
    public let code: Int32
    /// The libuv call (or wrapper operation) that failed, e.g. `"uv_spawn"`.
    public let operation: String

    /// Wraps a libuv error code; `code` should be negative.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Throws a ``UVError`` when `code` is negative; libuv calls return 0 (or a positive count) on success.
    @inlinable
    public static func check(_ code: Int32, _ operation: String) throws {
        if code < 0 { throw UVError(code: code, operation: operation) }
    }

    /// The symbolic name, e.g. `"ENOENT"`.
    public var name: String {
        // The _r variants: uv_err_name/uv_strerror leak a malloc'd string for unknown codes.
        Self.withBuffer { uv_err_name_r(code, $0, $1) }
    }

    /// The human-readable message, e.g. `"no such file or directory"`.
    public var message: String {
        Self.withBuffer { uv_strerror_r(code, $0, $1) }
    }

    public var description: String { "\(operation): \(name) (\(message))" }

    private static func withBuffer(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> UnsafeMutablePointer<CChar>?
    ) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let base = buffer.baseAddress!
            base.initialize(to: 0)
            _ = body(base, buffer.count)
            return String(cString: base)
        }
    }
}

extension UVError {
    /// libuv error codes the rest of the supervisor compares against, without importing CLibUV.
    public enum Code {
        public static let EOF = UV_EOF.rawValue
        public static let ENOENT = UV_ENOENT.rawValue
        public static let EBUSY = UV_EBUSY.rawValue
        public static let ESRCH = UV_ESRCH.rawValue
        public static let EINVAL = UV_EINVAL.rawValue
        public static let EPIPE = UV_EPIPE.rawValue
        public static let ECANCELED = UV_ECANCELED.rawValue
        public static let ECONNRESET = UV_ECONNRESET.rawValue
        public static let EAGAIN = UV_EAGAIN.rawValue
        public static let EACCES = UV_EACCES.rawValue
        public static let EPERM = UV_EPERM.rawValue
        public static let EBADF = UV_EBADF.rawValue
        public static let ENOTCONN = UV_ENOTCONN.rawValue
        public static let ENOBUFS = UV_ENOBUFS.rawValue
    }
}
