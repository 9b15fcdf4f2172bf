import Foundation
import SmrtJobs

/// The connections that serve requests: each a `StoreExecutor` (a thread that owns one store), so blocking
/// store calls never run on an event loop or the cooperative pool. A call goes to the connection with the
/// fewest calls in flight, so one slow call (a bulk retry) does not hold up the pages behind it.
final class StorePool: Sendable {
    typealias Store = any JobStore & ScheduleStore

    private let executors: [StoreExecutor<Store>]
    private let inFlight: Locked<[Int]>

    private init(executors: [StoreExecutor<Store>]) {
        self.executors = executors
        inFlight = Locked(Array(repeating: 0, count: executors.count))
    }

    /// Opens `count` connections with `access`, each on its own thread (`name-1`, `name-2`, …). On a failure the
    /// connections already opened are closed and the error is thrown.
    static func open(
        _ backend: any JobBackend, access: StoreAccess, count: Int, name: String = "smrt-dash-db"
    ) async throws -> StorePool {
        var executors: [StoreExecutor<Store>] = []
        do {
            for index in 1...max(1, count) {
                executors.append(try await StoreExecutor(name: "\(name)-\(index)") { try backend.openStore(access) })
            }
        } catch {
            for executor in executors { await executor.close() }
            throw error
        }
        return StorePool(executors: executors)
    }

    /// Runs `body` with a store on the least busy connection's thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (Store) throws -> T) async throws -> T {
        let index = inFlight.withLock { counts -> Int in
            let index = counts.indices.min { counts[$0] < counts[$1] } ?? 0
            counts[index] += 1
            return index
        }
        defer { inFlight.withLock { $0[index] -= 1 } }
        return try await executors[index].run(body)
    }

    /// Lets the calls already queued finish and closes every connection (once; later calls throw `closed`).
    func close() async {
        for executor in executors { await executor.close() }
    }
}

extension JobStore {
    /// The store as a `QueueStore`, or a 501 naming what this backend lacks.
    func asQueueStore() throws -> any QueueStore {
        guard let store = self as? any QueueStore else { throw APIError.notImplemented("this database's store cannot list queues") }
        return store
    }

    /// The store as a `MonitoringStore`, or a 501 naming what this backend lacks.
    func asMonitoringStore() throws -> any MonitoringStore {
        guard let store = self as? any MonitoringStore else {
            throw APIError.notImplemented("this database's store cannot page jobs or count finished jobs per minute yet")
        }
        return store
    }
}
