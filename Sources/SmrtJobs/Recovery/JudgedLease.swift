import Foundation

/// A dead owner's lease as its judge read it (`listWorkers`), for `JobStore.recoverJobs(ofDeadOwner:…)`: the store
/// takes the owner's jobs only while the lease is still so, checked in the transaction that takes them.
public enum JudgedLease: Sendable, Equatable {
    /// The owner had no lease row: it must still have none.
    case noRow
    /// The owner's row, last renewed at `heartbeat` (as the store returned it): it must still be there, not
    /// renewed since.
    case row(heartbeat: Date)
}
