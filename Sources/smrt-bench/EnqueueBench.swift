import Foundation
import SmrtJobs
import SmrtJobsSQLite

/// Enqueue through the public API, on a fresh file each.
enum EnqueueBench {
    /// `store.enqueue` of a builder's spec (the synchronous path of the CLI), one transaction per job.
    /// Returns jobs per second.
    static func single(dir: String, count: Int) throws -> Double {
        let path = dir + "/enqueue-single.sqlite"
        defer { removeDatabase(path) }
        let store = try SQLiteJobStore(path: path)
        let start = monotonicNs()
        for _ in 0..<count {
            _ = try store.enqueue(JobSpec(objectType: "Demo", method: "noop"), now: Date())
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }

    /// `store.enqueue(batch:)` of `batch` specs each. Returns jobs per second.
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
            for _ in 0..<batch { specs.append(JobSpec(objectType: "Demo", method: "noop")) }
            _ = try store.enqueue(batch: specs, now: now)
            done += batch
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }
}

/// The store's own claim (1) + complete loop, as the supervisor's database thread runs it per job, without
/// any IPC: the gap between this and the raw claim+complete limit is the store's overhead.
enum StoreClaimBench {
    static func claimComplete(dir: String, count: Int) throws -> Double {
        let path = dir + "/store-claim.sqlite"
        defer { removeDatabase(path) }
        do {
            let raw = try RawDB(path: path)
            try raw.fill(count: count, perTransaction: 10_000)
            try raw.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let store = try SQLiteJobStore(path: path)
        let worker = "bench-worker-1"
        let start = monotonicNs()
        for _ in 0..<count {
            let jobs = try store.claim(workerId: worker, limit: 1, queues: nil, now: Date())
            guard let job = jobs.first else { throw BenchError("store claim returned no job") }
            try store.complete(id: job.id, workerId: worker, now: Date())
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }
}
