import Testing
@testable import SmrtSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// The environment workers start with (`--worker-env`, `--worker-clear-env`) and the checks on it.
@Suite struct WorkerEnvironmentTests {
    private let supervisor = ["PATH": "/opt/bin:/usr/bin", "AWS_SECRET_ACCESS_KEY": "sek", "HOME": "/root", "LANG": "C.UTF-8"]

    private func configuration(_ change: (inout SupervisorConfiguration) -> Void) -> SupervisorConfiguration {
        var configuration = SupervisorConfiguration(database: "jobs.sqlite", workerExec: ["worker"])
        change(&configuration)
        return configuration
    }

    /// Nothing asked: exactly the supervisor's environment (nil: the spawn inherits it as it is).
    @Test func byDefaultWorkersInheritEverything() {
        #expect(configuration { _ in }.workerEnvironment(supervisorEnvironment: supervisor) == nil)
        // A passed name is in the inherited environment anyway.
        #expect(configuration { $0.passedEnvironment = ["HOME"] }.workerEnvironment(supervisorEnvironment: supervisor) == nil)
        let added = configuration { $0.environment = ["EXTRA": "1", "LANG": "C"] }
        #expect(added.workerEnvironment(supervisorEnvironment: supervisor) == [
            "AWS_SECRET_ACCESS_KEY=sek", "EXTRA=1", "HOME=/root", "LANG=C", "PATH=/opt/bin:/usr/bin",
        ])
    }

    /// Cleared: PATH, the passed names the supervisor has, then the given values (which win).
    @Test func clearedKeepsOnlyPathAndWhatIsGiven() {
        let cleared = configuration {
            $0.clearWorkerEnvironment = true
            $0.passedEnvironment = ["HOME", "LANG", "NOT_SET"]
            $0.environment = ["LANG": "de_DE.UTF-8", "GIVEN": "a=b"]
        }
        #expect(cleared.workerEnvironment(supervisorEnvironment: supervisor) == [
            "GIVEN=a=b", "HOME=/root", "LANG=de_DE.UTF-8", "PATH=/opt/bin:/usr/bin",
        ])
        let bare = configuration { $0.clearWorkerEnvironment = true }
        #expect(bare.workerEnvironment(supervisorEnvironment: [:]) == ["PATH=/usr/local/bin:/usr/bin:/bin"])
        let ownPath = configuration {
            $0.clearWorkerEnvironment = true
            $0.environment = ["PATH": "/srv/bin"]
        }
        #expect(ownPath.workerEnvironment(supervisorEnvironment: supervisor) == ["PATH=/srv/bin"])
    }

    /// Bad names and values are configuration errors naming `--worker-env` and the variable, never the value.
    @Test func badNamesAndValuesAreRejected() {
        func reason(_ change: (inout SupervisorConfiguration) -> Void) -> String? {
            do {
                try configuration(change).validate()
                return nil
            } catch let SupervisorError.invalidConfiguration(option, reason) {
                return option == "--worker-env" ? reason : "\(option): \(reason)"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason { $0.environment = ["": "s3cr3t"] } == "a variable name is empty (KEY=VALUE or KEY expected)")
        #expect(reason { $0.passedEnvironment = [""] } == "a variable name is empty (KEY=VALUE or KEY expected)")
        #expect(reason { $0.environment = ["A=B": "x"] } == "the variable name 'A=B' contains '='")
        #expect(reason { $0.passedEnvironment = ["A\u{0}B"] } == #"the variable name 'A\0B' contains a NUL byte"#)
        #expect(reason { $0.environment = ["TOKEN": "s3\u{0}cr3t"] } == "the value of TOKEN contains a NUL byte")
        #expect(reason { $0.environment = ["OK": "any value = fine"]; $0.passedEnvironment = ["HOME"] } == nil)
    }

    /// The capability probe agrees with the kernel's view in /proc/self/status, and workers with our own ids can
    /// always have their limits moved.
    @Test func capabilityProbe() throws {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("CapEff:") })
        let effective = try #require(UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16))
        let hasSysResource = effective & (1 << 24) != 0
        #expect(WorkerLimits.canAdjustLimits(ofUser: nil, group: nil))
        #expect(WorkerLimits.canAdjustLimits(ofUser: getuid(), group: getgid()))
        #expect(WorkerLimits.canAdjustLimits(ofUser: getuid() &+ 4242, group: getgid()) == hasSysResource)
    }
}
