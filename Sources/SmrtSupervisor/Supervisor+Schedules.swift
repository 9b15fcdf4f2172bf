import Foundation
import Logging
import SmrtJobs

/// Cron schedules fire from the supervisor's loop: a timer asks the database thread to run
/// `ScheduleRunner.runDue`; the store counts the jobs they fire on their schedules when they end for good, in
/// the transaction that ends them (the group commit, a cancel or a recovery).
extension Supervisor {
    func runSchedules(then done: @escaping () -> Void) {
        guard phase == .running else { return done() }
        database.perform({ context in try context.schedules.runDue(now: context.clock.now()) }) { [self] result in
            done()
            switch result {
            case .failure(let error):
                logger.warning("schedule check failed: \(error)", metadata: ["event": "schedule_failed"])
            case .success(let fires):
                for fire in fires {
                    if let jobId = fire.jobId {
                        logger.info(
                            "schedule \(fire.scheduleId) fired job \(jobId)",
                            metadata: ["event": "schedule_fired", "schedule_id": .int(fire.scheduleId), "job_id": .int(jobId)])
                    } else if let error = fire.error {
                        logger.error(
                            "schedule \(fire.scheduleId) could not fire: \(error)",
                            metadata: ["event": "schedule_failed", "schedule_id": .int(fire.scheduleId), "error": .string(error)])
                    }
                }
                // Our own inserts do not move data_version for us, so claim explicitly.
                if fires.contains(where: { $0.jobId != nil }) { maybeClaim() }
            }
        }
    }
}
