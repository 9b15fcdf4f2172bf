import CLibPQ
import Foundation
import SmrtJobs
import SmrtJobsConformance
@testable import SmrtJobsPostgres
import Testing

/// The recovery of a dead owner's jobs against an owner that is alive after all, with the owner's transaction
/// open while the recovery runs (what the conformance suite, one call at a time, cannot interleave): READ
/// COMMITTED must not let the recovery take a job the owner claimed under a lease renewed after the judgement.
@Suite(
    "PostgreSQL recovery",
    .enabled(if: PostgresTestServer.isRequested, "SMRT_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)"))
struct PostgresRecoveryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Runs the recovery on a thread of its own, waits until its session is blocked by another one, then runs
    /// `whileBlocked` (which ends the blocking transaction) and returns the recovery's answer.
    static func recover(
        _ store: PostgresJobStore, owner: String, lease: JudgedLease, whileBlocked: () throws -> Void
    ) throws -> [RecoveredJob]?? {
        let pid = try store.withConnection { PQbackendPID($0.handle) }
        let answer = Locked<Result<[RecoveredJob]?, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            answer.withLock { result in
                result = Result { try store.recoverJobs(ofDeadOwner: owner, leaseAsJudged: lease, reason: "dead", now: t0 + 60) { _ in nil } }
            }
            done.signal()
        }.start()
        let admin = try PostgresTestServer.adminConnection()
        let blocked = try PostgresTestServer.eventually(within: 10) {
            let row = try admin.queryOnce("SELECT cardinality(pg_blocking_pids($1::integer)) > 0", [String(pid)]).row(0)
            return row.string(0) == "t"
        }
        #expect(blocked, "the recovery waits for the owner's transaction")
        try whileBlocked()
        #expect(done.wait(timeout: .now() + 10) == .success, "the recovery finished")
        return try answer.withLock { $0 }.map { try $0.get() }
    }

    /// The owner renews (its transaction holds the lease row) while the recovery starts: the recovery waits for the
    /// row, reads the renewed heartbeat and takes nothing; the job the owner then claims stays with it.
    @Test func aRenewalInProgressIsWaitedForAndKeepsTheJobs() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, url, _ in
                let store = try backend.openPostgresStore()
                let ids = try store.enqueue(batch: [JobSpec(objectType: "Doc", method: "run"), JobSpec(objectType: "Doc", method: "run")], now: Self.t0)
                try store.registerWorker(WorkerRecord(id: "owner", pid: 1, host: "h", startedAt: Self.t0, heartbeat: Self.t0, expiresAt: Self.t0 + 30))
                #expect(try store.claim(workerId: "owner", limit: 1, queues: nil, now: Self.t0).map(\.id) == [ids[0]])
                let owner = try PostgresConnection(settings: PostgresSettings(url: url))
                try owner.exec("BEGIN")
                try owner.query(
                    "UPDATE _smrt_workers SET heartbeat = $1::timestamptz, expires_at = $2::timestamptz WHERE id = 'owner'",
                    [Timestamp.format(Self.t0 + 50), Timestamp.format(Self.t0 + 80)])
                let answer = try Self.recover(store, owner: "owner", lease: .row(heartbeat: Self.t0)) {
                    try owner.exec("COMMIT")
                    let peer = try backend.openStore()
                    #expect(try peer.claim(workerId: "owner", limit: 1, queues: nil, now: Self.t0 + 50).map(\.id) == [ids[1]])
                }
                #expect(answer == .some(nil), "renewed after the judgement: nothing is taken")
                for id in ids {
                    let job = try #require(try store.get(id: id))
                    #expect(job.status == .running && job.workerId == "owner" && job.attempts == 1)
                }
                #expect(try store.listWorkers().map(\.heartbeat) == [Self.t0 + 50])
            }
        }
    }

    /// An owner without a row had a running job when the recovery read it; before the recovery could write it, the
    /// owner registered, released the job and claimed it again (a new attempt under the new lease). The recovery
    /// must leave that attempt alone: it writes a row only as it read it.
    @Test func aJobClaimedAgainAfterTheReadIsLeftAlone() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, url, _ in
                let store = try backend.openPostgresStore()
                let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                #expect(try store.claim(workerId: "w", limit: 1, queues: nil, now: Self.t0).map(\.id) == [job.id])
                let owner = try PostgresConnection(settings: PostgresSettings(url: url))
                try owner.exec("BEGIN")
                try owner.query(
                    "UPDATE _smrt_jobs SET status = 'pending', worker_id = NULL, worker_heartbeat = NULL, started_at = NULL, "
                        + "attempts = attempts - 1 WHERE id = $1::bigint", [String(job.id)])
                let answer = try Self.recover(store, owner: "w", lease: .noRow) {
                    let now = Timestamp.format(Self.t0 + 50)
                    try owner.query(
                        "INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at) "
                            + "VALUES ('w', 1, 'h', $1::timestamptz, $1::timestamptz, $1::timestamptz + interval '30 seconds')", [now])
                    try owner.query(
                        "UPDATE _smrt_jobs SET status = 'running', worker_id = 'w', worker_heartbeat = $2::timestamptz, "
                            + "started_at = $2::timestamptz, attempts = attempts + 1 WHERE id = $1::bigint", [String(job.id), now])
                    try owner.exec("COMMIT")
                }
                #expect(answer == .some(nil), "the owner registered: nothing is taken")
                let after = try #require(try store.get(id: job.id))
                #expect(after.status == .running && after.workerId == "w" && after.attempts == 1 && after.lastError == nil)
                #expect(after.startedAt == Self.t0 + 50)
            }
        }
    }
}
