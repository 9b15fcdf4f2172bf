import Foundation
import SmrtJobs
import SmrtJobsSQLite

// smrt-inprocess-example: the Swift API end to end in one process, without the supervisor.
// A type adopts BackgroundJobs, its methods are registered, jobs are enqueued with bg() and the
// fluent builder, an in-process TaskRunner runs them, and JobHandle.wait returns their results.
//   smrt-inprocess-example [--db PATH]

struct SummaryArgs: Codable { var format: String }
struct Summary: Codable { var document: String; var format: String; var words: Int }

/// The app's own type: object-bound jobs load it by id.
struct Document: BackgroundJobs {
    let id: String
    let text: String
    let jobStore: any JobStore
    var jobObjectId: String? { id }

    func generateSummary(_ args: SummaryArgs) -> Summary {
        Summary(document: id, format: args.format, words: text.split(separator: " ").count)
    }
}

let arguments = CommandLine.arguments
let path = arguments.firstIndex(of: "--db").map { arguments[$0 + 1] }
    ?? NSTemporaryDirectory() + "smrt-inprocess-\(getpid()).sqlite"
let store = try SQLiteJobStore(path: path)
let documents = ["doc-1": "the quick brown fox", "doc-2": "jumps over the lazy dog again"]

let registry = ObjectRegistry()
registry.register(
    Document.self,
    construct: { _ in Document(id: "static", text: "", jobStore: store) },
    load: { id, _ in documents[id].map { Document(id: id, text: $0, jobStore: store) } }
)
.method("generateSummary") { (doc: Document, args: SummaryArgs) in doc.generateSummary(args) }

let runner = TaskRunner(store: store, registry: registry, options: .init(concurrency: 2, queues: nil))
try await runner.start()

let first = Document(id: "doc-1", text: documents["doc-1"]!, jobStore: store)
let second = Document(id: "doc-2", text: documents["doc-2"]!, jobStore: store)
let handles = [
    try first.bg("generateSummary", args: ["format": "md"]),
    try second.background("generateSummary", args: ["format": "txt"])
        .priority("high").retries(5).timeout(.seconds(10)).enqueue(),
    try Document(id: "doc-404", text: "", jobStore: store).bg("generateSummary", args: ["format": "md"]),
]
runner.notify()

for handle in handles {
    let outcome = try await handle.wait(timeout: .seconds(30), pollInterval: .milliseconds(20))
    let job = try handle.job()
    if outcome.success {
        let summary = try outcome.decodeResult(Summary.self)
        print("job \(handle.id) \(job.description) completed: \(summary.words) words (\(summary.format))")
    } else {
        print("job \(handle.id) \(job.description) \(outcome.status.rawValue): \(outcome.error ?? "")")
    }
}
await runner.stop()
if !arguments.contains("--db") {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}
