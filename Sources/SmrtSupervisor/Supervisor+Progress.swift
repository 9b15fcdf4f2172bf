import Foundation
import SmrtJobs

/// Progress reports of running jobs: the latest of each is kept (`ProgressBuffer`) and written with the group
/// commits, at most once a second per job; a value still waiting when the attempt ends is written in the commit
/// that records its result, before it. A report that breaks the protocol never gets here: the worker process
/// rejects it (`WorkerProcess`), the worker is killed and its job fails with the error naming the field.
extension Supervisor {
    func worker(_ worker: WorkerProcess, reported value: JobProgress, for job: RunningJob) {
        var value = value
        // Stored times are on the database's clock, as every other time the supervisor writes.
        value.updatedAt = clock.now()
        progress.report(jobId: job.id, value)
        armProgressTimer(now: Monotonic.nanos)
    }

    /// The progress values to write in the commit being handed over now; re-arms the timer for the next waiting one.
    func takeDueProgress() -> [ProgressUpdate] {
        guard progress.hasWaiting else { return [] }
        let now = Monotonic.nanos
        let due = progress.takeDue(now: now)
        armProgressTimer(now: now)
        return due
    }

    /// Wakes the loop when the soonest waiting value may be written (its `flushToDatabase` then takes it).
    private func armProgressTimer(now: UInt64) {
        guard let progressTimer, phase == .running || phase == .draining else { return }
        let next = progress.nextDue
        guard next != progressWakeAt else { return }
        progressWakeAt = next
        guard let next else { return progressTimer.stop() }
        let ms = next > now ? (next - now + 999_999) / 1_000_000 : 0
        try? progressTimer.start(timeoutMs: ms) { [unowned self] _ in
            progressWakeAt = nil
            flushToDatabase()
        }
    }
}
