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
            let a = WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0, expiresAt: t0 + 30)
            let b = WorkerRecord(id: "sup-b", pid: 200, host: "h2", startedAt: t0, heartbeat: t0)
            try store.registerWorker(b)
            try store.registerWorker(a)
            #expect(try store.listWorkers() == [a, b])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 15, expiresAt: t0 + 17.5)
            #expect(try store.listWorkers().first?.heartbeat == t0 + 15)
            #expect(try store.listWorkers().first?.expiresAt == t0 + 17.5, "the owner's own expiry, as written")
            let restarted = WorkerRecord(
                id: "sup-b", pid: 300, host: "h2", startedAt: t0 + 20, heartbeat: t0 + 20, expiresAt: t0 + 23)
            try store.registerWorker(restarted)
            #expect(try store.listWorkers().last == restarted)
            try store.removeWorker(id: "sup-a")
            #expect(try store.listWorkers() == [restarted])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 30, expiresAt: t0 + 60)
            #expect(try store.listWorkers() == [restarted])
            try store.removeWorker(id: "sup-b")
            #expect(try store.listWorkers().isEmpty)
        }
    }
}
