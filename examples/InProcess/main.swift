import Foundation
import SmrtBackends
import SmrtJobs

// smrt-inprocess-example: the Swift API end to end in one process, without the supervisor.
// A type adopts BackgroundJobs, its methods are registered, jobs are enqueued with bg() and the
// fluent builder on a JobQueue, an in-process TaskRunner runs them, and JobHandle.wait returns their results.
//   smrt-inprocess-example [--db PATH]

struct SummaryArgs: Codable { var format: String }
struct Summary: Codable { var document: String; var format: String; var words: Int }

/// The app's own type. It is Identifiable, so its jobs are object-bound: the registry loads it by id.
struct Document: BackgroundJobs, Identifiable {
    let id: String
    let text: String
    let jobQueue: JobQueue

    func generateSummary(_ args: SummaryArgs) -> Summary {
        Summary(document: id, format: args.format, words: text.split(separator: " ").count)
    }
}

let arguments = CommandLine.arguments
let path = arguments.firstIndex(of: "--db").map { arguments[$0 + 1] }
    ?? NSTemporaryDirectory() + "smrt-inprocess-\(getpid()).sqlite"
let queue = try await JobQueue.open(path)
let documents = ["doc-1": "the quick brown fox", "doc-2": "jumps over the lazy dog again"]

let registry = ObjectRegistry()
registry.register(
    Document.self,
    construct: { _ in Document(id: "static", text: "", jobQueue: queue) },
    load: { id, _ in documents[id].map { Document(id: id, text: $0, jobQueue: queue) } }
)
.method("generateSummary") { (doc: Document, args: SummaryArgs) in doc.generateSummary(args) }

// The runner has a connection of its own (opened here, at start-up, where blocking is fine).
let runner = TaskRunner(store: try queue.backend.openStore(), registry: registry, options: .init(concurrency: 2, queues: nil))
try await runner.start()

let first = Document(id: "doc-1", text: documents["doc-1"]!, jobQueue: queue)
let second = Document(id: "doc-2", text: documents["doc-2"]!, jobQueue: queue)
let handles = [
    try await first.bg("generateSummary", args: ["format": "md"], priority: "normal", timeout: .seconds(10)),
    try await second.background("generateSummary", args: ["format": "txt"])
        .priority("high").retries(5).timeout(.seconds(10)).enqueue(),
    try await Document(id: "doc-404", text: "", jobQueue: queue).bg("generateSummary", args: ["format": "md"]),
]
runner.notify()

for handle in handles {
    // Wakes on the queue's change signal when the runner commits the result; the poll is only a fallback.
    let outcome = try await handle.wait(timeout: .seconds(30))
    let job = try await handle.job()
    if outcome.success {
        let summary = try outcome.decodeResult(Summary.self)
        print("job \(handle.id) \(job.description) completed: \(summary.words) words (\(summary.format))")
    } else {
        print("job \(handle.id) \(job.description) \(outcome.status.rawValue): \(outcome.error ?? "")")
    }
}
await runner.stop()
await queue.close()
if !arguments.contains("--db") {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}
