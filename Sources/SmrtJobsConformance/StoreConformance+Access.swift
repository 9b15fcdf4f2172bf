import Foundation
import SmrtJobs
import Testing

/// `StoreAccess`: what a store opened read-only, read-write or creating may do to the database.
extension StoreConformance {
    static let accessChecks: [ConformanceCheck] = [
        ConformanceCheck("onlyCreateOpensAMissingDatabase", onlyCreateOpensAMissingDatabase),
        ConformanceCheck("readOnlyStoreReadsAndNeverWrites", readOnlyStoreReadsAndNeverWrites),
    ]

    /// Read-only and read-write opens of a database that does not exist throw `noSuchDatabase` and create
    /// nothing (a second attempt fails the same way); once a store created it, both open it.
    static func onlyCreateOpensAMissingDatabase(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            for access in [StoreAccess.readOnly, .readWrite, .readWrite.addingToForeignDatabase(), .readOnly, .readWrite] {
                do {
                    _ = try backend.openStore(access)
                    Issue.record("\(access) opened a database that does not exist")
                } catch SmrtJobsError.noSuchDatabase(let name) {
                    #expect(name == backend.displayName)
                }
            }
            let writer = try backend.openStore(.create)
            let id = try writer.enqueue(spec(), now: t0).id
            #expect(try backend.openStore(.readOnly).get(id: id)?.status == .pending)
            #expect(try backend.openStore(.readWrite).cancel(id: id, now: t0).status == .cancelled)
            #expect(try backend.openStore(.create).get(id: id)?.status == .cancelled)
        }
    }

    /// A read-only store sees what writers committed (jobs, stats, schedules) and fails every write with a
    /// database error, leaving the data as it was.
    static func readOnlyStoreReadsAndNeverWrites(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            let writer = try backend.openStore()
            let ids = try writer.enqueue(batch: [spec(), spec(queue: "mail")], now: t0)
            let schedule = try writer.createSchedule(
                AgentScheduleSpec(agentType: "Agent", cron: "@daily"), nextRun: t0 + 60, status: .active, lastError: nil,
                now: t0)
            let reader = try backend.openStore(.readOnly)
            #expect(try reader.get(id: ids[1])?.queue == "mail")
            #expect(try reader.list(JobQuery()).map(\.id) == ids.reversed())
            #expect(try reader.stats(queue: nil) == JobStats(pending: 2))
            #expect(try reader.listSchedules().map(\.id) == [schedule.id])

            let writes: [(String, () throws -> Void)] = [
                ("enqueue", { _ = try reader.enqueue(spec(), now: t0) }),
                ("enqueue batch", { _ = try reader.enqueue(batch: [spec()], now: t0) }),
                ("claim", { _ = try reader.claim(workerId: "w", limit: 1, queues: nil, now: t0) }),
                ("cancel", { _ = try reader.cancel(id: ids[0], now: t0) }),
                ("cleanup", { _ = try reader.cleanup(CleanupOptions(cancelledBefore: t0 + 10), now: t0) }),
                ("deleteSchedule", { try reader.deleteSchedule(id: schedule.id) }),
                ("updateSchedule", {
                    _ = try reader.updateSchedule(
                        id: schedule.id, enabled: false, status: .disabled, nextRun: nil, lastError: nil, now: t0)
                }),
            ]
            for (name, write) in writes {
                do {
                    try write()
                    Issue.record("a read-only store did \(name)")
                } catch SmrtJobsError.database {
                    // Refused as a database error, as SQLite refuses a write on a read-only connection.
                }
            }
            #expect(try writer.list(JobQuery()).map(\.status) == [.pending, .pending])
            #expect(try writer.listSchedules().count == 1)
            #expect(try writer.getSchedule(id: schedule.id)?.status == .active)
        }
    }
}
