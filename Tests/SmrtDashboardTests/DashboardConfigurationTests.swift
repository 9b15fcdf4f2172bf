import Foundation
import SmrtJobsConformance
import Testing

@testable import SmrtDashboard

@Suite struct DashboardConfigurationTests {
    @Test func defaultsListenOnLoopback() {
        let configuration = DashboardConfiguration(database: "/tmp/x.sqlite")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(!configuration.readOnly)
    }

    @Test func parsesListenAddresses() throws {
        #expect(try DashboardConfiguration.parseListen("127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(try DashboardConfiguration.parseListen(":0") == ("127.0.0.1", 0))
        #expect(try DashboardConfiguration.parseListen("[::1]:9000") == ("::1", 9000))
        #expect(try DashboardConfiguration.parseListen("0.0.0.0:80") == ("0.0.0.0", 80))
        #expect(try DashboardConfiguration.parseListen("localhost:1") == ("localhost", 1))
    }

    @Test(arguments: ["8080", "host:", "host:70000", "host:x", "::1:80", "[::1]80", "[]:80", "[::1"])
    func rejectsBadListenAddresses(_ text: String) {
        #expect {
            try DashboardConfiguration.parseListen(text)
        } throws: { error in
            guard let error = error as? DashboardError, case .usage(let message) = error else { return false }
            return message.contains("--listen '\(text)'") && error.exitCode == 2
        }
    }

    @Test func loopbackNames() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1"] { #expect(DashboardConfiguration.isLoopback(host), "\(host)") }
        for host in ["0.0.0.0", "10.0.0.1", "example.org", "::", "128.0.0.1", "127.0.0.1.example.org", "1270.0.0.1"] {
            #expect(!DashboardConfiguration.isLoopback(host), "\(host)")
        }
    }

    @Test func nonLoopbackNeedsAToken() throws {
        let open = DashboardConfiguration(database: "x", host: "0.0.0.0")
        #expect(throws: DashboardError.self) { try open.validate() }
        do {
            try open.validate()
        } catch let error as DashboardError {
            #expect(error.exitCode == 2)
            #expect(error.description.contains("0.0.0.0"))
            #expect(error.description.contains("--token-file"))
        }
        try DashboardConfiguration(database: "x", host: "0.0.0.0", token: "t0k3n").validate()
        try DashboardConfiguration(database: "x", host: "localhost").validate()
    }

    @Test func tokenFiles() throws {
        let directory = try TemporaryDirectory(prefix: "smrt-dash-token")
        defer { directory.remove() }
        let good = directory.path("token")
        try "  s3cret-token \nsecond line\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try DashboardConfiguration.readToken(file: good) == "s3cret-token")

        let empty = directory.path("empty")
        try "\n  \n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect {
            try DashboardConfiguration.readToken(file: empty)
        } throws: { error in
            (error as? DashboardError)?.description == "--token-file '\(empty)' is empty: write the token on its first line"
        }
        let missing = directory.path("missing")
        #expect {
            try DashboardConfiguration.readToken(file: missing)
        } throws: { error in
            (error as? DashboardError)?.description == "--token-file '\(missing)' does not exist"
        }
    }
}
