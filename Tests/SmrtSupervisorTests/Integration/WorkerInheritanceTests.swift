import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// What workers get from the supervisor: descriptors 0–3 and nothing else; the environment it is told to give.
    @Suite struct WorkerInheritance {
        /// A descriptor the supervisor's own parent left open (a root-only 0600 file on fd 7, not close-on-exec)
        /// does not reach workers: the worker's shell, before it execs the demo worker, lists exactly 0, 1, 2, 3,
        /// and the worker program holds nothing open on the file.
        @Test func workersInheritOnlyDescriptorsZeroToThree() throws {
            let db = try TestDatabase()
            let secret = db.file("secret.key")
            try Data("not for workers\n".utf8).write(to: URL(fileURLWithPath: secret))
            chmod(secret, 0o600)
            // `ls` is not the last command, so the shell forks it and `$$` is the shell, i.e. the worker's pid.
            let command = "/bin/sh -c 'ls /proc/$$/fd; exec \"$0\"' '\(WorkerHarness.demoWorkerPath)'"
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: command, openFiles: [7: secret])
            let ready = try supervisor.waitFor("worker_ready")
            let pid = try #require(ready["worker_pid"] as? Int)
            // The setup holds: the supervisor itself has the file on fd 7.
            #expect(linkTarget("/proc/\(supervisor.pid)/fd/7") == secret)
            let lines = try supervisor.waitFor("worker_output", count: 4) { $0["worker_pid"] as? Int == pid }
            let listed = lines.compactMap { $0["line"] as? String }
            #expect(listed == ["0", "1", "2", "3"], "the worker's shell had descriptors \(listed)")
            let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
            let open = descriptors.compactMap { linkTarget("/proc/\(pid)/fd/\($0)") }
            #expect(!open.contains(secret), "the worker holds \(secret) open: \(open)")
        }

        /// Workers run `--worker-nice` (default 5) above the supervisor's nice value, read from `/proc/PID/stat`;
        /// 0 keeps them at the supervisor's; a value outside 0–19 is a bad flag naming the option.
        @Test func workersRunNicerThanTheSupervisor() throws {
            func nice(_ pid: Int) throws -> Int {
                let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
                // Fields after the command's closing parenthesis: state is field 3, nice field 19.
                let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
                return try #require(Int(fields[16]))
            }
            for (arguments, increment) in [([String](), 5), (["--worker-nice", "0"], 0), (["--worker-nice", "12"], 12)] {
                let db = try TestDatabase()
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: arguments)
                let ready = try supervisor.waitFor("worker_ready")
                let pid = try #require(ready["worker_pid"] as? Int)
                #expect(try nice(pid) == min(19, try nice(Int(supervisor.pid)) + increment), "\(arguments)")
            }
            for bad in ["20", "-1"] {
                let db = try TestDatabase()
                let supervisor = try SupervisorProcess(database: db, arguments: ["--worker-nice=\(bad)"])
                #expect(try supervisor.waitForExit() == .exited(2))
                #expect(supervisor.logText.contains("invalid --worker-nice: must be between 0 and 19"), "\(supervisor.logText)")
            }
        }

        /// By default workers inherit the supervisor's whole environment, a secret included (documented);
        /// `--worker-env KEY=VALUE` adds to it.
        @Test func workersInheritTheSupervisorsEnvironmentByDefault() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("env", ["names": ["AWS_SECRET_ACCESS_KEY", "SMRT_TEST_SHOWN", "ADDED"]])
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--worker-env", "ADDED=1"],
                environment: ["PATH=/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY=sek-123", "SMRT_TEST_SHOWN=yes"])
            let job = try db.waitFor(id, .completed, log: supervisor)
            let values = job.result?["values"]?.objectValue ?? [:]
            #expect(values["AWS_SECRET_ACCESS_KEY"]?.stringValue == "sek-123")
            #expect(values["SMRT_TEST_SHOWN"]?.stringValue == "yes")
            #expect(values["ADDED"]?.stringValue == "1")
        }

        /// `--worker-clear-env`: the worker's environment is PATH (the supervisor's) and what `--worker-env` gives:
        /// a value, or a name passed through with the supervisor's value; a name the supervisor lacks is left out.
        /// The secret reaches neither the worker nor the log.
        @Test func clearedEnvironmentHoldsOnlyPathAndTheGivenVariables() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("env", ["names": ["PATH", "PASSED", "GIVEN", "AWS_SECRET_ACCESS_KEY"]])
            let supervisor = try SupervisorProcess(
                database: db, workers: 1,
                arguments: [
                    "--worker-clear-env", "--worker-env", "PASSED", "--worker-env", "GIVEN=a=b",
                    "--worker-env", "NOT_SET_ANYWHERE", "--debug",
                ],
                environment: [
                    "PATH=/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY=sek-123", "PASSED=from-supervisor", "HOME=/root",
                ])
            let job = try db.waitFor(id, .completed, log: supervisor)
            let names = job.result?["names"].flatMap { value -> [String]? in
                guard case .array(let items) = value else { return nil }
                return items.compactMap(\.stringValue)
            }
            #expect(names == ["GIVEN", "PASSED", "PATH"])
            let values = job.result?["values"]?.objectValue ?? [:]
            #expect(values["PATH"]?.stringValue == "/usr/bin:/bin")
            #expect(values["PASSED"]?.stringValue == "from-supervisor")
            #expect(values["GIVEN"]?.stringValue == "a=b")
            #expect(values["AWS_SECRET_ACCESS_KEY"] == nil)
            #expect(!supervisor.logText.contains("sek-123"))
        }

        /// A `--worker-env` without a name is a bad flag (exit 2) whose message names the option, not the value.
        @Test func workerEnvWithoutANameIsABadFlag() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db, arguments: ["--worker-env", "=s3cr3t-value"])
            #expect(try supervisor.waitForExit() == .exited(2))
            let text = supervisor.logText
            #expect(text.contains("invalid --worker-env: a variable name is empty"), "\(text)")
            #expect(!text.contains("s3cr3t-value"))
        }
    }
}
