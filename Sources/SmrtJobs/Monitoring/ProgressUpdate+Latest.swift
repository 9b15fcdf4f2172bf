import Foundation

extension ProgressUpdate {
    /// The last update of each job, in the order the jobs first appear: what `MonitoringStore.recordProgress`
    /// stores when a job is named more than once.
    public static func latestPerJob(_ updates: [ProgressUpdate]) -> [ProgressUpdate] {
        var position: [Int64: Int] = [:]
        var latest: [ProgressUpdate] = []
        latest.reserveCapacity(updates.count)
        for update in updates {
            if let index = position[update.jobId] {
                latest[index] = update
            } else {
                position[update.jobId] = latest.count
                latest.append(update)
            }
        }
        return latest
    }
}
