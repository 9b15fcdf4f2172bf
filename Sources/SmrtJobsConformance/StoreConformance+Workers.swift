import Foundation
import SmrtJobs
import Testing

/// The lease rows of workers.
extension StoreConformance {
    static let workerChecks: [ConformanceCheck] = [
        ConformanceCheck("workersTable", workersTable),
    ]

    static func workersTable(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(try store.listWorkers().isEmpty)
            let a = WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0)
            let b = WorkerRecord(id: "sup-b", pid: 200, host: "h2", startedAt: t0, heartbeat: t0)
            try store.registerWorker(b)
            try store.registerWorker(a)
            #expect(try store.listWorkers() == [a, b])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 15)
            #expect(try store.listWorkers().first?.heartbeat == t0 + 15)
            let restarted = WorkerRecord(id: "sup-b", pid: 300, host: "h2", startedAt: t0 + 20, heartbeat: t0 + 20)
            try store.registerWorker(restarted)
            #expect(try store.listWorkers().last == restarted)
            try store.removeWorker(id: "sup-a")
            #expect(try store.listWorkers() == [restarted])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 30)
            #expect(try store.listWorkers() == [restarted])
        }
    }
}
