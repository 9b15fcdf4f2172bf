import Foundation

extension SmrtJob {
    /// The order `claim` takes pending jobs in: priority DESC, runAt ASC, id ASC.
    public static func claimOrder(_ a: SmrtJob, _ b: SmrtJob) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.runAt != b.runAt { return a.runAt < b.runAt }
        return a.id < b.id
    }
}
