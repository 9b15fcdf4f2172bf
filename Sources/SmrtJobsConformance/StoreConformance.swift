import Foundation
import SmrtJobs
import Testing

/// The behaviour every `JobStore & ScheduleStore` must have, as checks a store package runs against its own
/// backend (River's driver test suite is the model).
///
/// Each check opens stores through a `StoreFactory` and reports failures with Swift Testing's `#expect` and
/// `#require`, so it must run inside a test:
///
/// ```swift
/// @Test(arguments: StoreConformance.checks, [myFactory])
/// func conformance(_ check: ConformanceCheck, _ factory: StoreFactory) throws { try check.run(factory) }
/// ```
///
/// Times are passed in (stores never read the clock) and are whole milliseconds, the precision stores keep.
public enum StoreConformance {
    /// Every check, in a stable order.
    public static let checks: [ConformanceCheck] =
        enqueueChecks + claimChecks + finishChecks + transitionChecks + recoveryChecks + readingChecks + workerChecks
        + scheduleChecks + scheduleBookkeepingChecks + listingChecks + changeSignalChecks + accessChecks
        + limitChecks + queueChecks + uniqueChecks + bulkChecks + monitoringChecks + jobPageChecks

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func spec(
        _ objectType: String = "Doc", method: String = "run", queue: String = "default", priority: Int = 50,
        runAt: Date? = nil, maxAttempts: Int = 3
    ) -> JobSpec {
        JobSpec(objectType: objectType, method: method, queue: queue, priority: priority, runAt: runAt, maxAttempts: maxAttempts)
    }

    static func status(_ store: any JobStore, _ id: Int64) throws -> JobStatus? { try store.get(id: id)?.status }
}
