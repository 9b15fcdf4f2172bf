import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsSQLite

#if canImport(Glibc)
import Glibc
#endif

/// The built programs as an operator runs them: `smrt-supervisor` with the demo worker and `smrt-dashboard`
/// beside it (port 0; its URL read from its first line of stdout), on one SQLite file of a temporary directory,
/// with the test's own store on the file to enqueue and to check what happened. Every process is killed, its
/// process group too, when the value goes away, also after a failed expectation.
final class LiveCluster: @unchecked Sendable {  // used from one test body at a time
    let directory: TemporaryDirectory
    let database: String
    let store: SQLiteJobStore
    private(set) var supervisor: SpawnedProcess?
    private(set) var dashboard: SpawnedProcess?
    /// The dashboard's URL (`http://127.0.0.1:PORT/`) once started.
    private(set) var url = ""

    init() throws {
        directory = try TemporaryDirectory(prefix: "smrt-dash-live")
        database = directory.path("jobs.sqlite")
        store = try SQLiteJobStore(path: database)
    }

    deinit {
        dashboard?.kill(signal: SIGKILL)
        supervisor?.kill(signal: SIGKILL)
        directory.remove()
    }

    /// `smrt-supervisor --workers N --worker-exec smrt-demo-worker --log-format json` plus `arguments`.
    func startSupervisor(workers: Int = 2, arguments: [String] = []) throws {
        supervisor = try SpawnedProcess(
            try SpawnedProcess.product("smrt-supervisor"),
            ["--db", database, "--workers", String(workers), "--worker-exec", try SpawnedProcess.product("smrt-demo-worker"),
             "--log-format", "json"] + arguments,
            name: "supervisor", directory: directory.path(""))
    }

    /// SIGTERM (a graceful stop: its lease row goes), and its exit 0 within 15 s.
    func stopSupervisor() throws {
        guard let supervisor else { return }
        let exit = try supervisor.terminate()
        guard exit == .exited(0) else { throw SpawnedProcess.Failure(description: "smrt-supervisor \(exit)\n\(supervisor.outputs())") }
    }

    /// `smrt-dashboard --db FILE --listen 127.0.0.1:0`; returns its URL.
    @discardableResult
    func startDashboard(arguments: [String] = []) throws -> String {
        let process = try SpawnedProcess(
            try SpawnedProcess.product("smrt-dashboard"), ["--db", database, "--listen", "127.0.0.1:0"] + arguments,
            name: "dashboard", directory: directory.path(""), environment: ["SMRT_DB": nil])
        dashboard = process
        url = try process.firstLine(timeout: 30)
        guard url.hasPrefix("http://127.0.0.1:"), !url.hasPrefix("http://127.0.0.1:0/") else {
            throw SpawnedProcess.Failure(description: "smrt-dashboard's first line is not its URL: '\(url)'\n\(process.outputs())")
        }
        if !url.hasSuffix("/") { url += "/" }
        return url
    }

    func enqueue(_ method: String, _ args: [String: JSONValue] = [:], maxAttempts: Int = 1, timeout: Int = 30_000,
                 behavior: TimeoutBehavior = .fail) throws -> Int64 {
        try store.enqueue(
            JobSpec(objectType: "Demo", method: method, args: args, maxAttempts: maxAttempts, timeout: timeout,
                    timeoutBehavior: behavior, retryStrategy: .linear(delay: 0)),
            now: Date()
        ).id
    }

    /// Waits until job `id` has `status`.
    @discardableResult
    func waitFor(_ id: Int64, _ status: JobStatus, timeout: Double = 30) throws -> SmrtJob {
        try SpawnedProcess.eventually("job \(id) to be \(status.rawValue)", timeout: timeout, context: { self.context(id) }) {
            guard let job = try store.get(id: id) else { return nil }
            return job.status == status ? job : nil
        }
    }

    /// The job's state and the processes' outputs, for failure messages.
    func context(_ id: Int64? = nil) -> String {
        var text = ""
        if let id, let job = try? store.get(id: id) {
            text += "job \(id): \(job.status) attempts=\(job.attempts) error=\(job.lastError ?? "-")\n"
        }
        for process in [supervisor, dashboard].compactMap({ $0 }) { text += process.outputs(lastLines: 20) + "\n" }
        return text
    }

    /// Runs `python3 script arguments` (python from `SMRT_TEST_PYTHON`, else `python3` on the PATH) to its end
    /// within `timeout` s; returns its exit and outputs. Its process group (a browser, a driver) is killed after.
    func python(_ script: String, _ arguments: [String], name: String, timeout: Double) throws -> (exit: SpawnedProcess.Exit, stdout: String, stderr: String) {
        let path = SpawnedProcess.packageRoot.appendingPathComponent("Tests/python/\(script)").path
        let process = try SpawnedProcess(
            ExternalTools.python, [path] + arguments, name: name, directory: directory.path(""),
            environment: ["PYTHONDONTWRITEBYTECODE": "1", "SE_AVOID_STATS": "true"])
        defer { process.kill(signal: SIGKILL) }
        let exit = try process.waitForExit(timeout: timeout)
        return (exit, process.stdout, process.stderr)
    }
}
