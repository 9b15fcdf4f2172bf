import SmrtJobsConformance
import Testing

/// Every conformance check against every store of this package.
@Suite("Store conformance")
struct StoreConformanceTests {
    @Test(arguments: StoreConformance.checks, StoreFactories.all)
    func conformance(_ check: ConformanceCheck, _ factory: StoreFactory) async throws {
        // Off the cooperative pool: a check on a database server blocks its thread for its round trips.
        try await BlockingWork.run { try check.run(factory) }
    }
}
