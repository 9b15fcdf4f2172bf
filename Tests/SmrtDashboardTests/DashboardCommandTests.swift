import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsSQLite
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `smrt-dashboard` binary: its usage errors (exit 2), a missing database (exit 1), and a real run
/// (first stdout line = URL, serves, SIGTERM = exit 0, the token in no output).
@Suite struct DashboardCommandTests {
    @Test func usageErrorsExit2NamingTheProblem() async throws {
        let directory = try TemporaryDirectory(prefix: "smrt-dash-cmd")
        defer { directory.remove() }
        let database = directory.path("jobs.sqlite")
        let empty = directory.path("empty-token")
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--db", database, "--listen", "0.0.0.0:0"], "refusing to listen on 0.0.0.0 without a token"),
            (["--db", database, "--listen", "[::]:0"], "refusing to listen on :: without a token"),
            (["--db", database, "--token-file", directory.path("nope")], "--token-file '\(directory.path("nope"))' does not exist"),
            (["--db", database, "--token-file", empty], "--token-file '\(empty)' is empty"),
            (["--db", database, "--listen", "8080"], "invalid --listen '8080': no port"),
            (["--db", database, "--log-format", "xml"], "--log-format must be text or json, not 'xml'"),
            ([], "missing --db (or $SMRT_DB)"),
            (["--db", "mysql://x/y"], "unknown kind of database 'mysql:'"),
            (["--db", database, "--bogus"], "Unknown option '--bogus'"),
        ]
        for (args, message) in cases {
            let result = try await BlockingWork.run { try DashboardProcess.run(args) }
            #expect(result.status == 2, "\(args): \(result)")
            #expect(result.stderr.hasPrefix("smrt-dashboard: error: "), "\(args): \(result)")
            #expect(result.stderr.contains(message), "\(args): \(result)")
            #expect(result.stdout.isEmpty, "\(args): \(result)")
        }
    }

    @Test func aMissingDatabaseExits1() async throws {
        let directory = try TemporaryDirectory(prefix: "smrt-dash-cmd")
        defer { directory.remove() }
        let missing = directory.path("missing.sqlite")
        let result = try await BlockingWork.run { try DashboardProcess.run(["--db", missing, "--listen", "127.0.0.1:0"]) }
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr == "smrt-dashboard: error: no such database: \(missing)\n")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func servesUntilSIGTERM() async throws {
        let directory = try TemporaryDirectory(prefix: "smrt-dash-cmd")
        defer { directory.remove() }
        let database = directory.path("jobs.sqlite")
        let token = "cmd-token-\(UUID().uuidString)"
        let tokenFile = directory.path("token")
        try "\(token)\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let id = try await BlockingWork.run { () throws -> Int64 in
            let store = try SQLiteBackend(path: database).openStore(.create)
            return try store.enqueue(JobSpec(objectType: "Mailer", method: "send", args: ["password": "hunter2"]), now: Date()).id
        }
        let process = try DashboardProcess(["--db", database, "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--log-format", "json"])
        let url = try #require(await BlockingWork.run { process.firstLine(deadline: 30) }, "no URL on stdout: \(process.output())")
        #expect(url.hasPrefix("http://127.0.0.1:"))
        #expect(!url.hasSuffix(":0/"))

        let (status, body) = try await DashboardProcess.get(url + "api/jobs/\(id)", token: token)
        #expect(status == 200)
        #expect(body.contains("\"objectType\":\"Mailer\""))
        #expect(!body.contains("hunter2"))
        let (unauthorized, _) = try await DashboardProcess.get(url + "api/jobs/\(id)", token: nil)
        #expect(unauthorized == 401)

        process.signal(SIGTERM)
        let result = try await BlockingWork.run { try process.finish(deadline: 30) }
        #expect(result.status == 0, "\(result)")
        #expect(!result.crashed)
        #expect(result.stdout == url + "\n")
        #expect(result.stderr.contains("\"event\":\"dashboard_started\""), "\(result)")
        #expect(result.stderr.contains("\"event\":\"dashboard_stopped\""), "\(result)")
        #expect(!result.stdout.contains(token) && !result.stderr.contains(token))
    }
}

/// One run of the built `smrt-dashboard`, output to files.
final class DashboardProcess: @unchecked Sendable {  // `process` is only read after start
    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var crashed: Bool
        var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    static var binary: String { product("smrt-dashboard") }

    /// A program built beside the test runner (`.build/<triple>/debug`).
    static func product(_ name: String) -> String {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent(name).path
    }

    private let process = Process()
    private let scratch: URL
    private let finished = DispatchSemaphore(value: 0)
    private var handles: [FileHandle] = []

    init(_ args: [String], binary: String = DashboardProcess.binary) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw SmrtJobsError.invalidValue(field: "binary", value: binary, reason: "not built: run `swift build --build-tests` first")
        }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-dash-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: scratch.appendingPathComponent("out").path, contents: nil)
        FileManager.default.createFile(atPath: scratch.appendingPathComponent("err").path, contents: nil)
        let out = try FileHandle(forWritingTo: scratch.appendingPathComponent("out"))
        let err = try FileHandle(forWritingTo: scratch.appendingPathComponent("err"))
        handles = [out, err]
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SMRT_DB")
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let finished = self.finished
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for handle in handles { try? handle.close() }
        try? FileManager.default.removeItem(at: scratch)
    }

    static func run(_ args: [String]) throws -> Result {
        try DashboardProcess(args).finish(deadline: 30)
    }

    func output() -> (String, String) {
        ((try? String(contentsOf: scratch.appendingPathComponent("out"), encoding: .utf8)) ?? "",
         (try? String(contentsOf: scratch.appendingPathComponent("err"), encoding: .utf8)) ?? "")
    }

    /// The first complete stdout line, waiting at most `deadline` seconds.
    func firstLine(deadline: TimeInterval) -> String? {
        let end = Date().addingTimeInterval(deadline)
        while Date() < end {
            let out = output().0
            if let newline = out.firstIndex(of: "\n") { return String(out[..<newline]) }
            if !process.isRunning { return nil }
            Thread.sleep(forTimeInterval: 0.02)  // poll interval of the condition above
        }
        return nil
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    func finish(deadline: TimeInterval) throws -> Result {
        if finished.wait(timeout: .now() + deadline) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            throw SmrtJobsError.invalidValue(field: "smrt-dashboard", value: "\(process.arguments ?? [])", reason: "still running after \(deadline) s")
        }
        let (out, err) = output()
        return Result(status: process.terminationStatus, stdout: out, stderr: err, crashed: process.terminationReason == .uncaughtSignal)
    }

    /// GET with an optional bearer token: status and body.
    static func get(_ url: String, token: String?) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 10
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
