import Foundation
import SmrtJobs

/// Enqueue through the public API, on a fresh file each.
enum EnqueueBench {
    /// `JobBuilder(...).enqueue()`, one transaction per job. Returns jobs per second.
    static func single(dir: String, count: Int) throws -> Double {
        let path = dir + "/enqueue-single.sqlite"
        defer { removeDatabase(path) }
        let store = try SQLiteJobStore(path: path)
        let start = monotonicNs()
        for _ in 0..<count {
            try JobBuilder(store: store, objectType: "Demo", method: "noop").enqueue()
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }

    /// `store.enqueue(batch:)` of `batch` specs each (built from `JobBuilder`). Returns jobs per second.
    static func batch(dir: String, count: Int, batch: Int) throws -> Double {
        let path = dir + "/enqueue-batch.sqlite"
        defer { removeDatabase(path) }
        let store = try SQLiteJobStore(path: path)
        let start = monotonicNs()
        var done = 0
        while done < count {
            var specs: [JobSpec] = []
            specs.reserveCapacity(batch)
            let now = Date()
            for _ in 0..<batch { specs.append(JobBuilder(store: store, objectType: "Demo", method: "noop").resolvedSpec(now: now)) }
            _ = try store.enqueue(batch: specs, now: now)
            done += batch
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }
}
