import SmrtJobsConformance
import Testing

/// Every conformance check against every store of this package.
@Suite("Store conformance")
struct StoreConformanceTests {
    @Test(arguments: StoreConformance.checks, StoreFactories.all)
    func conformance(_ check: ConformanceCheck, _ factory: StoreFactory) throws {
        try check.run(factory)
    }
}
