import Foundation
import Testing

extension IntegrationTests {
    /// The `smrt-supervisor` command line: bad flags exit 2 with a clear message.
    @Suite struct CommandLine {
        private func run(_ arguments: [String]) throws -> (ChildExit, String) {
            let db = try TestDatabase()
            let process = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath, arguments: arguments, logPath: db.file("cli.log"))
            let exit = try process.waitForExit()
            return (exit, process.logText)
        }

        @Test func badFlagsExitTwo() throws {
            let (missing, missingText) = try run(["--workers", "2"])
            #expect(missing == .exited(2))
            #expect(missingText.contains("--worker-exec"))
            let (quote, quoteText) = try run(["--worker-exec", "'unterminated"])
            #expect(quote == .exited(2))
            #expect(quoteText.contains("unterminated single quote"))
            let (format, formatText) = try run(["--worker-exec", "w", "--log-format", "xml"])
            #expect(format == .exited(2))
            #expect(formatText.contains("--log-format must be text or json"))
            let (negative, _) = try run(["--worker-exec", "w", "--lease-ttl", "0"])
            #expect(negative == .exited(2))
        }

        @Test func unopenableDatabaseExitsOne() throws {
            let (exit, text) = try run(["--db", "/nonexistent/dir/jobs.sqlite", "--worker-exec", "w"])
            #expect(exit == .exited(1))
            #expect(text.contains("cannot open database"))
        }
    }
}
