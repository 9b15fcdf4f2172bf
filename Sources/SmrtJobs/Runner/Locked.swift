import Foundation

/// A value guarded by a lock. Closures run synchronously under the lock and must not suspend or call
/// back into code that takes the same lock.
package final class Locked<Value>: @unchecked Sendable {  // the lock guards `value`
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    @discardableResult
    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
