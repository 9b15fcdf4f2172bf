import Foundation
import SmrtJobs
import SmrtSupervisor
import SmrtWorker

// smrt-embedded-example: one binary that is both the supervisor and, re-executed with --smrt-worker, its
// own worker. Usage: smrt-embedded-example --db PATH [--workers N] [--log-format text|json]

/// The app's job type.
struct Greeter: Sendable {
    struct GreetArgs: Decodable { var name: String }
    struct Greeting: Encodable { var greeting: String; var pid: Int32 }

    static func register(in registry: ObjectRegistry) {
        registry.register(Greeter.self, construct: { _ in Greeter() })
            .method("greet") { (_: Greeter, args: GreetArgs) -> Greeting in
                Greeting(greeting: "hello \(args.name)", pid: getpid())
            }
    }
}

let registry = ObjectRegistry()
Greeter.register(in: registry)

let arguments = CommandLine.arguments
if arguments.contains("--smrt-worker") {
    SmrtWorker.run(registry: registry)  // the child: serve jobs on fd 3
}

func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

// Re-exec this very binary as the worker (an absolute path, so a changed working directory does not matter).
let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
let configuration = SupervisorConfiguration(
    database: option("--db") ?? "smrt-jobs.sqlite",
    workerExec: [executable, "--smrt-worker"],
    workers: option("--workers").flatMap(Int.init) ?? 2,
    logFormat: option("--log-format").flatMap(SupervisorConfiguration.LogFormat.init(rawValue:)) ?? .text)
do {
    exit(try Supervisor(configuration: configuration).run())
} catch {
    FileHandle.standardError.write(Data("smrt-embedded-example: \(error)\n".utf8))
    exit(1)
}
