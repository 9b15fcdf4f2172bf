import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// `scripts/cluster.sh`, short: 3 hosts as network namespaces on one PostgreSQL queue, 1,000 `Demo.exclusive`
    /// jobs and 6 long ones, and the partition drill (host 2's link down for twice its 4 s lease TTL while it runs
    /// a long job). Every job completes, host 2 stops its running jobs (fence or watchdog) before others take them
    /// over, and no two executions of a job overlap. Needs root (network namespaces) and a PostgreSQL server
    /// installation (the script starts its own server).
    @Suite(.enabled(if: ClusterHost.possible, "needs root, iproute2 and a PostgreSQL installation (network namespaces as hosts)"))
    struct Cluster {
        @Test func threeHostsWithAPartitionRunEveryJobAndNeverTwiceAtOnce() throws {
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-cluster-test-\(getpid()).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            let script = try SupervisorProcess(
                executable: "/bin/bash",
                // Its summary goes to stdout: into the log with the rest.
                arguments: [
                    "-c", "bash \"$@\" 1>&2", "cluster",
                    WorkerHarness.packageRoot.appendingPathComponent("scripts/cluster.sh").path, "--jobs", "1000", "--partition",
                    "--lease-ttl", "4000", "--bin-dir", WorkerHarness.productsFolder.path, "--deadline", "150",
                ],
                logPath: log)
            let exit = try script.waitForExit(timeout: 240)
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(exit == .exited(0), "\(output)")
            #expect(output.contains("host 2's link down"), "\(output)")
            #expect(output.contains("cluster: OK"), "\(output)")
        }
    }
}

/// Whether this machine can build the hosts of scripts/cluster.sh.
enum ClusterHost {
    static let possible = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
        && ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.isEmpty == false)
}
