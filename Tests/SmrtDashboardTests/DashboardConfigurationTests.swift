import Testing
@testable import SmrtDashboard

@Suite struct DashboardConfigurationTests {
    @Test func defaultsListenOnLoopback() {
        let configuration = DashboardConfiguration(database: "/tmp/x.sqlite")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(!configuration.readOnly)
    }
}
